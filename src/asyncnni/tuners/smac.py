"""SMAC (Hutter et al., "Sequential model-based optimization for general algorithm
configuration", LION 2011) through the ``smac`` package (SMAC3), as NNI's ``SMAC`` tuner.

SMAC3 is driven by its ask/tell interface (the hyperparameter-optimisation facade: a random
forest, expected improvement, a Sobol initial design, deterministic trials). Its
ConfigSpace is built from our search space's encoding: a choice is a categorical over its
option indices, every numeric type a float in ``[0, 1]`` (its prior's CDF, so log types are
searched in log space); decoding applies q-rounding and integer bins. ``smac`` is imported
here only, so the core never pays for it (``pip install 'asyncnni[smac]'``).
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import numpy as np

from ..errors import NoMoreTrials, PluginError
from ..search_space import ChoiceParam, SearchSpace
from ._base import BuiltinTuner, config_key

log = logging.getLogger(__name__)

SUPPORTED = frozenset({"choice", "randint", "uniform", "quniform", "loguniform", "qloguniform"})
# asks in a row that give only configurations already handed out before config_dedup gives up
DEDUP_ATTEMPTS = 20
# SMAC's own rule for the initial design (10 per hyperparameter, at most 25% of its default
# budget of 100 trials), fixed here because an experiment's budget is not SMAC's
INITIAL_PER_PARAMETER, INITIAL_MAX = 10, 25


def _import_smac() -> Any:
    try:
        import smac
    except ImportError:
        raise PluginError(
            "tuner SMAC needs the smac package: pip install 'asyncnni[smac]'"
        ) from None
    return smac


class SMACTuner(BuiltinTuner):
    """SMAC3's Bayesian optimisation with random forests. Class args, NNI's first:
    ``optimize_mode`` ("maximize"), ``config_dedup`` (False; True: never hand out a
    configuration twice, NoMoreTrials when SMAC proposes only known ones), then
    ``n_startup_trials`` (the initial design; SMAC's rule by default), ``n_candidates``
    (random points the acquisition search scores per suggestion, SMAC's 10000) and ``seed``.

    Types: choice (not nested), randint, uniform, quniform, loguniform, qloguniform; any
    other is refused naming the parameter. A failed trial is told to SMAC as crashed with
    the worst loss so far (before any result it stays pending). SMAC's output folder is a
    temporary one, removed at the end.
    """

    supported = SUPPORTED

    def __init__(
        self,
        optimize_mode: str = "maximize",
        config_dedup: bool = False,
        *,
        n_startup_trials: int | None = None,
        n_candidates: int = 10_000,
        seed: int | None = None,
    ) -> None:
        if not isinstance(config_dedup, bool):
            raise ValueError(f"config_dedup must be true or false, not {config_dedup!r}")
        if (n_startup_trials is not None and n_startup_trials < 1) or n_candidates < 1:
            raise ValueError("n_startup_trials and n_candidates must be at least 1")
        super().__init__(optimize_mode, seed)
        self.config_dedup = config_dedup
        self.n_startup_trials = n_startup_trials
        self.n_candidates = n_candidates
        self._smac_module = _import_smac()
        from smac.main.exceptions import ConfigurationSpaceExhaustedException

        self._exhausted = ConfigurationSpaceExhaustedException
        self._facade: Any = None
        self._workdir: tempfile.TemporaryDirectory | None = None
        self._trials: dict[int, Any] = {}  # parameter id -> SMAC's TrialInfo, until told
        self._handed: set[str] = set()
        self._loss_of: dict[str, float] = {}  # of configurations with a result
        self._worst: float | None = None
        self._lock = anyio.Lock()

    def _on_search_space(self, space: SearchSpace) -> None:
        from ConfigSpace import Categorical, ConfigurationSpace, Float

        smac = self._smac_module
        seed = int(self.rng.integers(2**31 - 1)) if self.seed is None else self.seed
        configspace = ConfigurationSpace(seed=seed)
        for p in space.params():
            if isinstance(p, ChoiceParam):
                configspace.add(Categorical(p.name, list(range(len(p.options)))))
            else:
                configspace.add(Float(p.name, (0.0, 1.0)))
        self._names = [p.name for p in space.params()]
        self._categorical = {p.name for p in space.params() if isinstance(p, ChoiceParam)}
        self._workdir = tempfile.TemporaryDirectory(prefix="asyncnni-smac-")
        scenario = smac.Scenario(
            configspace,
            output_directory=Path(self._workdir.name),
            deterministic=True,
            n_trials=2**31 - 1,  # the experiment's limits end it, not SMAC
            seed=seed,
        )
        facade = smac.HyperparameterOptimizationFacade
        initial = self.n_startup_trials or min(
            INITIAL_PER_PARAMETER * len(self._names), INITIAL_MAX
        )
        self._facade = facade(
            scenario,
            target_function=None,  # ask/tell: asyncnni runs the trials
            initial_design=facade.get_initial_design(scenario, n_configs=initial),
            acquisition_maximizer=facade.get_acquisition_maximizer(
                scenario, challengers=self.n_candidates
            ),
            intensifier=facade.get_intensifier(scenario, max_config_calls=1),
            logging_level=False,  # SMAC must not reconfigure the process's logging
            overwrite=True,
        )
        self._trials.clear()
        self._handed.clear()
        self._loss_of.clear()
        self._worst = None

    @property
    def facade(self) -> Any:
        if self._facade is None:
            raise RuntimeError(f"{type(self).__name__}: update_search_space was not called")
        return self._facade

    def _decode(self, config: Any) -> dict:
        values = dict(config)
        return self.space.decode(np.array([float(values[name]) for name in self._names]))

    def _config(self, params: dict) -> Any:
        from ConfigSpace import Configuration

        vector = self.space.encode(params)
        values = {
            name: int(v) if name in self._categorical else float(v)
            for name, v in zip(self._names, vector, strict=True)
        }
        return Configuration(self.facade.scenario.configspace, values=values)

    async def generate_parameters(self, parameter_id: int, **info: Any) -> dict:
        facade = self.facade
        async with self._lock:  # SMAC is not thread-safe: one ask at a time
            for _ in range(DEDUP_ATTEMPTS):
                try:
                    trial = await anyio.to_thread.run_sync(facade.ask)
                except self._exhausted as err:
                    raise NoMoreTrials(f"SMAC: {err or 'the search space is exhausted'}") from err
                params = self._decode(trial.config)
                key = config_key(params)
                if not self.config_dedup or key not in self._handed:
                    break
                # known already: SMAC hears the known result (it proposed another point
                # that rounds to the same configuration), or it stays pending
                if key in self._loss_of:
                    await anyio.to_thread.run_sync(self._tell_trial, trial, self._loss_of[key])
            else:
                raise NoMoreTrials(
                    f"SMAC proposed only configurations already tried ({DEDUP_ATTEMPTS} in a row)"
                )
            self._handed.add(key)
            self._trials[parameter_id] = trial
        return params

    async def receive_trial_result(
        self, parameter_id: int, parameters: dict, value: Any, **info: Any
    ) -> None:
        loss = self._known(parameters, self.loss(value))
        trial = self._trials.pop(parameter_id, None)
        async with self._lock:
            if trial is None:  # not ours (a resumed experiment): what ran
                await anyio.to_thread.run_sync(self._tell_result, parameters, loss)
            else:
                await anyio.to_thread.run_sync(self._tell_trial, trial, loss)

    async def trial_end(self, parameter_id: int, success: bool, **info: Any) -> None:
        trial = self._trials.get(parameter_id)
        if success or trial is None or self._worst is None:
            return
        del self._trials[parameter_id]
        async with self._lock:
            await anyio.to_thread.run_sync(self._tell_crashed, trial)

    async def import_data(self, data: list[dict]) -> None:
        for params, _, loss in self.imported(data):
            self._known(params, loss)
            self._handed.add(config_key(params))
            async with self._lock:
                await anyio.to_thread.run_sync(self._tell_result, params, loss)

    def _known(self, params: dict, loss: float) -> float:
        self._loss_of[config_key(params)] = loss
        self._worst = loss if self._worst is None else max(self._worst, loss)
        return loss

    def _tell_trial(self, trial: Any, loss: float, crashed: bool = False) -> None:
        from smac.runhistory.dataclasses import TrialValue
        from smac.runhistory.enumerations import StatusType

        status = StatusType.CRASHED if crashed else StatusType.SUCCESS
        self.facade.tell(trial, TrialValue(cost=loss, status=status), save=False)

    def _tell_crashed(self, trial: Any) -> None:
        assert self._worst is not None
        self._tell_trial(trial, self._worst, crashed=True)

    def _tell_result(self, params: dict, loss: float) -> None:
        from smac.runhistory.dataclasses import TrialInfo

        trial = TrialInfo(self._config(params), seed=self.facade.scenario.seed)
        self._tell_trial(trial, loss)

    def _on_exit(self) -> None:
        """The experiment ended: SMAC's temporary folder goes."""
        if self._workdir is not None:
            self._workdir.cleanup()

    _on_error = _on_exit
