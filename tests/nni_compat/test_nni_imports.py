"""`import nni` maps onto asyncnni: NNI's names, its NAS API with NNI's signatures, its direction."""

from __future__ import annotations

import os
import sys

import anyio
import pytest

from asyncnni import nni_compat, tuners
from asyncnni.config import load_config
from asyncnni.errors import NoMoreTrials
from asyncnni.tuner import TunerDriver

from ..tuners.drive import drive


@pytest.fixture
def nni(monkeypatch):
    """asyncnni's nni, importable in this process for the test only."""
    monkeypatch.syspath_prepend(str(nni_compat.PATH))
    for name in [m for m in sys.modules if m == "nni" or m.startswith("nni.")]:
        monkeypatch.delitem(sys.modules, name)
    import nni

    return nni


def test_nni_names_are_there(nni):
    from nni.assessor import Assessor, AssessResult
    from nni.multi_phase.multi_phase_tuner import MultiPhaseTuner
    from nni.tuner import Tuner
    from nni.utils import (
        ClassArgsValidator,
        MetricType,
        OptimizeMode,
        extract_scalar_history,
        extract_scalar_reward,
        merge_parameter,
    )

    for name in (
        "get_next_parameter",
        "get_next_parameters",
        "get_current_parameter",
        "report_intermediate_result",
        "report_final_result",
        "get_experiment_id",
        "get_trial_id",
        "get_sequence_id",
    ):
        assert callable(getattr(nni, name))
    assert issubclass(nni.NoMoreTrialError, NoMoreTrials) and str(nni.NoMoreTrialError()) == (
        "Search space fully explored"
    )
    assert issubclass(MultiPhaseTuner, Tuner) and AssessResult(False) is AssessResult.Bad
    assert issubclass(Assessor, object) and nni.ClassArgsValidator is ClassArgsValidator
    assert OptimizeMode("minimize") is OptimizeMode.Minimize and MetricType.FINAL == "FINAL"
    assert extract_scalar_reward({"default": 2, "x": 1}) == 2
    assert extract_scalar_history([1, {"default": 0.5}]) == [1, 0.5]
    with pytest.raises(RuntimeError, match="Incorrect final result"):
        extract_scalar_reward("high")
    assert merge_parameter({"lr": 0.1, "bs": 8}, {"lr": 1}) == {"lr": 1.0, "bs": 8}
    with pytest.raises(ValueError, match="not found"):
        merge_parameter({"lr": 0.1}, {"momentum": 0.9})
    check = ClassArgsValidator().choices("optimize_mode", "maximize", "minimize")
    assert check("maximize")
    with pytest.raises(ValueError, match="optimize_mode"):
        check("sideways")


def test_activate_does_not_shadow_a_real_nni(tmp_path, monkeypatch):
    real = tmp_path / "site"
    (real / "nni").mkdir(parents=True)
    (real / "nni" / "__init__.py").write_text("REAL = True\n")
    monkeypatch.syspath_prepend(str(real))
    monkeypatch.delitem(sys.modules, "nni", raising=False)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(nni_compat.PATH)])
    assert nni_compat.real_nni_installed()
    assert nni_compat.activate() is False
    assert str(nni_compat.PATH) not in sys.path


def test_multi_phase_tuner_hears_the_trial_job(nni):
    from nni.multi_phase.multi_phase_tuner import MultiPhaseTuner

    class PerJob(MultiPhaseTuner):
        def __init__(self):
            self.asked = []

        def update_search_space(self, search_space):
            pass

        def generate_parameters(self, parameter_id, trial_job_id=None):
            self.asked.append(trial_job_id)
            return {"job": trial_job_id}

        def receive_trial_result(self, parameter_id, parameters, value, trial_job_id=None):
            self.asked.append((trial_job_id, value))

    tuner = PerJob()
    driver = TunerDriver(tuner)

    async def run():
        await driver.generate_parameters(0, trial_job_id="a1", parameter_index=0)
        metric = {"default": 0.5, "loss": 1.0}
        await driver.receive_trial_result(
            0, {"job": "a1"}, 0.5, trial_job_id="a1", parameter_index=0, metric=metric
        )

    anyio.run(run)
    assert tuner.asked == ["a1", ("a1", {"default": 0.5, "loss": 1.0})]


