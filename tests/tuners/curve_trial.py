"""A multi-fidelity worker that reports one result an epoch for TRIAL_BUDGET epochs and then,
as its final result, a figure that ranks configurations the other way round: a tuner that
takes the value at step TRIAL_BUDGET ranks by the epochs, one that took the final result
would rank backwards."""

import asyncnni

while (params := asyncnni.get_next_parameter()) is not None:
    loss = (params["x"] - 0.3) ** 2 + params.get("y", 0.0)
    for epoch in range(1, params["TRIAL_BUDGET"] + 1):
        asyncnni.report_intermediate_result(loss + 1.0 / epoch)
    asyncnni.report_final_result(-loss)
