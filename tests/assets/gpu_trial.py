"""Records which GPUs it was given and when it held them."""

import json
import os
import time

import asyncnni

params = asyncnni.get_next_parameter()
start = time.time()
time.sleep(0.3)  # hold the GPUs long enough for the others to want them
record = {"gpus": os.environ.get("CUDA_VISIBLE_DEVICES"), "start": start, "end": time.time()}
with open(os.path.join(os.environ["ASYNCNNI_TRIAL_DIR"], "gpus.json"), "w") as f:
    json.dump(record, f)
asyncnni.report_final_result(params["x"])
