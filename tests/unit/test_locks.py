"""The host-wide reconcile lock: one holder at a time, a clear message when it is held too long."""

import os
import subprocess
import sys

import pytest
from ansible.module_utils.labstack_locks import LockBusy, hold

HOLDER = """
import fcntl, sys, time
handle = open(sys.argv[1], "a+")
fcntl.flock(handle, fcntl.LOCK_EX)
handle.seek(0); handle.truncate(); handle.write("4242\\n"); handle.flush()
print("held", flush=True)
time.sleep(float(sys.argv[2]))
"""


def start_holder(path, seconds):
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "held"
    return proc


def test_a_held_lock_makes_the_next_run_fail_naming_the_holder(tmp_path):
    path = tmp_path / "lock"
    holder = start_holder(path, 30)
    try:
        with pytest.raises(LockBusy, match=r"another labstack run \(pid 4242\) has held"):
            hold(str(path), timeout=0.3, poll=0.05)
    finally:
        holder.kill()
        holder.wait()


def test_the_next_run_gets_the_lock_once_the_first_one_ends(tmp_path):
    path = tmp_path / "sub" / "lock"
    path.parent.mkdir()
    holder = start_holder(path, 0.5)
    handle = hold(str(path), timeout=30, poll=0.05)
    try:
        assert path.read_text() == "%d\n" % os.getpid()  # the holder's pid was replaced
    finally:
        handle.close()
        holder.wait()
