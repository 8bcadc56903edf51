"""Reports a score made from its numeric parameters (three intermediate steps, then the
final); with WEB_GO_DIR set it waits for the file go-<its sequence id> there first, so a
test decides when each trial reports."""

import os
import time

import asyncnni

params = asyncnni.get_next_parameter()
score = params.get("x", 0) + params.get("layers", 0) + params.get("width", 0) / 100
go_dir = os.environ.get("WEB_GO_DIR")
go = go_dir and os.path.join(go_dir, f"go-{asyncnni.get_sequence_id()}")
while go and not os.path.exists(go):
    time.sleep(0.05)
for step in range(1, 4):
    asyncnni.report_intermediate_result(score * step / 3)
print(f"trial done with score {score}")
asyncnni.report_final_result(score)
