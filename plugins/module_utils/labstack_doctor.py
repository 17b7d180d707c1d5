"""Why a container cannot be removed: holders, stray mounts, pinned files (read-only).

The doctor answers, per container, the questions an admin asks before rebooting a server:

- holders   processes in *other* mount namespaces that still carry a copy of the container's
            mounts (overlay merged/upper/work, devicemapper mnt/<id>, containers/<id>/mounts/shm,
            bind mounts under merged), also when the host's / was mounted at a prefix such as
            /rootfs or /host/root and with a non-default data root. A private copy blocks the
            unmount propagating (a blocker); a slave copy, or a shared one in the host's peer
            group, receives the unmount and does not block.
- stray     mounts in the host's (dockerd's) own namespace under the layer of a container that
            is not running: Docker unmounts those itself when the container stops.
- pinned    files with the immutable (i) or append-only (a) attribute in the container's own
            layer: the driver cannot unlink them ("operation not permitted").

Everything here is pure except the thin readers passed in (`flags_of`, the /proc readers of
labstack_mounts) and `collect_containers`, which reads the Docker SDK client it is given.
"""

import errno
import fcntl
import os
import re
import struct

try:
    from docker.errors import APIError, NotFound
except ImportError:  # the pure functions need no SDK; the readers are only used with it
    APIError = NotFound = Exception

from ansible.module_utils.labstack_mounts import (
    cgroup_of,
    comm_of,
    command_of,
    list_pids,
    mount_ns,
    namespaces,
    read_mounts,
    user_ns,
)

FS_IOC_GETFLAGS = 0x80086601
FS_IOC_SETFLAGS = 0x40086602
FS_IMMUTABLE_FL = 0x00000010
FS_APPEND_FL = 0x00000020
PIN_FLAGS = FS_IMMUTABLE_FL | FS_APPEND_FL

STUCK_STATES = ("dead", "removing")
LIVE_STATES = ("running", "paused", "restarting")

KIND_HOLDER = "holder"
KIND_STRAY = "stray mount"
KIND_PINNED = "pinned file"

# <root>/<driver dir>/<layer id>[/<part>[/rest]]; <root> may carry a prefix (/host/root...).
_LAYER_PATH = re.compile(
    r"^(?P<root>.*?)/(?P<driver>overlay2|overlay|aufs/mnt|aufs/diff|devicemapper/mnt|"
    r"btrfs/subvolumes|zfs/graph|vfs/dir)/(?P<layer>[0-9a-f]{4,64})(?P<init>-init)?"
    r"(?:/(?P<part>[^/]+))?(?P<rest>/.*)?$"
)
_CONTAINER_PATH = re.compile(
    r"^(?P<root>.*?)/containers/(?P<cid>[0-9a-f]{12,64})(?:/(?P<part>[^/]+))?(?P<rest>/.*)?$"
)
_DM_DEVICE = re.compile(r"-(?P<layer>[0-9a-f]{4,64})(?:-init)?$")


def identify_path(path):
    """A path under a Docker data root → {"kind", "id", "root", "part"}, else None.

    kind is "layer" (the id is a layer id) or "container" (the id is a container id). The root is
    everything before the driver directory: the data root, possibly with a prefix in front.
    """
    if not path or not path.startswith("/"):
        return None
    found = _LAYER_PATH.match(path)
    if found:
        return {
            "kind": "layer",
            "id": found.group("layer"),
            "root": found.group("root"),
            "driver": found.group("driver"),
            "part": found.group("part"),
            "init": bool(found.group("init")),
        }
    found = _CONTAINER_PATH.match(path)
    if found:
        return {
            "kind": "container",
            "id": found.group("cid"),
            "root": found.group("root"),
            "driver": None,
            "part": found.group("part"),
            "init": False,
        }
    return None


def _root_matches(root, data_root):
    """The path's root is the data root, or the data root seen under a prefix (/host/root...)."""
    if not data_root:
        return True
    data_root = data_root.rstrip("/")
    return root == data_root or root.endswith(data_root)


def layer_id_of(container):
    """The container's own layer id, from its GraphDriver data (overlay2, devicemapper, ...)."""
    data = container.get("graph") or {}
    for key in ("UpperDir", "MergedDir", "WorkDir"):
        info = identify_path(data.get(key) or "")
        if info and info["kind"] == "layer":
            return info["id"]
    found = _DM_DEVICE.search(data.get("DeviceName") or "")
    if found:
        return found.group("layer")
    return container.get("layer_id")


