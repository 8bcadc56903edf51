"""The assessor hook with real trials: intermediate results reach the assessor, a Bad verdict
stops the trial job, which ends EARLY_STOPPED; good trials run to their final result."""

from asyncnni import Experiment
from asyncnni.catalog import export_rows

from .helpers import ASSETS, experiment_config


def test_the_assessor_stops_bad_trials_early(tmp_path):
    config = experiment_config(
        tmp_path,
        trial_command="python slow_curve_trial.py",
        search_space={"x": {"_type": "choice", "_value": [0.2, 0.9]}},
        max_trial_number=6,
        trial_concurrency=3,
        assessor={
            "code_directory": str(ASSETS),
            "class_file_name": "threshold_assessor.py",
            "class_name": "ThresholdAssessor",
            "class_args": {"threshold": 0.5},
        },
    )
    experiment = Experiment(config)
    result = experiment.run()
    rows = export_rows(experiment.folder.parent, experiment.id)
    assert result.status == "DONE" and len(rows) == 6
    assert {row["parameters"]["x"] for row in rows} == {0.2, 0.9}, "the seed gives both kinds"
    for row in rows:
        if row["parameters"]["x"] < 0.5:
            assert row["status"] == "EARLY_STOPPED" and row["final_metric"] is None
            assert "assessor stopped it after" in row["message"]
        else:
            assert row["status"] == "SUCCEEDED" and row["final_metric"] == 0.9
    assert result.progress.early_stopped == sum(row["parameters"]["x"] < 0.5 for row in rows)
