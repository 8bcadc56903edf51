"""A trial for the fork launcher's tests: it writes what it sees of its process to
seen.json in its trial folder, then behaves as FORKED_MODE says."""

import atexit
import json
import os
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import asyncnni

params = asyncnni.get_next_parameter()
seen = {
    "argv": sys.argv,
    "cwd": os.getcwd(),
    "pid": os.getpid(),
    "pgid": os.getpgid(0),
    "sid": os.getsid(0),
    "job": os.environ["ASYNCNNI_TRIAL_JOB_ID"],
    "marker": os.environ.get("FORKED_MARKER"),
    "sys_path0": sys.path[0],
    "main": __name__,
    "preloaded": "json_preload_probe" in sys.modules,
}
with open(os.path.join(os.environ["ASYNCNNI_TRIAL_DIR"], "seen.json"), "w") as out:
    json.dump(seen, out)
print("hello from", seen["job"])
mode = os.environ.get("FORKED_MODE", "ok")
if mode == "crash":
    raise ValueError("forked trial broke")
if mode == "sleep":
    time.sleep(60)
if mode == "exit":
    sys.exit(7)
if mode == "exit-message":
    sys.exit("a message for stderr")
if mode == "interrupt":
    raise KeyboardInterrupt
if mode == "ending":  # what the interpreter's end owes a trial, each leaving a file behind
    here = os.environ["ASYNCNNI_TRIAL_DIR"]

    def write(name: str, text: str) -> None:
        with open(os.path.join(here, name), "w") as out:
            out.write(text)

    def late() -> None:  # a thread still running when the script ends is waited for
        time.sleep(0.3)
        write("thread.txt", "joined")

    threading.Thread(target=late).start()
    pool = ThreadPoolExecutor(1)  # never shut down: its idle worker is told to end at exit
    pool.submit(write, "pool.txt", "done")
    atexit.register(write, "atexit.txt", "ran")
    left_open = open(os.path.join(here, "left-open.txt"), "w")  # noqa: SIM115 - flushed as freed
    left_open.write("flushed")
asyncnni.report_final_result(params["x"])
