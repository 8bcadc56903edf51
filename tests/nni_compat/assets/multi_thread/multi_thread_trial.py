"""An NNI trial for the multi-thread dispatcher: reports 0.5."""

import nni

if __name__ == "__main__":
    nni.get_next_parameter()
    nni.report_final_result(0.5)
