"""A trial written with the async API."""

import asyncio

import asyncnni


async def main() -> None:
    params = await asyncnni.aget_next_parameter()
    await asyncnni.areport_intermediate_result(params["x"] / 2)
    await asyncnni.areport_final_result(params["x"])


asyncio.run(main())
