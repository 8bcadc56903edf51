"""`python -m asyncnni` is the `asyncnni` command."""

from .cli import main

main()
