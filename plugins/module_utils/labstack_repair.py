"""Clear what the doctor found and remove the stuck container: the only mutating path.

`plan_repair` turns one doctor report into ordered steps (pure; refuses what it cannot do
safely). `execute` carries them out: a lazy unmount inside the holder's mount namespace (setns
from a forked child, so no binary has to exist inside a holder's container), a lazy unmount of
stray host mounts, clearing i/a attributes only under the container's own layer directories,
then `docker rm -f` without `-v`. Named volumes and bind-mounted host data are never touched,
dockerd is never restarted and no other container is acted on.
"""

import ctypes
import errno
import os

from ansible.module_utils.labstack_doctor import (
    LIVE_STATES,
    PIN_FLAGS,
    STUCK_STATES,
    APIError,
    NotFound,
    diagnose_with_containers,
    get_flags,
    is_inside,
    own_paths,
    set_flags,
    unsafe_reason,
)

CLONE_NEWNS = 0x00020000
MNT_DETACH = 2


class UnsafeRepair(Exception):
    """A blocker that repair will not release by itself; the message names the safe options."""


class RepairError(Exception):
    """A step failed; nothing after it was done."""


def _depth_first(mounts):
    return sorted(mounts, key=lambda m: (-m["mount_point"].count("/"), m["mount_point"]))


def plan_repair(report, container, data_root, host_pid, host_ns):
    """Ordered steps that clear one container's blockers and remove it.

    Raises UnsafeRepair (before any step runs) when the container is running, when a holder
    cannot be released by a lazy unmount, or when a pinned file lies outside the container's own
    layer directories.
    """
    name = report["name"]
    if report["state"] in LIVE_STATES:
        raise UnsafeRepair(
            "%s is %s; repair only removes stopped, dead or removing containers. Stop it first "
            "(docker stop %s) if you really mean to remove it, or release its holders as the "
            "doctor says." % (name, report["state"], name)
        )
    problems = []
    steps = []
    for holder in report["holders"]:
        reason = unsafe_reason(holder)
        if reason:
            problems.append(
                "pid %s (%s%s, mount namespace %s): %s"
                % (
                    holder["pid"],
                    holder["command"],
                    ", unit %s" % holder["unit"] if holder.get("unit") else "",
                    holder["namespace"],
                    reason,
                )
            )
            continue
        for mount in _depth_first([m for m in holder["mounts"] if m["blocking"]]):
            steps.append(
                {
                    "action": "unmount",
                    "pid": holder["pid"],
                    "namespace": holder["namespace"],
                    "path": mount["mount_point"],
                    "why": "private copy held by pid %s (%s)" % (holder["pid"], holder["command"]),
                }
            )
    for mount in _depth_first(report["stray_mounts"]):
        steps.append(
            {
                "action": "unmount",
                "pid": host_pid,
                "namespace": host_ns,
                "path": mount["mount_point"],
                "why": "stray mount in the host namespace",
            }
        )
    roots = own_paths(container, data_root)
    for pinned in report["pinned_files"]:
        if not is_inside(pinned["path"], roots):
            problems.append(
                "%s is pinned (%s) but lies outside the container's own layer (%s); repair does "
                "not change it. Safe option: inspect it and run chattr -i -a on it yourself."
                % (pinned["path"], pinned["attributes"], ", ".join(roots))
            )
            continue
        steps.append(
            {
                "action": "clear attributes",
                "path": pinned["path"],
                "attributes": pinned["attributes"],
                "why": "pinned file in the container's own layer",
            }
        )
    if problems:
        raise UnsafeRepair(
            "cannot repair %s safely, nothing was changed: %s" % (name, "; ".join(problems))
        )
    steps.append(
        {
            "action": "remove",
            "container": name,
            "id": report["id"],
            "why": "container is %s" % report["state"],
        }
    )
    return steps


def describe(step, planned=False):
    """One line for the admin: what was done, or (planned) what a run would do."""
    verbs = ("unmount", "clear", "remove") if planned else ("unmounted", "cleared", "removed")
    if step["action"] == "unmount":
        return "%s %s (lazy) in mount namespace %s of pid %s: %s" % (
            verbs[0],
            step["path"],
            step["namespace"],
            step["pid"],
            step["why"],
        )
    if step["action"] == "clear attributes":
        return "%s the %s attribute of %s" % (verbs[1], step["attributes"], step["path"])
    return "%s container %s (%s), volumes kept" % (verbs[2], step["container"], step["id"][:12])


