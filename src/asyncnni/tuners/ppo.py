"""PPOTuner: architectures chosen by a small policy trained with PPO (Schulman et al., 2017)
on the results of finished trials, as NNI's PPOTuner does for NAS spaces.

An architecture is an episode of one step per key, in search-space order; each step picks
one option of its key (a layer_choice's op, an input_choice's subset of candidates, a plain
choice's value). The policy is autoregressive: step t's logits are a bias plus a weight row
selected by the option taken at step t-1 (NNI feeds the previous action to an LSTM; a table
keeps it small), with a value head of the same shape. The trial's result is the episode's
reward, given at its last step; advantages come from GAE (``gamma``, ``lam``).

Architectures are sampled in batches of ``trials_per_update``; once every trial of a batch
has ended the policy takes ``epochs_per_update`` passes of clipped PPO over it in
minibatches of ``minibatch_size`` trials (normalised advantages, value loss weighted by
``vf_coef``, entropy bonus ``ent_coef``, gradient norm clipped to ``max_grad_norm``, Adam
with step ``lr``), then samples the next batch. A failed trial gets the mean reward of its
batch's finished ones, as in NNI. Pure numpy.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import numpy as np

from ..errors import SearchSpaceError
from ..search_space import NAS_TYPES, ChoiceParam, NasParam, SearchSpace
from ..tuner import OptimizeMode, Tuner
from ._nas_space import _choice

SUPPORTED = frozenset({*NAS_TYPES, "choice"})
MAX_OPTIONS = 4096  # per key: an input_choice of many candidates has 2**n subsets


@dataclass(frozen=True)
class Step:
    """One key: its options, and the parameter each gives."""

    key: str
    size: int
    parameter: Callable[[int], Any]


def _steps(search_space: dict) -> list[Step]:
    space = SearchSpace(search_space)
    space.require(SUPPORTED, "PPOTuner")
    steps = []
    for p in space.params():
        if isinstance(p, ChoiceParam):
            steps.append(Step(p.name, len(p.options), lambda i, o=p.options: o[i]))
            continue
        assert isinstance(p, NasParam)
        choice = _choice(p)
        options = list(choice.options()) if choice.count() <= MAX_OPTIONS else []
        if not options:
            raise SearchSpaceError(
                f"{p.path}: tuner PPOTuner takes at most {MAX_OPTIONS} options per key, "
                f"this one has {choice.count()}"
            )
        steps.append(Step(p.name, len(options), lambda i, c=choice, o=options: c.parameter(o[i])))
    if not steps:
        raise SearchSpaceError(
            "tuner PPOTuner needs at least one layer_choice, input_choice or choice"
        )
    return steps


class Policy:
    """Logits and values of each step from the previous step's option (tables, numpy)."""

    def __init__(self, sizes: list[int]) -> None:
        self.sizes = sizes
        prev = [1, *sizes[:-1]]  # step 0 has one "previous option": the start
        # per step: logits table (prev, size) and value table (prev,)
        self.params = [np.zeros((p, n)) for p, n in zip(prev, sizes, strict=True)] + [
            np.zeros(p) for p in prev
        ]

    def logits(self, t: int, prev: np.ndarray) -> np.ndarray:
        return self.params[t][prev]

    def value(self, t: int, prev: np.ndarray) -> np.ndarray:
        return self.params[len(self.sizes) + t][prev]


def _softmax(z: np.ndarray) -> np.ndarray:
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


