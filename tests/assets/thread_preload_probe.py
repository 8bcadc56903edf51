"""A module that starts a thread when imported: forking a process that holds it is unsafe."""

import threading
import time

threading.Thread(target=time.sleep, args=(3600,), daemon=True, name="probe-sleeper").start()
