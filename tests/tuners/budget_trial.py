"""A multi-fidelity worker, written as a user would: train each configuration for TRIAL_BUDGET,
resuming from its checkpoint when the tuner says so, and ask again."""

import json
import os
from pathlib import Path

import asyncnni

while (params := asyncnni.get_next_parameter()) is not None:
    budget = params["TRIAL_BUDGET"]
    trained_from = 0
    if params.get("resume_from"):
        trained_from = json.loads((Path(params["resume_from"]) / "state.json").read_text())[
            "budget"
        ]
    loss = (params["x"] - 0.3) ** 2 + params.get("y", 0.0) + 1.0 / budget
    if params.get("checkpoint_dir"):
        save = Path(params["checkpoint_dir"]) / "state.json"
        tmp = save.with_suffix(".tmp")
        tmp.write_text(json.dumps({"budget": budget}))
        os.replace(tmp, save)  # atomic: a resumed step never reads half a checkpoint
    asyncnni.report_final_result({"default": loss, "trained_from": trained_from})