def build_index(containers):
    """{("layer", id) | ("container", id or 12-char prefix): container} for path matching."""
    index = {}
    for container in containers:
        layer = layer_id_of(container)
        if layer:
            index[("layer", layer)] = container
        cid = container.get("id") or ""
        if cid:
            index[("container", cid)] = container
            index[("container", cid[:12])] = container
    return index


def match_mount(entry, index, data_root=None):
    """The containers a mount belongs to: [(container, path seen, how)] (usually 0 or 1).

    Looks at the mount point and, for overlay mounts, at upperdir/workdir: a copy of another
    container's root filesystem shows its layer there even when mounted elsewhere.
    """
    candidates = [("mount point", entry["mount_point"])]
    if entry.get("fstype") in ("overlay", "overlay2", "aufs"):
        for key in ("upperdir", "workdir"):
            value = entry["super_options"].get(key)
            if isinstance(value, str):
                candidates.append((key, value))
    if entry.get("source", "").startswith("/dev/mapper/"):
        found = _DM_DEVICE.search(entry["source"])
        if found and ("layer", found.group("layer")) in index:
            candidates.append(("device", entry["source"]))
    matches = []
    seen = set()
    for how, path in candidates:
        if how == "device":
            container = index[("layer", _DM_DEVICE.search(path).group("layer"))]
        else:
            info = identify_path(path)
            if info is None or not _root_matches(info["root"], data_root):
                continue
            container = index.get((info["kind"], info["id"]))
        if container is not None and container["id"] not in seen:
            seen.add(container["id"])
            matches.append((container, path, how))
    return matches


def prefix_of(path, data_root):
    """The prefix in front of the data root in a path (/host/root), "" when there is none."""
    info = identify_path(path)
    if info is None or not data_root:
        return ""
    root = info["root"]
    return root[: len(root) - len(data_root.rstrip("/"))]


def _host_copies(entry, host_table, prefix):
    """The host's mounts this entry is a copy of (same device, root and path, less a prefix)."""
    point = entry["mount_point"]
    if prefix and point.startswith(prefix + "/"):
        point = point[len(prefix) :]
    return [
        m
        for m in host_table
        if m.get("dev") is not None
        and m.get("dev") == entry.get("dev")
        and m.get("root") == entry.get("root")
        and m["mount_point"] == point
    ]


def _tags(entry):
    return " ".join(entry.get("optional") or []) or "no propagation tags"


def copy_status(entry, host_table, *, prefix="", container_live=True):
    """(blocks?, label) for a copy of a container's mount in another mount namespace.

    A copy receives the host's unmount only when it is a slave of (master:N), or a peer in
    (shared:N), a peer group of the host's own mount. A master:N of some other namespace's
    group does not. When the container is stopped and the host no longer has the mount, a copy
    that is still there did not receive the unmount, whatever its tags say. The label names the
    actual reason ("private", "unbindable", ...), not always "private".
    """
    kind = entry["propagation"]
    if kind == "unknown":
        return True, "untagged (mounts format, treated as private)"
    if kind == "private":
        return True, "private"
    if kind == "unbindable":
        return True, "unbindable"
    host_table = host_table or []
    copies = _host_copies(entry, host_table, prefix)
    if copies:
        peers = {m["shared"] for m in copies if m.get("shared") is not None}
    elif not container_live:
        return True, "left behind (%s; the host no longer has this mount)" % _tags(entry)
    else:  # no twin found (path seen differently): any of the host's peer groups
        peers = {m["shared"] for m in host_table if m.get("shared") is not None}
    if entry.get("master") is not None and entry["master"] in peers:
        return False, "slave"
    if entry.get("shared") is not None and entry["shared"] in peers:
        return False, "shared"
    if kind == "slave":
        return True, "slave of a peer group the host does not have (master:%s)" % entry["master"]
    return True, "shared with a peer group the host does not have (shared:%s)" % entry["shared"]


