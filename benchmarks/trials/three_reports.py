"""The trial of benchmarks/memory_flat.py: a long-running multi-phase worker that reports
three intermediate results and a final one for every configuration it gets."""

import asyncnni

while (params := asyncnni.get_next_parameter()) is not None:
    for step in range(3):
        asyncnni.report_intermediate_result(params["x"] * step)
    asyncnni.report_final_result(params["x"])
