"""An NNI multi-phase trial: one job asks for up to five configurations."""

import nni

if __name__ == "__main__":
    for i in range(5):
        hyper_params = nni.get_next_parameter()
        print(f"hyper_params:[{hyper_params}]")
        if hyper_params is None:
            break
        nni.report_final_result(0.1 * i)
