"""A trial that records the Ray node it ran on (ASYNCNNI_RAY_NODE_ID) in its trial folder."""

import os

import asyncnni

params = asyncnni.get_next_parameter()
with open(os.path.join(os.environ["ASYNCNNI_TRIAL_DIR"], "node"), "w") as out:
    out.write(os.environ.get("ASYNCNNI_RAY_NODE_ID", ""))
asyncnni.report_final_result(params["x"])
