"""NNI's side of benchmarks/vs_nni.py: the trivial trial of one_result.py, written for NNI."""

import nni

params = nni.get_next_parameter()
nni.report_final_result(params["x"])
