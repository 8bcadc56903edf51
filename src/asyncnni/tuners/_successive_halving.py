"""Budgets and brackets of successive halving, as NNI's Hyperband and BOHB compute them.

Pure bookkeeping, no I/O and no asynchrony: which configuration runs next at which budget,
and which ones a finished round promotes. Hyperband and BOHB differ only in how a new
configuration is drawn (``sample``), so both are this schedule with another sampler.

NNI's formulas, for the largest budget ``R`` (``max_budget``), the smallest ``min_budget``
(1 for Hyperband) and ``eta``::

    s_max = floor(log_eta(R / min_budget) + 1e-6)
    bracket s (s = s_max .. 0):  n = ceil((s_max + 1) * eta**s / (s + 1) - 1e-6),  r = R / eta**s
    round i (i = 0 .. s):        n_i = floor(n / eta**i + 1e-6),  r_i = r * eta**i

With integer ``R`` and ``min_budget`` the budgets are whole numbers, ``floor(r_i + 1e-6)``
(NNI's rounding); otherwise they stay fractions (NNI would floor them to 0).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

#: the key a multi-fidelity tuner adds to every parameter set (NNI's)
BUDGET_KEY = "TRIAL_BUDGET"
_EPS = 1e-6

Budget = int | float


def at_budget(sequence: int | None, budget: Budget) -> bool:
    """True for the intermediate result that is the value at step ``budget``: report number
    ``budget`` (``sequence`` counts from 0), one a budget unit. Only whole budgets have one."""
    return sequence is not None and float(budget).is_integer() and sequence + 1 == budget


def max_stage(max_budget: float, min_budget: float, eta: float) -> int:
    """``s_max``: the number of halvings between the smallest and the largest budget."""
    return math.floor(math.log(max_budget / min_budget, eta) + _EPS)


def as_budget(x: float, integral: bool) -> Budget:
    """A budget as handed out: NNI's ``floor(x + 1e-6)`` for whole budgets, else a tidy float."""
    return math.floor(x + _EPS) if integral else float(f"{x:.12g}")


@dataclass(frozen=True)
class Round:
    """One round of a bracket: ``n`` configurations, each run at ``budget``."""

    n: int
    budget: Budget


def bracket_rounds(
    s: int, s_max: int, eta: float, max_budget: float, integral: bool
) -> list[Round]:
    """The rounds of bracket ``s`` (NNI's formula; see the module docstring)."""
    n = math.ceil((s_max + 1) * eta**s / (s + 1) - _EPS)
    r = max_budget / eta**s
    return [
        Round(math.floor(n / eta**i + _EPS), as_budget(r * eta**i, integral)) for i in range(s + 1)
    ]


def rung_budgets(min_budget: float, max_budget: float, eta: float, integral: bool) -> list[Budget]:
    """The budgets of the most aggressive bracket, smallest first: ASHA's rungs."""
    s_max = max_stage(max_budget, min_budget, eta)
    return [as_budget(max_budget / eta ** (s_max - k), integral) for k in range(s_max + 1)]


@dataclass
class Job:
    """A configuration to run at a budget: round ``round`` of bracket ``bracket``."""

    config_id: int
    budget: Budget
    bracket: int
    round: int
    config: dict[str, Any] | None = None  # None until drawn (first rounds are drawn lazily)


@dataclass
class Bracket:
    """One run of successive halving: the results of the current round, and what it promotes."""

    id: int
    s: int
    rounds: list[Round]
    round: int = 0
    handed_in: int = 0  # configurations put into the current round
    results: dict[int, float | None] = field(
        default_factory=dict
    )  # config id -> loss (None: failed)
    configs: dict[int, dict[str, Any]] = field(default_factory=dict)
    done: bool = False  # its last round has been handed out, or nobody survived

    def record(self, job: Job, loss: float | None) -> list[Job]:
        """A result (None: the run failed); the jobs of the next round once this one is full."""
        if job.round != self.round or job.config_id in self.results:
            return []
        self.results[job.config_id] = loss
        assert job.config is not None
        self.configs[job.config_id] = job.config
        if len(self.results) < self.handed_in or self.round == self.s:
            return []
        ranked = sorted(
            (loss, cid) for cid, loss in self.results.items() if loss is not None
        )  # ties keep the earlier configuration
        nxt = self.rounds[self.round + 1]
        survivors = [cid for _, cid in ranked[: nxt.n]]
        self.round += 1
        self.results = {}
        self.handed_in = len(survivors)
        self.done = self.round == self.s or not survivors
        configs, self.configs = self.configs, {}
        return [Job(cid, nxt.budget, self.id, self.round, configs[cid]) for cid in survivors]


class Schedule:
    """Hyperband's brackets, cycling ``s = s_max .. 0`` for ever (``max_trial_number`` ends it).

    ``next`` hands out the oldest ready job (configurations of first rounds are drawn when
    handed out, by ``sample(parameter_id, budget)``, so a model-based sampler sees every
    result until then). When nothing is
    ready, ``parallel`` opens the next bracket at once (NNI's ``exec_mode: parallelism``);
    otherwise a new bracket waits until the current one has handed out its last round (NNI's
    ``serial``) and ``next`` returns None: the caller waits for a running job to end.
    """

    def __init__(
        self,
        *,
        max_budget: float,
        min_budget: float,
        eta: float,
        parallel: bool,
        sample: Callable[[int, Budget], dict[str, Any]],
    ) -> None:
        self.max_budget, self.eta, self.parallel, self.sample = max_budget, eta, parallel, sample
        self.integral = float(max_budget).is_integer() and float(min_budget).is_integer()
        self.s_max = max_stage(max_budget, min_budget, eta)
        self.brackets: dict[int, Bracket] = {}
        self.ready: deque[Job] = deque()
        self.running: dict[int, Job] = {}  # parameter id -> job
        self._next_s = self.s_max
        self._next_config = 0

    def rounds(self, s: int) -> list[Round]:
        return bracket_rounds(s, self.s_max, self.eta, self.max_budget, self.integral)

    def next(self, parameter_id: int) -> Job | None:
        """The job ``parameter_id`` runs, or None: wait for a running job to end."""
        if not self.ready:
            current = self.brackets.get(len(self.brackets) - 1)
            if not (self.parallel or current is None or current.done):
                return None
            self._open_bracket()
        job = self.ready.popleft()
        if job.config is None:
            job.config = self.sample(parameter_id, job.budget)
        self.running[parameter_id] = job
        return job

    def _open_bracket(self) -> None:
        s = self._next_s
        self._next_s = s - 1 if s > 0 else self.s_max
        bracket = Bracket(len(self.brackets), s, self.rounds(s))
        self.brackets[bracket.id] = bracket
        first = bracket.rounds[0]
        bracket.handed_in = first.n
        bracket.done = bracket.s == 0
        for _ in range(first.n):
            self.ready.append(Job(self._next_config, first.budget, bracket.id, 0))
            self._next_config += 1

    def finish(self, parameter_id: int, loss: float | None) -> Job | None:
        """``parameter_id`` ended with ``loss`` (None: failed); its job, or None if not ours or
        already finished."""
        job = self.running.pop(parameter_id, None)
        if job is not None:
            self.ready.extend(self.brackets[job.bracket].record(job, loss))
        return job
