"""Reports its result, closes its connection to the dispatcher, then runs on a while."""

import os
import time

from asyncnni.trial import TrialClient

client = TrialClient(os.environ["ASYNCNNI_DISPATCHER"], os.environ["ASYNCNNI_TRIAL_JOB_ID"])
params = client.get_next_parameter()
client.report_final_result(params["x"])
client.close()
time.sleep(4)
