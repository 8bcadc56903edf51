"""The trial of benchmarks/multi_phase_throughput.py: a long-running worker that asks for
configuration after configuration (multi-phase) and reports each at once, timing every
get_next_parameter() call. The latencies (int64 nanoseconds) go to get_latencies.bin in its
trial folder, where the benchmark reads them."""

import os
import time
from array import array

import asyncnni

latencies = array("q")
while True:
    start = time.perf_counter_ns()
    params = asyncnni.get_next_parameter()
    elapsed = time.perf_counter_ns() - start
    if params is None:  # the answer "no more" is not a configuration: not counted
        break
    latencies.append(elapsed)
    asyncnni.report_final_result(params["x"])

with open(os.path.join(os.environ["ASYNCNNI_TRIAL_DIR"], "get_latencies.bin"), "wb") as out:
    latencies.tofile(out)
