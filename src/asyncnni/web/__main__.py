"""``python -m asyncnni.web FOLDER HOST PORT [PARENT_PID]``: the dashboard as its own process,
as ``asyncnni run --port`` starts it (its own interpreter: it never competes with the
dispatcher's event loop or its GIL)."""

import sys
from pathlib import Path

from .server import serve

folder, host, port, *parent = sys.argv[1:]
serve(Path(folder), host, int(port), parent_pid=int(parent[0]) if parent else None)