def find_holders(
    containers,
    ns_tables,
    host_ns,
    *,
    data_root=None,
    host_table=None,
    info_of=None,
    host_userns=None,
):
    """Processes in other mount namespaces holding containers' mounts.

    ns_tables   {namespace id: {"pids": [pid...], "mounts": [mount dict...], "table_pid": pid}}
    host_ns     the reference namespace (dockerd's); its mounts are strays, not holders
    host_table  the reference namespace's mounts (whose peer groups a copy must belong to)
    info_of     pid → {"command", "unit", "container_id", "cgroup", "user", "user_ns"}
                (None: pid vanished)
    host_userns the reference user namespace; a holder in another one is flagged unsafe
    Returns {container id: [holder...]}; a holder is one namespace, described by its first
    live process, with every pid listed.
    """
    index = build_index(containers)
    info_of = info_of or (lambda pid: None)
    result = {}
    for ns, table in sorted(ns_tables.items()):
        if ns == host_ns:
            continue
        per_container = {}
        for entry in table["mounts"]:
            for container, path, how in match_mount(entry, index, data_root):
                per_container.setdefault(container["id"], (container, []))[1].append(
                    (entry, path, how)
                )
        if not per_container:
            continue
        infos = {}
        for pid in table["pids"]:
            info = info_of(pid)
            if info is not None:
                infos[pid] = info
        if not infos and table["pids"]:
            continue  # every process of this namespace exited mid-scan: nothing holds anything
        owners = {i.get("container_id") for i in infos.values() if i.get("container_id")}
        for cid, (container, found) in per_container.items():
            if cid in owners:
                continue  # the container's own processes, in its own namespace
            own_root = any(e["mount_point"] == "/" for e, _, _ in found)
            live = container.get("state") in LIVE_STATES
            if own_root and live:
                continue
            pids = sorted(infos) or list(table["pids"])
            first = infos.get(pids[0], {}) if pids else {}
            owner_id = next(iter(sorted(owners)), None)
            mounts = []
            for entry, path, how in sorted(found, key=lambda f: f[0]["mount_point"]):
                prefix = prefix_of(path, data_root)
                blocks, propagation = copy_status(
                    entry, host_table, prefix=prefix, container_live=live
                )
                mounts.append(
                    {
                        "mount_point": entry["mount_point"],
                        "mount_id": entry.get("mount_id"),
                        "dev": entry.get("dev"),
                        "matched": path,
                        "matched_by": how,
                        "fstype": entry["fstype"],
                        "propagation": propagation,
                        "blocking": blocks,
                        "prefix": prefix,
                    }
                )
            blocking = [m for m in mounts if m["blocking"]]
            userns = first.get("user_ns")
            result.setdefault(cid, []).append(
                {
                    "namespace": ns,
                    "pid": pids[0] if pids else None,
                    "pids": pids,
                    "table_pid": table.get("table_pid", pids[0] if pids else None),
                    "command": first.get("command"),
                    "unit": first.get("unit"),
                    "user": first.get("user"),
                    "owner_container_id": owner_id,
                    "cgroup": first.get("cgroup"),
                    "user_namespace": userns,
                    "foreign_userns": bool(host_userns and userns and userns != host_userns),
                    "propagation": (blocking or mounts)[0]["propagation"],
                    "blocking": bool(blocking),
                    "runs_inside": own_root,
                    "mounts": mounts,
                }
            )
    return result


def find_strays(containers, host_table, data_root=None):
    """Mounts in the host's namespace under the layer of a container that is not running."""
    index = build_index(containers)
    result = {}
    for entry in host_table or []:
        for container, _path, how in match_mount(entry, index, data_root):
            if container.get("state") in LIVE_STATES:
                continue
            result.setdefault(container["id"], []).append(
                {
                    "mount_point": entry["mount_point"],
                    "mount_id": entry.get("mount_id"),
                    "fstype": entry["fstype"],
                    "matched_by": how,
                }
            )
    for mounts in result.values():
        mounts.sort(key=lambda m: m["mount_point"])
    return result


