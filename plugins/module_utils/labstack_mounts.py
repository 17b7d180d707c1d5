"""Mount tables and processes under /proc, read the way the doctor needs them.

Pure parsing (`parse_mountinfo_line`, `parse_mounts_line`, `parse_mount_table`,
`unit_from_cgroup`) plus small readers of /proc that treat a process exiting mid-scan as
"not there" instead of an error: on a busy host processes come and go between listing /proc
and reading their files, and a diagnosis must not fail because of that.
"""

import errno
import os
import re

# Errors that mean "this process is gone or not ours to read": skip it, never fail the scan.
VANISHED = (errno.ENOENT, errno.ESRCH, errno.EACCES, errno.EPERM, errno.EINVAL, errno.ENOTDIR)

_OCTAL = re.compile(r"\\([0-7]{3})")

# Docker's cgroup paths: /docker/<id>, /system.slice/docker-<id>.scope, .../docker/<id>/...
_CGROUP_CONTAINER = re.compile(r"(?:^|/)(?:docker[-/])([0-9a-f]{64})(?:\.scope)?(?:/|$)")
_CGROUP_USER = re.compile(r"(?:^|/)user@(\d+)\.service(?:/|$)")
_CGROUP_UNIT = re.compile(r"([^/]+\.(?:service|scope|socket|mount|swap|slice|timer))(?:/|$)")


def unescape(field):
    """Undo the kernel's octal escapes in /proc mount fields (\\040 space, \\011 tab, ...)."""
    return _OCTAL.sub(lambda m: chr(int(m.group(1), 8)), field)


def split_options(text):
    """Comma-separated mount options → dict (flags map to True). Values may contain ':' and '='."""
    options = {}
    for item in text.split(",") if text else []:
        if not item:
            continue
        key, sep, value = item.partition("=")
        options[unescape(key)] = unescape(value) if sep else True
    return options


def _propagation(optional):
    """Optional mountinfo fields → (shared peer group, master peer group, propagation name)."""
    shared = master = None
    unbindable = False
    for tag in optional:
        name, _, value = tag.partition(":")
        if name == "shared":
            shared = int(value)
        elif name == "master":
            master = int(value)
        elif name == "unbindable":
            unbindable = True
    if master is not None:
        kind = "slave"
    elif shared is not None:
        kind = "shared"
    elif unbindable:
        kind = "unbindable"
    else:
        kind = "private"
    return shared, master, kind


def parse_mountinfo_line(line):
    """One line of /proc/<pid>/mountinfo → dict, or None for a blank/garbled line.

    36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
    (1)(2)(3)   (4)   (5)      (6)      (7)    (8) (9)   (10)         (11)
    Field 7 is zero or more optional tags ended by a lone "-".
    """
    fields = line.rstrip("\n").split(" ")
    try:
        sep = fields.index("-", 6)
    except ValueError:
        return None
    if len(fields) < sep + 3 or sep < 6:
        return None
    try:
        mount_id, parent_id = int(fields[0]), int(fields[1])
    except ValueError:
        return None
    optional = [f for f in fields[6:sep] if f]
    shared, master, kind = _propagation(optional)
    super_text = fields[sep + 3] if len(fields) > sep + 3 else ""
    return {
        "format": "mountinfo",
        "mount_id": mount_id,
        "parent_id": parent_id,
        "dev": fields[2],
        "root": unescape(fields[3]),
        "mount_point": unescape(fields[4]),
        "options": split_options(fields[5]),
        "optional": optional,
        "shared": shared,
        "master": master,
        "propagation": kind,
        "fstype": unescape(fields[sep + 1]),
        "source": unescape(fields[sep + 2]),
        "super_options": split_options(super_text),
    }


def parse_mounts_line(line):
    """One line of /proc/<pid>/mounts (fstab format) → dict; propagation is unknown there.

    Fields are separated by single spaces (the kernel escapes spaces inside a field as \\040 but
    nothing else): split(" ") keeps an empty source field and a no-break space inside a path.
    """
    fields = line.rstrip("\n").split(" ")
    if len(fields) < 4:
        return None
    options = split_options(fields[3])
    return {
        "format": "mounts",
        "mount_id": None,
        "parent_id": None,
        "dev": None,
        "root": None,
        "mount_point": unescape(fields[1]),
        "options": options,
        "optional": [],
        "shared": None,
        "master": None,
        "propagation": "unknown",
        "fstype": unescape(fields[2]),
        "source": unescape(fields[0]),
        # In this format fs-specific options (upperdir=...) are mixed into the options field.
        "super_options": options,
    }


def is_mountinfo_line(line):
    fields = line.split(" ")
    return len(fields) >= 10 and fields[0].isdigit() and fields[1].isdigit() and "-" in fields[6:]


def parse_mount_table(text):
    """A whole mount table in either format (decided per line) → list of mount dicts.

    Lines end with "\\n" only: str.splitlines() would also split on \\r, \\v, \\f, \\x1c-\\x1e,
    \\x85, \\u2028 and \\u2029, which the kernel leaves unescaped inside paths.
    """
    mounts = []
    for line in text.split("\n"):
        if not line.strip(" "):
            continue
        entry = parse_mountinfo_line(line) if is_mountinfo_line(line) else parse_mounts_line(line)
        if entry is not None:
            mounts.append(entry)
    return mounts