def umount_in_namespace(pid, path, proc="/proc"):
    """Lazily unmount path inside the mount namespace of pid. True if something was unmounted,
    False if it was no longer mounted or the process (and its namespace) is gone."""
    try:
        ns_fd = os.open("%s/%s/ns/mnt" % (proc, pid), os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ESRCH):
            return False
        raise
    read_end, write_end = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the forked child
        result = "unknown 0"
        try:
            os.close(read_end)
            libc = ctypes.CDLL(None, use_errno=True)
            if libc.setns(ns_fd, CLONE_NEWNS) != 0:
                result = "setns %d" % ctypes.get_errno()
            elif libc.umount2(os.fsencode(path), MNT_DETACH) != 0:
                result = "umount %d" % ctypes.get_errno()
            else:
                result = "ok 0"
        finally:
            os.write(write_end, result.encode())
            os._exit(0)
    os.close(write_end)
    os.close(ns_fd)
    try:
        answer = os.read(read_end, 64).decode() or "unknown 0"
    finally:
        os.close(read_end)
        os.waitpid(child, 0)
    stage, code = answer.split()
    code = int(code)
    if stage == "ok":
        return True
    if stage == "umount" and code in (errno.EINVAL, errno.ENOENT):
        return False  # not (or no longer) a mount point there
    raise RepairError(
        "%s failed for %s in the mount namespace of pid %s: %s"
        % (stage, path, pid, os.strerror(code) if code else "no answer from the helper")
    )


def clear_attributes(path, roots):
    if not is_inside(path, roots):
        raise RepairError("refusing to change %s: outside the container's own layer" % path)
    flags = get_flags(path)
    if flags is None or not flags & PIN_FLAGS:
        return False
    set_flags(path, flags & ~PIN_FLAGS)
    return True


def execute(steps, client, roots, proc="/proc"):
    """Run the steps in order; returns the descriptions of what was actually done."""
    done = []
    for step in steps:
        if step["action"] == "unmount":
            if umount_in_namespace(step["pid"], step["path"], proc):
                done.append(describe(step))
        elif step["action"] == "clear attributes":
            if clear_attributes(step["path"], roots):
                done.append(describe(step))
        else:
            try:
                # v=False: anonymous volumes stay too; named volumes and binds are never removed.
                client.api.remove_container(step["id"], force=True, v=False)
            except NotFound:
                continue
            except APIError as exc:
                raise RepairError(
                    "Docker still refuses to remove %s after the blockers were released: %s. "
                    "Run playbooks/doctor.yml -e container=%s again to see what is left."
                    % (step["container"], exc, step["container"])
                ) from exc
            done.append(describe(step))
    return done


def repair(client, name=None, check_mode=False, proc="/proc"):
    """Repair one named container, or every dead/removing one. Returns a result dict:
    {"changed", "repaired": [{"name", "id", "state", "plan", "done"}], "message"}."""
    reports, scan, found = diagnose_with_containers(client, name, proc=proc)
    containers = {c["id"]: c for c in found}
    if name:
        targets = [r for r in reports if r["name"] == name or r["id"].startswith(name)]
        if not targets:
            return {
                "changed": False,
                "repaired": [],
                "message": "No container named %s on this host: nothing to repair." % name,
            }
    else:
        targets = [r for r in reports if r["state"] in STUCK_STATES]
        if not targets:
            return {
                "changed": False,
                "repaired": [],
                "message": "No dead or removing container on this host: nothing to repair.",
            }
    plans = []
    for report in targets:  # plan everything first: an unsafe blocker stops before any change
        container = containers.get(report["id"])
        if container is None:
            continue
        steps = plan_repair(
            report, container, scan["data_root"], scan["host_pid"], scan["host_namespace"]
        )
        plans.append((report, container, steps))
    repaired = []
    for report, container, steps in plans:
        entry = {
            "name": report["name"],
            "id": report["id"],
            "state": report["state"],
            "plan": [describe(s, planned=True) for s in steps],
            "done": [],
        }
        if not check_mode:
            entry["done"] = execute(steps, client, own_paths(container, scan["data_root"]), proc)
        repaired.append(entry)
    return {
        "changed": bool(repaired),
        "repaired": repaired,
        "message": "%s %s."
        % ("Would repair" if check_mode else "Repaired", ", ".join(r["name"] for r in repaired))
        if repaired
        else "Nothing to repair.",
    }
