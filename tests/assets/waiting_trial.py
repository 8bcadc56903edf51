"""Reports x as an intermediate result, then, when $WAIT_DIR is set, waits until the file
$WAIT_DIR/<its trial job id> exists before reporting x as its final result: the test
decides when each trial ends."""

import os
import time

import asyncnni

params = asyncnni.get_next_parameter()
print(f"trial {asyncnni.get_trial_id()} started", flush=True)
asyncnni.report_intermediate_result(params["x"])
folder = os.environ.get("WAIT_DIR")
while folder and not os.path.exists(os.path.join(folder, asyncnni.get_trial_id())):
    time.sleep(0.05)
asyncnni.report_final_result(params["x"])
