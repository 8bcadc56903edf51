"""An NNI trial reporting the metrics of a file, floats or dicts."""

import argparse
import json

import nni

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--dict_metrics", action="store_true")
    args = parser.parse_args()
    name = "expected_metrics_dict.json" if args.dict_metrics else "expected_metrics.json"
    nni.get_next_parameter()
    with open(name) as f:
        m = json.load(f)
    for v in m["intermediate_result"]:
        nni.report_intermediate_result(v)
    nni.report_final_result(m["final_result"])
