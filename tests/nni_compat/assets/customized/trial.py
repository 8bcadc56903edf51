"""An NNI trial in the style of NNI's sklearn examples, on a numpy model: a least-squares
fit whose ridge penalty is C; it reports dict metrics."""

import nni
import numpy as np
from nni.utils import merge_parameter

params = merge_parameter({"C": 1.0, "kernel": "linear"}, nni.get_next_parameter())
rng = np.random.default_rng(nni.get_sequence_id())
x = rng.normal(size=(64, 3))
y = x @ np.array([1.0, -2.0, 0.5]) + 0.1 * rng.normal(size=64)
features = np.tanh(x) if params["kernel"] == "rbf" else x
w = np.linalg.solve(features.T @ features + params["C"] * np.eye(3), features.T @ y)
score = float(1 - np.mean((features @ w - y) ** 2) / np.var(y))
nni.report_intermediate_result({"default": score, "step": 1})
nni.report_final_result({"default": score, "trial": nni.get_trial_id()})