class PPOTuner(Tuner):
    """NNI's PPOTuner on layer_choice / input_choice (and plain choice) spaces; other types
    are refused naming the parameter. Class args are NNI's: ``optimize_mode`` ("maximize"),
    ``trials_per_update`` (20), ``epochs_per_update`` (4), ``minibatch_size`` (4 trials),
    ``ent_coef`` (0.0), ``lr`` (3e-4), ``vf_coef`` (0.5), ``max_grad_norm`` (0.5),
    ``gamma`` (0.99), ``lam`` (0.95), ``cliprange`` (0.2); and ``seed``.

    The ask that needs the next batch awaits the results of the last one
    (``wait_for_result``): run it with ``async_dispatcher: true`` or ``trial_concurrency: 1``.
    Architectures may repeat (the policy samples them); imported data is not used, as in NNI.
    """

    def __init__(
        self,
        optimize_mode: str = "maximize",
        trials_per_update: int = 20,
        epochs_per_update: int = 4,
        minibatch_size: int = 4,
        ent_coef: float = 0.0,
        lr: float = 3e-4,
        vf_coef: float = 0.5,
        max_grad_norm: float = 0.5,
        gamma: float = 0.99,
        lam: float = 0.95,
        cliprange: float = 0.2,
        seed: int | None = None,
    ) -> None:
        if min(trials_per_update, epochs_per_update, minibatch_size) < 1:
            raise ValueError("trials_per_update, epochs_per_update and minibatch_size must be >= 1")
        if lr <= 0 or max_grad_norm <= 0 or cliprange <= 0:
            raise ValueError("lr, max_grad_norm and cliprange must be positive")
        if not (0 <= gamma <= 1 and 0 <= lam <= 1):
            raise ValueError("gamma and lam must be within [0, 1]")
        self.optimize_mode = OptimizeMode.parse(optimize_mode)
        self.trials_per_update = trials_per_update
        self.epochs_per_update = epochs_per_update
        self.minibatch_size = minibatch_size
        self.ent_coef, self.lr, self.vf_coef = ent_coef, lr, vf_coef
        self.max_grad_norm, self.gamma, self.lam, self.cliprange = (
            max_grad_norm,
            gamma,
            lam,
            cliprange,
        )
        self._rng = np.random.default_rng(seed)
        self._steps: list[Step] | None = None
        self._lock = anyio.Lock()

    async def update_search_space(self, search_space: dict) -> None:
        self._steps = _steps(search_space)
        self._policy = Policy([s.size for s in self._steps])
        self._adam = [(np.zeros_like(p), np.zeros_like(p)) for p in self._policy.params]
        self._updates = 0
        self._queue: deque[int] = deque()  # rows of the batch not handed out yet
        self._batch: dict[str, np.ndarray] | None = None
        self._row_of: dict[int, int] = {}  # parameter id -> row of the current batch
        self._rewards: dict[int, float] = {}

    async def generate_parameters(self, parameter_id: int, **info: Any) -> dict:
        if self._steps is None:
            raise RuntimeError("PPOTuner: update_search_space was not called")
        async with self._lock:  # one ask trains and samples the next batch, the others wait
            if not self._queue:
                await self._next_batch()
            row = self._queue.popleft()
            self._row_of[parameter_id] = row
        assert self._batch is not None
        actions = self._batch["actions"][row]
        return {s.key: s.parameter(int(a)) for s, a in zip(self._steps, actions, strict=True)}

    async def receive_trial_result(
        self, parameter_id: int, parameters: dict, value: float, **info: Any
    ) -> None:
        if parameter_id in self._row_of:
            self._rewards[parameter_id] = -self.optimize_mode.to_loss(float(value))

    async def _next_batch(self) -> None:
        if self._batch is not None:
            for parameter_id in list(self._row_of):
                await self.wait_for_result(parameter_id)
            rewards = np.zeros(self.trials_per_update)
            known = [self._rewards[p] for p in self._row_of if p in self._rewards]
            rewards[:] = np.mean(known) if known else 0.0  # failed trials: the batch's mean
            for parameter_id, row in self._row_of.items():
                rewards[row] = self._rewards.get(parameter_id, rewards[row])
            self._train(self._batch, rewards)
        self._batch = self._sample(self.trials_per_update)
        self._queue.extend(range(self.trials_per_update))
        self._row_of, self._rewards = {}, {}

    # --- the policy -------------------------------------------------------------------

    def _sample(self, n: int) -> dict[str, np.ndarray]:
        policy, steps = self._policy, len(self._policy.sizes)
        actions = np.zeros((n, steps), dtype=int)
        logp = np.zeros((n, steps))
        values = np.zeros((n, steps))
        prev = np.zeros(n, dtype=int)
        for t in range(steps):
            probs = _softmax(policy.logits(t, prev))
            a = np.array([self._rng.choice(len(p), p=p) for p in probs])
            actions[:, t], logp[:, t] = a, np.log(probs[np.arange(n), a])
            values[:, t] = policy.value(t, prev)
            prev = a
        return {"actions": actions, "logp": logp, "values": values}

    def _train(self, batch: dict[str, np.ndarray], rewards: np.ndarray) -> None:
        values, n = batch["values"], len(rewards)
        steps = values.shape[1]
        advantages = np.zeros_like(values)
        last = np.zeros(n)
        for t in reversed(range(steps)):  # GAE; the reward comes at the last step
            final = t == steps - 1
            delta = (rewards if final else 0.0) + (0.0 if final else self.gamma * values[:, t + 1])
            last = delta - values[:, t] + (0.0 if final else self.gamma * self.lam * last)
            advantages[:, t] = last
        returns = advantages + values
        for _ in range(self.epochs_per_update):
            order = self._rng.permutation(n)
            for start in range(0, n, self.minibatch_size):
                rows = order[start : start + self.minibatch_size]
                self._step(batch, advantages[rows], returns[rows], rows)

    def _step(
        self, batch: dict[str, np.ndarray], adv: np.ndarray, ret: np.ndarray, rows: np.ndarray
    ) -> None:
        policy = self._policy
        actions, old_logp = batch["actions"][rows], batch["logp"][rows]
        adv = (adv - adv.mean()) / (adv.std() + 1e-8)
        grads = [np.zeros_like(p) for p in policy.params]
        count = adv.size
        prev = np.zeros(len(rows), dtype=int)
        for t in range(actions.shape[1]):
            a = actions[:, t]
            probs = _softmax(policy.logits(t, prev))
            logp = np.log(probs[np.arange(len(a)), a])
            ratio = np.exp(logp - old_logp[:, t])
            clipped = ((adv[:, t] >= 0) & (ratio > 1 + self.cliprange)) | (
                (adv[:, t] < 0) & (ratio < 1 - self.cliprange)
            )
            # d(-min(ratio * A, clip(ratio) * A)) / d logp, zero where the clip is active
            d_logp = np.where(clipped, 0.0, -adv[:, t] * ratio)
            onehot = np.eye(probs.shape[1])[a]
            d_logits = d_logp[:, None] * (onehot - probs)
            entropy = -(probs * np.log(probs + 1e-12)).sum(axis=1, keepdims=True)
            d_logits += self.ent_coef * probs * (np.log(probs + 1e-12) + entropy)
            np.add.at(grads[t], prev, d_logits / count)
            d_value = self.vf_coef * (policy.value(t, prev) - ret[:, t])
            np.add.at(grads[len(policy.sizes) + t], prev, d_value / count)
            prev = a
        norm = np.sqrt(sum(float((g**2).sum()) for g in grads))
        scale = min(1.0, self.max_grad_norm / (norm + 1e-12))
        self._updates += 1
        b1, b2, eps = 0.9, 0.999, 1e-5
        for p, g, (m, v) in zip(policy.params, grads, self._adam, strict=True):
            g = g * scale
            m *= b1
            m += (1 - b1) * g
            v *= b2
            v += (1 - b2) * g * g
            m_hat = m / (1 - b1**self._updates)
            v_hat = v / (1 - b2**self._updates)
            p -= self.lr * m_hat / (np.sqrt(v_hat) + eps)
