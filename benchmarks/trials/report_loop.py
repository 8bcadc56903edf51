"""The trial of benchmarks/report_throughput.py: REPORTS intermediate results through the
public API, then the final one (which returns once every report is stored). It writes when
it started and ended reporting (CLOCK_MONOTONIC nanoseconds, comparable across processes)
to report_span.bin in its trial folder, so start-up is not counted."""

import os
import time
from array import array

import asyncnni

reports = int(os.environ["BENCH_REPORTS"])
params = asyncnni.get_next_parameter()
start = time.monotonic_ns()
for step in range(reports):
    asyncnni.report_intermediate_result(step * 0.5)
asyncnni.report_final_result(params["x"])
end = time.monotonic_ns()
with open(os.path.join(os.environ["ASYNCNNI_TRIAL_DIR"], "report_span.bin"), "wb") as out:
    array("q", [start, end]).tofile(out)