def test_an_nni_v1_config_without_optimize_mode_for_tpe_minimizes(tmp_path):
    (tmp_path / "search_space.json").write_text('{"x": {"_type": "uniform", "_value": [0, 1]}}')
    (tmp_path / "exp.yml").write_text(
        "authorName: nni\nexperimentName: t\ntrialConcurrency: 1\nmaxTrialNum: 40\n"
        "trainingServicePlatform: local\nsearchSpacePath: search_space.json\n"
        "useAnnotation: false\ntuner:\n  builtinTunerName: TPE\n"
        "  classArgs:\n    tpe_args: {n_startup_jobs: 8}\n"
        "trial:\n  command: python3 trial.py\n  codeDir: .\n"
    )
    config = load_config(tmp_path / "exp.yml")
    tuner = tuners.create(config.tuner.name, seed=0, **config.tuner.class_args)
    assert tuner.optimize_mode == "minimize"  # what the experiment reads the direction from

    async def run():
        await tuner.update_search_space(config.search_space)
        return await drive(tuner, 40, lambda p: p["x"])

    xs = [p["x"] for p in anyio.run(run)]
    assert sum(xs[-10:]) / 10 < 0.25  # it went for small results, as NNI's TPE does


torch = pytest.importorskip("torch")


class NNIStyleNet(torch.nn.Module):
    """A model written against NNI 1.x's NAS API, keyword forms and all."""

    def __init__(self):
        from nni.nas.pytorch import mutables

        super().__init__()
        self.conv = mutables.LayerChoice(
            [torch.nn.Linear(4, 4), torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.ReLU())],
            reduction="sum",
            return_mask=False,
            key="conv",
        )
        self.skip = mutables.InputChoice(n_candidates=2, n_chosen=1, key="skip")
        self.pick = mutables.InputChoice(
            choose_from=["conv", mutables.InputChoice.NO_KEY],
            n_chosen=1,
            return_mask=True,
            key="pick",
        )
        self.head = torch.nn.Linear(4, 1)

    def forward(self, x):
        y = self.conv(x)
        z = self.skip([x, y])
        w, mask = self.pick({"conv": y, "": z})
        return self.head(w), mask


def test_an_nni_style_model_searches_and_fixes_its_architecture(nni):
    from nni.nas.pytorch.fixed import apply_fixed_architecture
    from nni.nas.pytorch.random import RandomMutator

    model = NNIStyleNet()
    mutator = RandomMutator(model, seed=0)
    x = torch.randn(3, 4)
    for _ in range(3):
        mutator.reset()
        out, mask = model(x)
        assert out.shape == (3, 1) and mask.dtype == torch.bool and int(mask.sum()) == 1
    fixed = NNIStyleNet()
    apply_fixed_architecture(
        fixed,
        {
            "conv": {"_value": fixed.conv.labels[1], "_idx": 1},
            "skip": {"_idx": [0]},
            "pick": {"_value": [""], "_idx": [1]},
        },
    )
    out, mask = fixed(x)
    assert mask.tolist() == [False, True]
    expected = fixed.head(x)  # pick chose skip, skip chose the input itself
    assert torch.allclose(out, expected)
    with pytest.raises(ValueError, match="n_candidates is 3 but choose_from names 2"):
        nni.nas.pytorch.mutables.InputChoice(n_candidates=3, choose_from=["a", "b"])


def test_trial_env_adds_the_folder_last_to_the_trials_pythonpath():
    env = nni_compat.trial_env({"PYTHONPATH": "/user/lib"})
    assert env == {"PYTHONPATH": f"/user/lib{os.pathsep}{nni_compat.PATH}"}
    assert nni_compat.trial_env(env) == env  # once only
    assert nni_compat.trial_env({}) == {"PYTHONPATH": str(nni_compat.PATH)}


def test_loading_a_plugin_outside_an_experiment_leaves_the_path_alone(monkeypatch):
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(nni_compat.PATH)])
    monkeypatch.delenv("PYTHONPATH", raising=False)
    tuners.create("Random")
    assert str(nni_compat.PATH) not in sys.path and "PYTHONPATH" not in os.environ
