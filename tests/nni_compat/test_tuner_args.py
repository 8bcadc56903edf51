"""NNI's built-in tuner names take NNI's class_args, with NNI's default directions."""

from __future__ import annotations

import anyio
import numpy as np
import pytest

from asyncnni import tuners
from asyncnni.config import config_from_dict
from asyncnni.errors import ConfigError, PluginError
from asyncnni.search_space import SearchSpace
from asyncnni.tuners.metis import MetisOptimizer

from ..tuners.drive import FLAT_SPACE, drive

X = {"x": {"_type": "uniform", "_value": [0, 1]}}


def test_tpe_takes_nnis_tpe_args_and_legacy_liars():
    tuner = tuners.create(
        "TPE",
        optimize_mode="maximize",
        seed=1,
        tpe_args={
            "constant_liar_type": "mean",
            "n_startup_jobs": 7,
            "n_ei_candidates": 5,
            "prior_weight": 0.5,
            "linear_forgetting": 25,
            "gamma": 0.25,
        },
    )
    assert tuner.optimize_mode == "maximize" and tuner.constant_liar_type == "mean"
    assert tuner._options == {
        "n_startup_trials": 7,
        "n_ei_candidates": 5,
        "prior_weight": 0.5,
        "constant_liar_type": "mean",
    }
    # "worst", not NNI 3.0's "best", which measured far worse with trials pending
    assert tuners.create("TPE").constant_liar_type == "worst"
    legacy = tuners.create("TPE_legacy", parallel_optimize=True, constant_liar_type="max")
    assert legacy.constant_liar_type == "worst"
    assert tuners.create("TPE_legacy", parallel_optimize=False).constant_liar_type is None
    with pytest.raises(PluginError, match="unknown tpe_args"):
        tuners.create("TPE", tpe_args={"n_startup": 3})
    with pytest.raises(PluginError, match="constant_liar_type"):
        tuners.create("TPE", tpe_args={"constant_liar_type": "min"})


def test_anneal_lies_about_trials_in_flight_when_asked():
    async def run(**args):
        tuner = tuners.create("Anneal", seed=3, **args)
        await tuner.update_search_space(X)
        await drive(tuner, 5, lambda p: p["x"])
        return tuner

    tuner = anyio.run(lambda: run(parallel_optimize=True, constant_liar_type="mean"))
    assert tuner.optimize_mode == "minimize" and tuner.optimizer.liar == "mean"
    with pytest.raises(PluginError, match="min, max or mean"):
        tuners.create("Anneal", parallel_optimize=True, constant_liar_type="best")


def test_gp_takes_nnis_arguments():
    args = {
        "optimize_mode": "maximize",
        "utility": "ei",
        "kappa": 5.0,
        "xi": 0.0,
        "nu": 2.5,
        "alpha": 1e-6,
        "cold_start_num": 3,
        "selection_num_warm_up": 200,
        "selection_num_starting_points": 2,
    }
    for utility in ("ei", "ucb", "poi"):
        tuner = tuners.create("GPTuner", **dict(args, utility=utility), seed=0)

        async def run(tuner=tuner):
            await tuner.update_search_space(X)
            return await drive(tuner, 8, lambda p: p["x"])

        xs = [q["x"] for q in anyio.run(run)]
        assert all(0 <= x <= 1 for x in xs) and len(xs) == 8
    with pytest.raises(PluginError, match="nu: only the Matern 5/2"):
        tuners.create("GP", nu=1.5)
    with pytest.raises(PluginError, match="utility"):
        tuners.create("GP", utility="pi")


def test_pbt_takes_nnis_factor_as_a_step_of_the_range(tmp_path):
    tuner = tuners.create("PBT", factor=0.2, population_size=2, all_checkpoint_dir=str(tmp_path))
    assert tuner._options["step"] == 0.2
    from asyncnni.tuners.pbt import explore

    space = SearchSpace(X)
    rng = np.random.default_rng(0)
    moved = {
        round(explore(space, {"x": 0.5}, rng, (1.2, 0.8), 0.0, 0.2)["x"], 9) for _ in range(20)
    }
    assert moved == {0.3, 0.7}


def test_regularized_evolution_takes_nnis_arguments():
    tuner = tuners.create("RegularizedEvolutionTuner", population_size=10, sample_size=3)
    assert tuner._options == {"population_size": 10, "tournament_size": 3, "mutation_sigma": 0.15}


def test_metis_resamples_an_outlier_once():
    space = SearchSpace(X)
    metis = MetisOptimizer(
        space,
        np.random.default_rng(0),
        n_startup_trials=3,
        n_candidates=50,
        resampling=True,
        exploration_probability=0.5,
    )
    xs = np.linspace(0.05, 0.95, 12)
    for x in xs:
        metis.tell(np.array([x]), float(x))  # a straight line ...
    metis.tell(np.array([0.5]), 10.0)  # ... and one wild result
    again = metis.ask([])
    assert metis.last_choice == "resample" and again[0] == pytest.approx(0.5)
    metis.ask([])
    assert metis.last_choice in ("explore", "exploit")  # the outlier is re-run once only


def test_metis_finds_the_good_region():
    async def run():
        tuner = tuners.create(
            "MetisTuner",
            optimize_mode="minimize",
            seed=0,
            cold_start_num=4,
            selection_num_starting_points=100,
            exploration_probability=0.3,
        )
        await tuner.update_search_space(FLAT_SPACE)
        return await drive(tuner, 20, lambda p: p["dropout"])

    assert min(p["dropout"] for p in anyio.run(run)) < 0.1


def test_names_nni_has_but_asyncnni_cannot_have_are_refused_saying_so():
    base = {"search_space": X, "trial_command": "python t.py"}
    for name, why in [("DNGO", "pybnn"), ("NetworkMorphism", "Keras")]:
        with pytest.raises(
            ConfigError, match=f"tuner.name: built-in tuner '{name}' is not available: .*{why}"
        ):
            config_from_dict({**base, "tuner": {"name": name}})
    # "did you mean" only suggests a close name
    with pytest.raises(ConfigError) as info:
        config_from_dict({**base, "tuner": {"name": "Metiss"}})
    assert "did you mean 'metis'" in str(info.value)
    with pytest.raises(ConfigError) as info:
        config_from_dict({**base, "tuner": {"name": "Hyperopt"}})
    assert "did you mean" not in str(info.value)
