"""A long-running worker: one process that evaluates configuration after configuration.

Where starting a trial job is costly (an interpreter and its imports here; a container or
a cluster job elsewhere), a worker that keeps asking pays that cost once. The experiment
sets ``multi_phase: true``; the worker asks until ``get_next_parameter()`` returns None
(the tuner or a limit says stop).

Each configuration is cheap on purpose: the Branin function, a classic optimisation test
function, evaluated in pure Python. ``--once`` evaluates one configuration and exits, for
the one-process-per-configuration comparison in ``compare.py``.
"""

import math
import sys

import asyncnni


def branin(x: float, y: float) -> float:
    """Minimum 0.397887 at (-pi, 12.275), (pi, 2.275) and (9.42478, 2.475)."""
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (y - b * x**2 + c * x - 6) ** 2 + 10 * (1 - t) * math.cos(x) + 10


while (params := asyncnni.get_next_parameter()) is not None:
    asyncnni.report_final_result(branin(params["x"], params["y"]))
    if "--once" in sys.argv:
        break
