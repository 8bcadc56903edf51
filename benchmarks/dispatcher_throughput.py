"""Dispatcher throughput: the same program as ``asyncnni bench``; see benchmarks/README.md.

python benchmarks/dispatcher_throughput.py --workers 1,4,16,64 --raw --idle 1000
"""

import typer

from asyncnni.bench.command import bench

if __name__ == "__main__":
    typer.run(bench)
