"""The trial of benchmarks/multi_phase_throughput.py: a long-running worker that asks for
configuration after configuration (multi-phase) and reports each at once, timing every
ask. With BENCH_API=combined it hands in each result and asks for the next configuration in
one call (report_final_result_and_get_next), else with report_final_result and
get_next_parameter. The latencies (int64 nanoseconds) go to get_latencies.bin in its trial
folder, where the benchmark reads them."""

import os
import time
from array import array

import asyncnni

combined = os.environ.get("BENCH_API") == "combined"
latencies = array("q")
start = time.perf_counter_ns()
params = asyncnni.get_next_parameter()
while params is not None:  # the answer "no more" is not a configuration: not counted
    latencies.append(time.perf_counter_ns() - start)
    if combined:  # the ask's latency includes storing the result it carries
        start = time.perf_counter_ns()
        params = asyncnni.report_final_result_and_get_next(params["x"])
    else:
        asyncnni.report_final_result(params["x"])
        start = time.perf_counter_ns()
        params = asyncnni.get_next_parameter()

with open(os.path.join(os.environ["ASYNCNNI_TRIAL_DIR"], "get_latencies.bin"), "wb") as out:
    latencies.tofile(out)
