"""An NNI trial: x ** i each step; the assessor stops some of them."""

import time

import nni

params = nni.get_next_parameter()
x = params["x"]
for i in range(1, 10):
    nni.report_intermediate_result(x**i)
    time.sleep(0.5)  # the work of a step: the assessor's verdicts arrive meanwhile
nni.report_final_result(x**10)
