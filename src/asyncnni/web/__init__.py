"""The web dashboard (needs the ``web`` extra: starlette and uvicorn).

It reads an experiment's store read-only, so it can show a finished experiment or one that
runs in another process: ``asyncnni view ID`` or ``asyncnni run exp.yaml --port 8080``.
The core never imports this package.
"""