def get_flags(path):
    """The inode flags of a regular file or directory (lsattr), None if it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        buf = fcntl.ioctl(fd, FS_IOC_GETFLAGS, struct.pack("l", 0))
        return struct.unpack("l", buf)[0] & 0xFFFFFFFF
    except OSError:
        return None
    finally:
        os.close(fd)


def set_flags(path, flags):
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW | os.O_CLOEXEC)
    try:
        fcntl.ioctl(fd, FS_IOC_SETFLAGS, struct.pack("l", flags))
    finally:
        os.close(fd)


def attribute_letters(flags):
    return ("i" if flags & FS_IMMUTABLE_FL else "") + ("a" if flags & FS_APPEND_FL else "")


def own_paths(container, data_root):
    """Directories that belong to this container alone: its layer, its -init layer, its
    containers/<id> directory. Attributes are only ever read or cleared under these."""
    data = container.get("graph") or {}
    paths = []
    for key in ("UpperDir", "WorkDir"):
        if data.get(key):
            paths.append(os.path.dirname(data[key].rstrip("/")))
    layer = layer_id_of(container)
    driver = container.get("driver")
    if layer and data_root and driver:
        base = os.path.join(data_root, "devicemapper/mnt" if driver == "devicemapper" else driver)
        paths.append(os.path.join(base, layer))
        paths.append(os.path.join(base, layer + "-init"))
    if container.get("id") and data_root:
        paths.append(os.path.join(data_root, "containers", container["id"]))
    unique = []
    for path in paths:
        if path not in unique:
            unique.append(path)
    return unique


def is_inside(path, roots):
    real = os.path.realpath(path)
    return any(
        real == r or real.startswith(r.rstrip("/") + "/") for r in map(os.path.realpath, roots)
    )


def find_pinned(roots, flags_of=get_flags, max_entries=200000, skip_names=("merged",)):
    """Files and directories with i or a attributes under roots (one file system each).

    Never descends into a mounted merged directory (that is the image, shared with others),
    never follows symlinks, never opens device nodes, fifos or sockets (overlay whiteouts are
    character devices). Returns (pinned list, entries looked at, truncated?).
    """
    pinned = []
    seen = 0
    for root in roots:
        try:
            top = os.lstat(root)
        except OSError:
            continue
        stack = [root]
        flags = flags_of(root)
        if flags and flags & PIN_FLAGS:
            pinned.append({"path": root, "attributes": attribute_letters(flags)})
        while stack:
            current = stack.pop()
            try:
                entries = list(os.scandir(current))
            except OSError:
                continue
            for item in entries:
                seen += 1
                if seen > max_entries:
                    return pinned, seen - 1, True
                try:
                    st = item.stat(follow_symlinks=False)
                except OSError:
                    continue
                is_dir = item.is_dir(follow_symlinks=False)
                if not (is_dir or item.is_file(follow_symlinks=False)):
                    continue
                if st.st_dev != top.st_dev:
                    continue
                flags = flags_of(item.path)
                if flags and flags & PIN_FLAGS:
                    pinned.append({"path": item.path, "attributes": attribute_letters(flags)})
                if is_dir and not (current == root and item.name in skip_names):
                    stack.append(item.path)
    pinned.sort(key=lambda p: p["path"])
    return pinned, seen, False


# Restarting these would restart every container on the host (DESIGN: never restart dockerd).
NEVER_RESTART = ("docker.service", "containerd.service", "docker.socket")


def release_advice(holder):
    """How to release one holder without a reboot, in a command an admin can run.

    The owning container first (a unit seen nested inside docker-<id>.scope belongs to the
    container's own systemd), then a host service (a user service through its user manager);
    a scope (session-3.scope, run-*.scope) cannot be restarted, and dockerd/containerd are never
    restarted: then the process itself has to stop.
    """
    stop = "stop pid %s (%s)" % (holder["pid"], holder["command"])
    if holder.get("owner_container_name"):
        return "docker restart %s" % holder["owner_container_name"]
    if holder.get("owner_container_id"):
        # Its cgroup names a container this engine does not know: the server itself runs in a
        # container or LXC, or the holder belongs to another engine. `docker restart` would
        # answer "No such container".
        return "%s; it runs in container %s, which this Docker engine does not know" % (
            stop,
            holder["owner_container_id"][:12],
        )
    unit = holder.get("unit")
    if not unit or not unit.endswith(".service") or unit in NEVER_RESTART:
        return stop
    if holder.get("user"):
        return "systemctl --user -M %s@ restart %s (or %s)" % (holder["user"], unit, stop)
    return "systemctl restart %s" % unit


def next_step(report):
    """The exact next step for one affected container, in words an admin can act on."""
    name = report["name"]
    repair = "ansible-playbook playbooks/repair.yml -e container=%s" % name
    holders = [h for h in report["holders"] if h["blocking"]]
    unsafe = [h for h in holders if unsafe_reason(h)]
    if unsafe:
        h = unsafe[0]
        return "Decide about pid %s (%s): %s" % (h["pid"], h["command"], unsafe_reason(h))
    restarts = []
    for h in holders:
        advice = release_advice(h)
        if advice not in restarts:
            restarts.append(advice)
    if report["state"] in LIVE_STATES:
        if not (holders or report["pinned_files"]):
            return "Nothing to do while it runs."
        parts = []
        if holders:
            parts.append(
                "nothing blocks it while it runs; before removing it, release the holder%s: %s"
                % ("s" if len(holders) > 1 else "", "; ".join(restarts))
            )
        if report["pinned_files"]:
            parts.append(
                "its layer has pinned files: remove them with chattr -i/-a inside the container's "
                "layer, or stop the container and run %s" % repair
            )
        text = "; ".join(parts)
        return text[:1].upper() + text[1:] + "."
    step = "Run: %s" % repair
    if restarts:
        step += " (or release what holds it: %s)" % "; ".join(restarts)
    return step


def unsafe_reason(holder):
    """Why a holder cannot be released by a lazy unmount, or None when it can."""
    if holder.get("pid") == 1:
        return (
            "the holder is PID 1 (the init system); repair does not unmount inside its namespace. "
            "Safe options: restart the service that created the namespace, or schedule a reboot"
        )
    if holder.get("runs_inside"):
        return (
            "the process runs inside the container's root filesystem, which cannot be unmounted "
            "under it. Safe options: stop that process (kill %s)%s, then run repair again"
            % (
                holder["pid"],
                ", or systemctl stop %s" % holder["unit"] if holder.get("unit") else "",
            )
        )
    if holder.get("foreign_userns"):
        return (
            "its mount namespace belongs to another user namespace (%s), where the copies of the "
            "host's mounts are locked: an unmount from outside fails. Safe option: stop pid %s "
            "(%s), then run repair again"
            % (holder.get("user_namespace"), holder["pid"], holder["command"])
        )
    return None


def build_reports(containers, holders, strays, pinned, names=None):
    """One report per container (affected or not), sorted by name. names: {id: name} of every
    container on the host (a holder's owner may be a container that was not diagnosed)."""
    names = dict(names or {})
    names.update({c["id"]: c["name"] for c in containers})
    reports = []
    for container in sorted(containers, key=lambda c: c["name"]):
        cid = container["id"]
        container_holders = holders.get(cid, [])
        for h in container_holders:
            h["owner_container_name"] = names.get(h.get("owner_container_id") or "")
        report = {
            "name": container["name"],
            "id": cid,
            "state": container.get("state"),
            "status": container.get("status"),
            "error": container.get("error") or None,
            "layer_id": layer_id_of(container),
            "holders": [h for h in container_holders if h["blocking"]],
            "slave_copies": [h for h in container_holders if not h["blocking"]],
            "stray_mounts": strays.get(cid, []),
            "pinned_files": pinned.get(cid, []),
        }
        report["blockers"] = {
            KIND_HOLDER: len(report["holders"]),
            KIND_STRAY: len(report["stray_mounts"]),
            KIND_PINNED: len(report["pinned_files"]),
        }
        report["affected"] = bool(
            report["state"] in STUCK_STATES or any(report["blockers"].values())
        )
        report["next_step"] = next_step(report) if report["affected"] else None
        reports.append(report)
    return reports


def format_report(report):
    """Human-readable lines for one affected container (what the playbook prints)."""
    lines = [
        "%s (%s): state %s%s"
        % (
            report["name"],
            report["id"][:12],
            report["state"],
            " (inspect: %s)" % report["status"]
            if report["status"] and report["status"] != report["state"]
            else "",
        )
    ]
    if report["error"]:
        lines.append("  last error: %s" % report["error"])
    for h in report["holders"]:
        owner = h.get("unit") or (
            "container %s" % h["owner_container_name"] if h.get("owner_container_name") else None
        )
        lines.append(
            "  holder: pid %s (%s)%s, mount namespace %s, %s copy of %s%s"
            % (
                h["pid"],
                h["command"],
                ", %s" % owner if owner else "",
                h["namespace"],
                h["propagation"],
                ", ".join(m["mount_point"] for m in h["mounts"]),
                "; also pids %s" % ", ".join(map(str, h["pids"][1:])) if len(h["pids"]) > 1 else "",
            )
        )
    for h in report["slave_copies"]:
        lines.append(
            "  not a blocker: pid %s (%s) has a %s copy in %s"
            % (h["pid"], h["command"], h["propagation"], h["namespace"])
        )
    for m in report["stray_mounts"]:
        lines.append(
            "  stray mount: %s (%s) in the host namespace" % (m["mount_point"], m["fstype"])
        )
    for p in report["pinned_files"]:
        lines.append(
            "  pinned file: %s (%s attribute)"
            % (p["path"], {"i": "immutable", "a": "append-only"}.get(p["attributes"], "i+a"))
        )
    if not any(report["blockers"].values()):
        lines.append("  no blocker found: removal should succeed")
    lines.append("  next step: %s" % report["next_step"])
    return lines


# ---------------------------------------------------------------------------------------------
# Readers: the live host. Kept small; everything above is tested with fixtures.


def _pid_file(pid_file):
    try:
        with open(pid_file, encoding="ascii") as handle:
            return int(handle.read().strip())
    except (OSError, ValueError):
        return None


def dockerd_pids(proc="/proc"):
    """Pids of every process whose comm is dockerd."""
    return [pid for pid in list_pids(proc) if comm_of(pid, proc) == "dockerd"]


def host_namespace(proc="/proc", pid_file="/var/run/docker.pid"):
    """(pid, mount namespace) of the reference: dockerd, else PID 1, else this process.

    The pid file is only believed when that pid is still dockerd (a stale file after a crash
    names whatever process got the pid since). Else the dockerd process found in /proc (the one
    in PID 1's mount namespace when there are several, e.g. Docker-in-Docker), else PID 1.
    """
    candidates = []
    listed = _pid_file(pid_file)
    if listed is not None and comm_of(listed, proc) == "dockerd":
        candidates.append(listed)
    else:
        found = dockerd_pids(proc)
        init_ns = mount_ns(1, proc)
        found.sort(key=lambda pid: (init_ns is None or mount_ns(pid, proc) != init_ns, pid))
        candidates += found
    candidates += [1, os.getpid()]
    for pid in candidates:
        ns = mount_ns(pid, proc)
        if ns is not None:
            return pid, ns
    return os.getpid(), None


def host_user_namespace(host_pid, proc="/proc"):
    """The reference user namespace: PID 1's, else the reference process's, else ours."""
    for pid in (1, host_pid, "self"):
        ns = user_ns(pid, proc)
        if ns is not None:
            return ns
    return None


def process_info(pid, proc="/proc"):
    command = command_of(pid, proc)
    if command is None:
        return None
    info = cgroup_of(pid, proc)
    info["command"] = command
    info["user_ns"] = user_ns(pid, proc)
    return info


def scan_namespaces(proc="/proc"):
    """{ns: {"pids", "mounts", "table_pid"}}: one mount table per namespace, from its first live
    process (table_pid: the paths in the table are as that process sees them)."""
    tables = {}
    for ns, pids in namespaces(proc).items():
        for pid in pids:
            mounts = read_mounts(pid, proc)
            if mounts is not None:
                tables[ns] = {"pids": pids, "mounts": mounts, "table_pid": pid}
                break
    return tables


class AmbiguousContainer(Exception):
    """A name that is no container's name or id, but the prefix of several containers' ids."""


def container_name(item):
    """The name of a container in the list API (its own name, not a link alias /a/b)."""
    names = [n.lstrip("/") for n in item.get("Names") or []]
    plain = [n for n in names if "/" not in n]
    return (plain or names or [item["Id"][:12]])[0]


def resolve_container(listed, name):
    """The one container `name` refers to, the way Docker resolves it; None when none does.

    An exact name first, then an exact full id, then an id prefix only if exactly one id starts
    with it. Raises AmbiguousContainer (listing them) when a prefix matches several: acting on
    any of them would act on a container nobody named.
    """
    wanted = name.lstrip("/")
    for item in listed:
        if container_name(item) == wanted:
            return item
    for item in listed:
        if item["Id"] == wanted:
            return item
    if not wanted or not re.fullmatch(r"[0-9a-f]+", wanted):
        return None
    matches = [item for item in listed if item["Id"].startswith(wanted)]
    if len(matches) > 1:
        raise AmbiguousContainer(
            "%s is no container's name, and the ids of %d containers start with it: %s. Give the "
            "container's name or a longer id."
            % (
                wanted,
                len(matches),
                ", ".join(
                    "%s (%s)" % (container_name(m), m["Id"][:12])
                    for m in sorted(matches, key=container_name)
                ),
            )
        )
    return matches[0] if matches else None


def _collect(client, name=None):
    """(containers, data root, {id: name} of every listed container)."""
    info = client.info()
    data_root = info.get("DockerRootDir") or "/var/lib/docker"
    driver = info.get("Driver")
    listed = client.api.containers(all=True)
    names = {item["Id"]: container_name(item) for item in listed}
    if name:
        found = resolve_container(listed, name)
        listed = [found] if found else []
    containers = []
    for item in listed:
        try:
            detail = client.api.inspect_container(item["Id"])
        except NotFound:
            continue  # removed between the list and the inspect
        state = detail.get("State") or {}
        graph = detail.get("GraphDriver") or {}
        containers.append(
            {
                "id": item["Id"],
                "name": container_name(item),
                # The list API says "removing" where inspect says "dead"; admins see the former.
                "state": item.get("State") or state.get("Status"),
                "status": state.get("Status"),
                "error": state.get("Error") or None,
                "pid": state.get("Pid") or None,
                "driver": graph.get("Name") or driver,
                "graph": graph.get("Data") or {},
                "labels": item.get("Labels") or {},
                "mounts": detail.get("Mounts") or [],
            }
        )
    return containers, data_root, names


def collect_containers(client, name=None):
    """Containers as the doctor needs them, from a docker.DockerClient; plus the data root.

    With a name, only the container it refers to (resolve_container: exact name, exact id, or
    an unambiguous id prefix)."""
    containers, data_root, _ = _collect(client, name)
    return containers, data_root


def walks_layer(container, name=None):
    """Whether the pinned-file walk looks at this container's layer: the named container, or
    one that is not running (a running container's layer can be huge and is not stuck)."""
    return bool(name) or container.get("state") not in LIVE_STATES


def diagnose(client, name=None, proc="/proc", max_entries=200000):
    """The full read-only diagnosis of one host: (reports, facts about the scan)."""
    reports, facts, _ = diagnose_with_containers(client, name, proc, max_entries)
    return reports, facts


def diagnose_with_containers(client, name=None, proc="/proc", max_entries=200000):
    """As diagnose, plus the container records the reports were built from."""
    containers, data_root, names = _collect(client, name)
    ref_pid, host_ns = host_namespace(proc)
    tables = scan_namespaces(proc)
    host_table = (tables.get(host_ns) or {}).get("mounts")
    if host_table is None:
        host_table = read_mounts(ref_pid, proc) or []
    holders = find_holders(
        containers,
        tables,
        host_ns,
        data_root=data_root,
        host_table=host_table,
        info_of=lambda pid: process_info(pid, proc),
        host_userns=host_user_namespace(ref_pid, proc),
    )
    strays = find_strays(containers, host_table, data_root)
    pinned = {}
    truncated = []
    walked = 0
    for container in containers:
        if not walks_layer(container, name):
            continue
        walked += 1
        found, _, cut = find_pinned(own_paths(container, data_root), max_entries=max_entries)
        if found:
            pinned[container["id"]] = found
        if cut:
            truncated.append(container["name"])
    reports = build_reports(containers, holders, strays, pinned, names)
    facts = {
        "data_root": data_root,
        "host_pid": ref_pid,
        "host_namespace": host_ns,
        "namespaces": len(tables),
        "processes": sum(len(t["pids"]) for t in tables.values()),
        "containers": len(containers),
        "layers_walked": walked,
        "truncated_layers": truncated,
    }
    return reports, facts, containers


def is_gone(exc):
    return getattr(exc, "errno", None) in (errno.ENOENT, errno.ESRCH)
