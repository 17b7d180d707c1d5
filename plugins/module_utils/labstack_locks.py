"""Host-wide locks that keep two labstack runs from acting on the same containers at once."""

import errno
import fcntl
import os
import time


class LockBusy(Exception):
    """Another run held the lock for longer than we were willing to wait."""


def hold(path, timeout=600, poll=1.0):
    """Take an exclusive flock on `path` and return the open file; it is released when the
    file is closed or the process exits. Waits up to `timeout` seconds for another holder,
    whose pid is in the file, then raises LockBusy naming it."""
    directory = os.path.dirname(path)
    if directory and not os.path.isdir(directory):
        os.makedirs(directory, 0o755)
    handle = open(path, "a+")  # noqa: SIM115 - held open for the caller's lifetime
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                handle.close()
                raise
            if time.monotonic() >= deadline:
                handle.seek(0)
                holder = handle.read().strip() or "unknown"
                handle.close()
                raise LockBusy(
                    "another labstack run (pid %s) has held %s for over %ds; wait for it to "
                    "finish, or stop it if it hangs, then rerun" % (holder, path, timeout)
                ) from exc
            time.sleep(poll)
    handle.seek(0)
    handle.truncate()
    handle.write("%d\n" % os.getpid())
    handle.flush()
    return handle
