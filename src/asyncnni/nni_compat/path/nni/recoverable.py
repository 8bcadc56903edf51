"""NNI's ``Recoverable``: the checkpoint hooks of tuners and assessors. asyncnni resumes an
experiment from its store (results are given back through ``import_data``), so it never
calls them."""

from __future__ import annotations


class Recoverable:
    def load_checkpoint(self) -> None:
        pass

    def save_checkpoint(self) -> None:
        pass

    def get_checkpoint_path(self) -> str | None:
        return None