def holding_mount(table, path):
    """The entry of a parsed mount table that holds `path`: the deepest mount point above it
    (the last one mounted wins when several share that mount point), or None."""
    best = None
    path = path.rstrip("/") or "/"
    for mount in table:
        point = mount["mount_point"].rstrip("/") or "/"
        inside = point in (path, "/") or path.startswith(point + "/")
        if inside and (best is None or len(point) >= len(best["mount_point"].rstrip("/") or "/")):
            best = mount
    return best


def _cgroup_rank(hierarchy, controllers):
    """Which /proc/<pid>/cgroup line names the systemd unit: name=systemd (v1), then the v2
    line ("0::"), then any v1 controller line (pids, memory, ...)."""
    if "name=systemd" in controllers.split(","):
        return 0
    if hierarchy == "0" and controllers == "":
        return 1
    return 2


def unit_from_cgroup(text):
    """/proc/<pid>/cgroup text → {"unit", "container_id", "cgroup", "user"} (None when absent).

    Works for cgroup v1 (one line per hierarchy; the name=systemd line names the unit, else the
    v2 line of a hybrid host, else a controller line such as pids or memory) and v2
    ("0::/system.slice/ntpd.service"). A unit nested inside a container's cgroup
    (.../docker-<id>.scope/system.slice/foo.service: the container's own systemd) is not a host
    unit: the container is the owner then and unit is None. "user" is the uid of a user unit
    (under user@<uid>.service), else None.
    """
    container = None
    best = None
    for line in text.split("\n"):
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        path = parts[2]
        if path in ("", "/"):
            continue
        found = _CGROUP_CONTAINER.search(path)
        if found and container is None:
            container = found.group(1)
        rank = _cgroup_rank(parts[0], parts[1])
        if best is None or rank < best[0]:
            best = (rank, path)
    if best is None:
        return {"unit": None, "container_id": container, "cgroup": None, "user": None}
    path = best[1]
    found = _CGROUP_CONTAINER.search(path)
    outside = path[: found.start()] if found else path
    units = [u for u in _CGROUP_UNIT.findall(outside) if not u.endswith(".slice")]
    unit = units[-1] if units else None
    user = _CGROUP_USER.search(outside)
    uid = user.group(1) if user else None
    if unit is not None and unit == "user@%s.service" % uid:
        uid = None  # the user manager itself is a system unit
    return {
        "unit": unit,
        "container_id": container,
        "cgroup": path,
        "user": uid if unit else None,
    }


def _read(path, binary=False):
    try:
        with open(
            path,
            "rb" if binary else "r",
            encoding=None if binary else "utf-8",
            errors=None if binary else "surrogateescape",
            # newline="": no universal-newline translation, a \r inside a path stays a \r.
            newline=None if binary else "",
        ) as handle:
            return handle.read()
    except OSError as exc:
        if exc.errno in VANISHED:
            return None
        raise


def _ns_link(pid, kind, proc):
    try:
        return os.readlink("%s/%s/ns/%s" % (proc, pid, kind))
    except OSError as exc:
        if exc.errno in VANISHED:
            return None
        raise


def mount_ns(pid, proc="/proc"):
    """Mount namespace id of a process ("mnt:[4026531840]"), None if it is gone or hidden."""
    return _ns_link(pid, "mnt", proc)


def user_ns(pid, proc="/proc"):
    """User namespace id of a process ("user:[4026531837]"), None if it is gone or hidden."""
    return _ns_link(pid, "user", proc)


def ns_inode(ns_id):
    """ "mnt:[4026532532]" → 4026532532 (the inode of the namespace file), None if garbled."""
    found = re.search(r"\[(\d+)\]$", ns_id or "")
    return int(found.group(1)) if found else None


def comm_of(pid, proc="/proc"):
    """The kernel's short name of a process (/proc/<pid>/comm), None if it is gone."""
    text = _read("%s/%s/comm" % (proc, pid))
    return None if text is None else text.rstrip("\n")


def read_mounts(pid, proc="/proc"):
    """The mount table of a process: mountinfo when readable, else mounts; None if gone."""
    text = _read("%s/%s/mountinfo" % (proc, pid))
    if text is None:
        text = _read("%s/%s/mounts" % (proc, pid))
    if text is None:
        return None
    return parse_mount_table(text)


def command_of(pid, proc="/proc"):
    """The command line of a process (comm in brackets for kernel threads); None if gone."""
    raw = _read("%s/%s/cmdline" % (proc, pid), binary=True)
    if raw:
        return " ".join(p.decode("utf-8", "replace") for p in raw.rstrip(b"\0").split(b"\0"))
    comm = _read("%s/%s/comm" % (proc, pid))
    return None if comm is None else "[%s]" % comm.strip()


def cgroup_of(pid, proc="/proc"):
    text = _read("%s/%s/cgroup" % (proc, pid))
    return unit_from_cgroup(text or "")


def list_pids(proc="/proc"):
    return sorted(int(name) for name in os.listdir(proc) if name.isdigit())


def namespaces(proc="/proc"):
    """{mount namespace id: [pids]} for every visible process; vanished processes are skipped."""
    found = {}
    for pid in list_pids(proc):
        ns = mount_ns(pid, proc)
        if ns is not None:
            found.setdefault(ns, []).append(pid)
    return found
