"""Reports x as its result; behaviour switches from the environment, for the core's tests."""

import os
import sys
import time

import asyncnni

params = asyncnni.get_next_parameter()
with open(os.path.join(os.environ["ASYNCNNI_TRIAL_DIR"], "pid"), "w") as f:
    f.write(str(os.getpid()))
mode = os.environ.get("ECHO_MODE", "")
if mode == "crash_every_third" and asyncnni.get_sequence_id() % 3 == 0:
    sys.exit(3)
if mode == "fail_first_run":  # a parameter set's first run fails, its next one succeeds
    mark = os.path.join(os.environ["ECHO_MARK_DIR"], repr(params["x"]))
    if not os.path.exists(mark):
        open(mark, "w").close()
        sys.exit(3)
if mode == "hang":
    time.sleep(600)
if mode == "report_when_told":  # the test decides when the final report is sent
    while not os.path.exists(os.environ["ECHO_GO_FILE"]):
        time.sleep(0.05)
for step in range(3):
    asyncnni.report_intermediate_result(params["x"] * step)
asyncnni.report_final_result(params["x"])
