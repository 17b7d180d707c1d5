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
    AmbiguousContainer,
    APIError,
    NotFound,
    diagnose_with_containers,
    get_flags,
    is_inside,
    own_paths,
    set_flags,
    unsafe_reason,
)
from ansible.module_utils.labstack_mounts import command_of, ns_inode, read_mounts

CLONE_NEWNS = 0x00020000
MNT_DETACH = 2


class UnsafeRepair(Exception):
    """A blocker that repair will not release by itself; the message names the safe options."""


class RepairError(Exception):
    """A step failed; nothing after it was done.

    done      descriptions of the steps of this container that were done before the failure
    repaired  result entries ({"name", "id", "state", "plan", "done"}) of the containers that
              were repaired completely before this one (repair of several containers)
    """

    def __init__(self, message, done=None, repaired=None):
        super().__init__(message)
        self.done = list(done or [])
        self.repaired = list(repaired or [])


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
                    "pid": holder.get("table_pid") or holder["pid"],
                    "pids": list(holder.get("pids") or []),
                    "namespace": holder["namespace"],
                    "path": mount["mount_point"],
                    "mount_id": mount.get("mount_id"),
                    "command": holder["command"],
                    "why": "%s copy held by pid %s (%s)"
                    % (mount.get("propagation", "private"), holder["pid"], holder["command"]),
                }
            )
    for mount in _depth_first(report["stray_mounts"]):
        steps.append(
            {
                "action": "unmount",
                "pid": host_pid,
                "namespace": host_ns,
                "path": mount["mount_point"],
                "mount_id": mount.get("mount_id"),
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


def _open_namespace(pids, namespace, proc):
    """(pid, fd of its mount namespace) for the first pid still in the planned namespace.

    The namespace is compared by the inode of the open /proc/<pid>/ns/mnt, so a pid that was
    reused by another process (or moved to another namespace) is never acted on.
    """
    wanted = ns_inode(namespace) if namespace else None
    for pid in pids:
        try:
            fd = os.open("%s/%s/ns/mnt" % (proc, pid), os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            if exc.errno in (errno.ENOENT, errno.ESRCH):
                continue
            raise
        if wanted is None or os.fstat(fd).st_ino == wanted:
            return pid, fd
        os.close(fd)
    return None, None


def _in_namespace(pid, namespace, proc):
    used, fd = _open_namespace([pid], namespace, proc)
    if fd is not None:
        os.close(fd)
    return used is not None


def _setns_umount(ns_fd, path):
    """Lazy unmount of path after setns into ns_fd, in a forked child → (stage, errno)."""
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
    try:
        answer = os.read(read_end, 64).decode() or "unknown 0"
    finally:
        os.close(read_end)
        os.waitpid(child, 0)
    stage, code = answer.split()
    return stage, int(code)


def still_mounted(pid, path, mount_id=None, proc="/proc"):
    """Whether path (that very mount when mount_id is known) is in pid's mount table; None if
    the process is gone."""
    table = read_mounts(pid, proc)
    if table is None:
        return None
    return any(
        m["mount_point"] == path and (mount_id is None or m["mount_id"] in (None, mount_id))
        for m in table
    )


def umount_in_namespace(pid, path, proc="/proc", *, namespace=None, mount_id=None, pids=()):
    """Lazily unmount path inside the mount namespace of pid, then check it is gone.

    namespace  the namespace the plan saw ("mnt:[N]"); a pid now elsewhere is not acted on
    mount_id   the mount the plan saw (mountinfo id), for the check afterwards
    pids       other processes of that namespace, used when pid has exited
    True if something was unmounted, False if it was no longer mounted or the namespace is gone
    (no process of it left). Raises RepairError when the mount is still there afterwards: the
    kernel answers EINVAL for a locked mount (a namespace owned by another user namespace) and
    ENOENT for a path it resolves elsewhere (a chrooted holder), neither means "not mounted".
    """
    candidates = [pid] + [p for p in pids if p != pid]
    used, ns_fd = _open_namespace(candidates, namespace, proc)
    if used is None:
        return False
    try:
        stage, code = _setns_umount(ns_fd, path)
    finally:
        os.close(ns_fd)
    command = command_of(used, proc) or "exited"
    if stage not in ("ok", "umount"):
        raise RepairError(
            "%s failed for %s in the mount namespace of pid %s (%s): %s. Safe option: stop that "
            "process (kill %s), then run repair again."
            % (
                stage,
                path,
                used,
                command,
                os.strerror(code) if code else "no answer from the helper",
                used,
            )
        )
    present = None
    if _in_namespace(used, namespace, proc):
        present = still_mounted(used, path, mount_id, proc)
        if not _in_namespace(used, namespace, proc):
            present = None  # the process exited (or left) while its table was read
    if present:
        raise RepairError(
            "%s is still mounted in the mount namespace %s of pid %s (%s) after a lazy unmount "
            "(%s). Safe option: stop that process (kill %s), then run repair again."
            % (
                path,
                namespace or "of that process",
                used,
                command,
                "it succeeded but the mount is still there"
                if stage == "ok"
                else "the kernel answered: %s" % os.strerror(code),
                used,
            )
        )
    return stage == "ok"


def clear_attributes(path, roots):
    if not is_inside(path, roots):
        raise RepairError("refusing to change %s: outside the container's own layer" % path)
    flags = get_flags(path)
    if flags is None or not flags & PIN_FLAGS:
        return False
    set_flags(path, flags & ~PIN_FLAGS)
    return True


def execute(steps, client, roots, proc="/proc"):
    """Run the steps in order; returns the descriptions of what was actually done.

    On a failure raises RepairError whose `done` lists the steps done before it."""
    done = []
    for step in steps:
        try:
            if step["action"] == "unmount":
                if umount_in_namespace(
                    step["pid"],
                    step["path"],
                    proc,
                    namespace=step.get("namespace"),
                    mount_id=step.get("mount_id"),
                    pids=step.get("pids") or (),
                ):
                    done.append(describe(step))
            elif step["action"] == "clear attributes":
                if clear_attributes(step["path"], roots):
                    done.append(describe(step))
            else:
                try:
                    # v=False: anonymous volumes stay too; named volumes, binds are never removed.
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
        except RepairError as exc:
            exc.done = list(done)
            raise
        except OSError as exc:
            raise RepairError("%s failed: %s" % (describe(step, planned=True), exc), done) from exc
    return done


def _failure_message(exc, name, repaired):
    parts = [str(exc)]
    parts.append(
        "Already done for %s: %s." % (name, "; ".join(exc.done))
        if exc.done
        else "Nothing was changed for %s." % name
    )
    if repaired:
        parts.append("Repaired before this failure: %s." % ", ".join(r["name"] for r in repaired))
    return " ".join(parts)


def _targets(client, name, proc):
    try:
        reports, scan, found = diagnose_with_containers(client, name, proc=proc)
    except AmbiguousContainer as exc:
        raise UnsafeRepair("nothing was changed: %s" % exc) from exc
    if name:
        return reports, scan, found  # only the container the name resolves to (or none)
    return [r for r in reports if r["state"] in STUCK_STATES], scan, found


def list_stuck(client, proc="/proc"):
    """The dead and removing containers, each with the reason repair would refuse it (None when
    it would not): what repair.yml lists when no container is named. Never raises UnsafeRepair."""
    targets, scan, found = _targets(client, None, proc)
    containers = {c["id"]: c for c in found}
    listed = []
    for report in targets:
        refused = None
        try:
            plan_repair(
                report,
                containers[report["id"]],
                scan["data_root"],
                scan["host_pid"],
                scan["host_namespace"],
            )
        except UnsafeRepair as exc:
            refused = str(exc)
        listed.append(
            {
                "name": report["name"],
                "id": report["id"],
                "state": report["state"],
                "refused": refused,
            }
        )
    return listed


def run_plans(plans, client, data_root, check_mode=False, proc="/proc"):
    """Carry out [(report, container, steps)] in order → result entries. On a failure raises
    RepairError with `repaired` (the containers done before) and `done` (this one's steps)."""
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
            try:
                entry["done"] = execute(steps, client, own_paths(container, data_root), proc)
            except RepairError as exc:
                raise RepairError(
                    _failure_message(exc, report["name"], repaired), exc.done, repaired
                ) from exc
        repaired.append(entry)
    return repaired


def repair(client, name=None, check_mode=False, proc="/proc"):
    """Repair one named container, or every dead/removing one. Returns a result dict:
    {"changed", "repaired": [{"name", "id", "state", "plan", "done"}], "message"}.

    The name is resolved as Docker does (exact name, exact id, unambiguous id prefix); an
    ambiguous prefix raises UnsafeRepair before anything is changed, and a container reached by
    an id prefix is repaired only if it is dead or removing."""
    targets, scan, found = _targets(client, name, proc)
    containers = {c["id"]: c for c in found}
    # A hex name that is no longer there (repaired by the last run) would resolve to another
    # container whose id happens to start with it: remove by id prefix only what is stuck.
    by_prefix = [r for r in targets if name and name.lstrip("/") not in (r["name"], r["id"])]
    if by_prefix and by_prefix[0]["state"] not in STUCK_STATES:
        other = by_prefix[0]
        return {
            "changed": False,
            "repaired": [],
            "message": "No container named %s on this host: nothing to repair. (The id of %s "
            "starts with %s, but it is %s, and repair acts on an id prefix only when that "
            "container is dead or removing; to repair %s, name it: -e container=%s.)"
            % (name, other["name"], name, other["state"], other["name"], other["name"]),
        }
    if not targets:
        return {
            "changed": False,
            "repaired": [],
            "message": "No container named %s on this host: nothing to repair." % name
            if name
            else "No dead or removing container on this host: nothing to repair.",
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
    repaired = run_plans(plans, client, scan["data_root"], check_mode, proc)
    return {
        "changed": bool(repaired),
        "repaired": repaired,
        "message": "%s %s."
        % ("Would repair" if check_mode else "Repaired", ", ".join(r["name"] for r in repaired))
        if repaired
        else "Nothing to repair.",
    }
