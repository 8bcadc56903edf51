"""Reports x at every step, slowly enough for an assessor to stop it midway."""

import time

import asyncnni

params = asyncnni.get_next_parameter()
for _ in range(20):
    asyncnni.report_intermediate_result(params["x"])
    time.sleep(0.1)
asyncnni.report_final_result(params["x"])
