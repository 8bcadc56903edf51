"""The distributed NAS example end to end: asyncnni runs real trial processes of
trials/nas/distributed, NASEvolution breeds generations, the supernet is shared."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from asyncnni import Experiment
from asyncnni.catalog import export_rows
from asyncnni.config import SharedStorageConfig, load_config

EXAMPLE = Path(__file__).parents[2] / "trials" / "nas" / "distributed"


@pytest.mark.slow
def test_evolution_over_a_shared_supernet_with_real_trials(tmp_path):
    config = load_config(EXAMPLE / "exp.yaml")
    assert config.async_dispatcher and config.tuner.name == "NASEvolution"
    config.tuner.class_args.update(population_size=3, num_select=2, num_generations=2)
    config = dataclasses.replace(
        config,
        max_trial_number=10,  # the tuner stops first, after two generations of three
        experiment_working_directory=tmp_path / "experiments",
        shared_storage=SharedStorageConfig(local_mount_point=tmp_path / "shared"),
    )
    experiment = Experiment(config)
    result = experiment.run()
    rows = export_rows(experiment.folder.parent, experiment.id)

    assert result.status == "DONE", result.message
    # jobs started while the last generation ran were told there is nothing more to try
    idle = [row for row in rows if row["parameter_id"] is None]
    rows = [row for row in rows if row["parameter_id"] is not None]
    assert sorted(row["parameter_id"] for row in rows) == list(range(6))
    assert {row["status"] for row in rows + idle} == {"SUCCEEDED"}
    space = json.loads((EXAMPLE / "search_space.json").read_text())
    architectures = set()
    for row in rows:
        params = row["parameters"]
        assert set(params) == set(space)
        for key, choice in params.items():
            labels = space[key]["_value"]
            labels = labels["candidates"] if isinstance(labels, dict) else labels
            indices = choice["_idx"] if isinstance(choice["_idx"], list) else [choice["_idx"]]
            values = choice["_value"] if isinstance(choice["_value"], list) else [choice["_value"]]
            assert values == [labels[i] for i in indices]
        architectures.add(json.dumps(params, sort_keys=True))
        assert 0.25 < row["final_metric"] <= 1.0  # better than chance (4 classes)
    assert len(architectures) == 6
    # one supernet, trained by one trial while the others waited for it
    assert len(list((tmp_path / "shared").glob("supernet-*.pt"))) == 1
    logs = [p.read_text() for p in experiment.folder.glob("trials/*/trial.log")]
    assert (
        len(logs) == len(rows) + len(idle)
        and sum("training the supernet" in log for log in logs) == 1
    )
