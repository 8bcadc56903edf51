"""A PBT step, written as a user would: load the inherited checkpoint, train, save, report."""

import json
import os
from pathlib import Path

import asyncnni

params = asyncnni.get_next_parameter()
load = Path(params["load_checkpoint_dir"]) / "state.json"
state = json.loads(load.read_text()) if load.exists() else {"steps": 0, "score": 0.0}
state["steps"] += 1
state["score"] += 1.0 - abs(params["lr"] - 0.1)  # "training": the closer lr is to 0.1, the better
save = Path(params["save_checkpoint_dir"]) / "state.json"
tmp = save.with_suffix(".tmp")
tmp.write_text(json.dumps(state))
os.replace(tmp, save)  # atomic: a child never reads half a checkpoint
asyncnni.report_final_result({"default": state["score"], "steps": state["steps"]})
