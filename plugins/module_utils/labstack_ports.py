"""The port ledger: which host port each lab user's container publishes.

Pure logic (`allocate`) plus the file handling around it (`load_ledger`, `dump_ledger`,
`locked`). The ledger lives next to the inventory so a rebuild on another host hands out the
same ports. Rules, each covered by tests/unit/test_ports.py:

- stable: a user keeps their port across runs;
- unique: a port is never given to two users;
- free: a port someone else listens on is never handed out;
- bounded: ports come only from the configured range;
- quarantined: a freed port is not given to a different user until the quarantine ends
  (the same user coming back gets it again);
- recoverable: a lost ledger is rebuilt from the ports recorded in container labels.
"""

import contextlib
import datetime
import fcntl
import os
import tempfile

LEDGER_VERSION = 1


class PortError(Exception):
    """The request cannot be satisfied; the message tells the admin what to do."""


def _iso(now):
    return now.strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_iso(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ")


def empty_ledger():
    return {"version": LEDGER_VERSION, "assigned": {}, "released": []}


def validate_range(start, end):
    """Return a problem with the port range, or None."""
    if not (isinstance(start, int) and isinstance(end, int)):
        return "start and end must be integers"
    if not 1024 <= start <= end <= 65535:
        return "must satisfy 1024 <= start <= end <= 65535 (got %s-%s)" % (start, end)
    return None


def allocate(ledger, users, port_range, busy, *, recovered=None, now=None, quarantine_days=7):
    """Compute the new ledger for `users` (in inventory order).

    ledger      the current ledger dict (see empty_ledger)
    users       user names that need a port, in a stable order
    port_range  (start, end), inclusive
    busy        ports something is listening on at the target host
    recovered   {user: port} read from labstack containers' labels (their own ports are not
                "busy" for them, and they rebuild a lost ledger)
    Returns (new_ledger, events); events is a list of human-readable lines for the diff.
    """
    start, end = port_range
    problem = validate_range(start, end)
    if problem:
        raise PortError("port range %s" % problem)
    now = now or datetime.datetime.utcnow().replace(microsecond=0)
    recovered = dict(recovered or {})
    busy = set(busy)
    wanted = list(dict.fromkeys(users))
    old_assigned = dict(ledger.get("assigned") or {})
    events = []

    # A port published by the user's own container (known from its label) is theirs, not
    # "busy" for them. The ledger alone proves nothing: someone else may listen there now.
    own = {}
    for user, port in recovered.items():
        own.setdefault(port, set()).add(user)

    # Quarantine: drop expired entries, keep the rest in force.
    horizon = now - datetime.timedelta(days=quarantine_days)
    released = [r for r in (ledger.get("released") or []) if _parse_iso(r["released"]) > horizon]

    # Users that left the inventory free their port into quarantine (never silently reused).
    for user, port in sorted(old_assigned.items()):
        if user not in wanted:
            released.append({"user": user, "port": port, "released": _iso(now)})
            events.append(
                "release %s from %s (quarantined %d days)" % (port, user, quarantine_days)
            )

    assigned = {}
    taken = set()

    def usable(port, user):
        if not start <= port <= end or port in taken:
            return False
        if port in busy and user not in own.get(port, ()):
            return False
        return not any(r["port"] == port and r["user"] != user for r in released)

    # 1. Keep what users already have (ledger first, then labels of a lost ledger).
    for user in wanted:
        for source, table in (("ledger", old_assigned), ("container label", recovered)):
            port = table.get(user)
            if port is None:
                continue
            if usable(port, user):
                assigned[user] = port
                taken.add(port)
                if source != "ledger":
                    events.append("recover %s for %s from its %s" % (port, user, source))
                break
            reason = "outside %d-%d" % (start, end) if not start <= port <= end else "in use"
            events.append("move %s off %s (%s)" % (user, port, reason))

    # 2. A returning user gets their quarantined port back.
    for user in wanted:
        if user in assigned:
            continue
        for entry in released:
            if entry["user"] == user and usable(entry["port"], user):
                assigned[user] = entry["port"]
                taken.add(entry["port"])
                events.append("return %s to %s" % (entry["port"], user))
                break
    released = [r for r in released if assigned.get(r["user"]) != r["port"]]

    # 3. Everyone else gets the lowest usable port.
    need = [u for u in wanted if u not in assigned]
    candidates = (p for p in range(start, end + 1) if usable(p, None))
    for user in need:
        port = next(candidates, None)
        if port is None:
            free = sum(1 for p in range(start, end + 1) if usable(p, None))
            raise PortError(
                "port range %d-%d is exhausted: %d new user(s) need a port, %d free "
                "(%d assigned, %d quarantined, the rest busy on the host). Widen "
                "lab_port_range or remove users."
                % (start, end, len(need), free + need.index(user), len(assigned), len(released))
            )
        assigned[user] = port
        taken.add(port)
        events.append("assign %s to %s" % (port, user))

    new = {"version": LEDGER_VERSION, "assigned": assigned, "released": released}
    return new, events


def same_ledger(a, b):
    return (a.get("assigned") or {}) == (b.get("assigned") or {}) and (a.get("released") or []) == (
        b.get("released") or []
    )


HEADER = (
    "# labstack port ledger: which host port each lab user's container publishes.\n"
    "# Written by the main job (plugins/modules/lab_ports.py). Keep it with the inventory\n"
    "# (commit it) so a rebuild on another server gives every user the same port.\n"
    "# Released ports stay quarantined so they are not handed to someone else at once.\n"
)


def dump_ledger(ledger):
    """Deterministic YAML (no dependency needed to write it)."""
    lines = [HEADER, "version: %d\n" % LEDGER_VERSION, "assigned:\n"]
    if not ledger["assigned"]:
        lines[-1] = "assigned: {}\n"
    for user, port in sorted(ledger["assigned"].items(), key=lambda kv: kv[1]):
        lines.append("  %s: %d\n" % (_quote(user), port))
    if ledger["released"]:
        lines.append("released:\n")
        for entry in ledger["released"]:
            lines.append(
                "  - {user: %s, port: %d, released: '%s'}\n"
                % (_quote(entry["user"]), entry["port"], entry["released"])
            )
    else:
        lines.append("released: []\n")
    return "".join(lines)


def _quote(text):
    return "'%s'" % text.replace("'", "''")


def load_ledger(path, yaml_load):
    """Read the ledger at `path`; a missing file is an empty ledger."""
    if not os.path.exists(path):
        return empty_ledger()
    with open(path) as handle:
        data = yaml_load(handle.read()) or {}
    if not isinstance(data, dict) or not isinstance(data.get("assigned", {}), dict):
        raise PortError("%s is not a labstack port ledger; move it away and rerun" % path)
    ledger = empty_ledger()
    ledger["assigned"] = {str(k): int(v) for k, v in (data.get("assigned") or {}).items()}
    ledger["released"] = [
        {"user": str(r["user"]), "port": int(r["port"]), "released": str(r["released"])}
        for r in (data.get("released") or [])
    ]
    return ledger


def write_ledger(path, ledger):
    """Replace the file atomically, so a crash never leaves half a ledger."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".port-ledger.", dir=directory)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(dump_ledger(ledger))
        os.chmod(tmp, 0o644)
        os.rename(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def locked(path):
    """Hold an exclusive lock for the read-modify-write of the ledger at `path`."""
    lock_path = os.path.join(os.path.dirname(os.path.abspath(path)), ".port-ledger.lock")
    with open(lock_path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
