"""Benchmark (not a test): a full doctor scan on a busy host, and one stuck-container repair.

Representative of the hosts the doctor is for: 50 lstest-bench-* containers, 200 extra host
processes, and holders in many mount namespaces (unshare -m, each namespace with several
processes; two thirds private copies, one third slaves of the host's mounts), started after the
containers so every namespace carries a copy of every container's mounts. Times a full
diagnosis, a one-container diagnosis and the manual baseline it replaces (grep of every
process's mountinfo for the layer id), then one chattr-pinned container whose shm is held in
every private namespace, repaired end to end. Removes everything it made.

Run as root on a host with the engine and labstack/base:latest:
  .venv/bin/python bench/bench_doctor.py [--containers 50] [--processes 200] [--namespaces 30]
bench/run.py (make bench) runs it too and prints it next to its baseline.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
import uuid

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))
import conftest  # noqa: E402, F401  (makes module_utils importable as ansible.module_utils.*)
import docker  # noqa: E402
from ansible.module_utils.labstack_doctor import diagnose  # noqa: E402
from ansible.module_utils.labstack_repair import repair  # noqa: E402

IMAGE = "labstack/base:latest"
PER_NAMESPACE = 3  # processes in each holder namespace


def _median(fn, runs):
    times = []
    result = None
    for _ in range(runs):
        start = time.monotonic()
        result = fn()
        times.append(time.monotonic() - start)
    return statistics.median(times), min(times), max(times), result


def _start_namespace(propagation):
    script = "sleep 3600 & sleep 3600 & exec sleep 3600"
    return subprocess.Popen(
        ["unshare", "-m", "--propagation", propagation, "--fork", "sh", "-c", script],
        start_new_session=True,
    )


def _wait_namespaces(procs, host_ns, want):
    """Until `want` namespaces other than the host's have all their processes."""
    for _ in range(200):
        found = {}
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % pid, "rb") as handle:
                    if handle.read() != b"sleep\x003600\x00":
                        continue
                ns = os.readlink("/proc/%s/ns/mnt" % pid)
            except OSError:
                continue
            if ns != host_ns:
                found.setdefault(ns, []).append(int(pid))
        full = [ns for ns, pids in found.items() if len(pids) >= PER_NAMESPACE]
        if len(full) >= want:
            return
        time.sleep(0.05)
    raise RuntimeError("the holder namespaces did not start")


def _stop(proc):
    try:
        os.killpg(proc.pid, 9)
    except ProcessLookupError:
        pass
    proc.wait()


def run(containers=50, processes=200, namespaces=30, runs=5, log=print):
    """Set up, measure, clean up → {label: seconds} plus the scan facts under "scan"."""
    client = docker.from_env()
    tag = "lstest-bench-%s" % uuid.uuid4().hex[:6]
    sleepers, holders, made = [], [], []
    figures = {}
    try:
        t0 = time.monotonic()
        for i in range(containers):
            made.append(
                client.containers.run(
                    IMAGE, ["sleep", "3600"], name="%s-%02d" % (tag, i), detach=True
                ).id
            )
        victim = client.containers.run(
            IMAGE, ["sleep", "3600"], name=tag + "-victim", detach=True, ipc_mode="shareable"
        )
        made.append(victim.id)
        sleepers = [subprocess.Popen(["sleep", "3600"]) for _ in range(processes)]
        host_ns = os.readlink("/proc/self/ns/mnt")
        private = namespaces - namespaces // 3
        holders = [_start_namespace("private") for _ in range(private)]
        holders += [_start_namespace("slave") for _ in range(namespaces - private)]
        _wait_namespaces(holders, host_ns, namespaces)
        log(
            "setup: %d containers, %d host processes, %d holder namespaces x %d processes "
            "(%d private, %d slave) in %.1fs"
            % (
                containers + 1,
                processes,
                namespaces,
                PER_NAMESPACE,
                private,
                namespaces - private,
                time.monotonic() - t0,
            )
        )

        med, low, high, (reports, scan) = _median(lambda: diagnose(client), runs)
        figures["full doctor scan"] = med
        figures["scan"] = scan
        blocked = sum(1 for r in reports if r["holders"])
        log(
            "full doctor scan: median %.3fs (min %.3fs, max %.3fs) over %d runs; %d containers, "
            "%d processes, %d mount namespaces, %d containers with holders"
            % (
                med,
                low,
                high,
                runs,
                scan["containers"],
                scan["processes"],
                scan["namespaces"],
                blocked,
            )
        )
        med, _, _, (named, _) = _median(lambda: diagnose(client, tag + "-victim"), runs)
        figures["doctor, one container"] = med
        log(
            "one-container doctor: median %.3fs; %d holders, %d slave copies"
            % (med, len(named[0]["holders"]), len(named[0]["slave_copies"]))
        )
        layer = os.path.basename(
            os.path.dirname(
                client.api.inspect_container(victim.id)["GraphDriver"]["Data"]["UpperDir"]
            )
        )
        grep = "grep -l %s /proc/[0-9]*/mountinfo 2>/dev/null | wc -l" % layer

        def baseline():
            return subprocess.run(
                ["sh", "-c", grep], capture_output=True, text=True, check=False
            ).stdout.strip()

        med, _, _, out = _median(baseline, runs)
        figures["baseline: grep /proc/*/mountinfo"] = med
        log(
            "baseline, grep -l <layer> /proc/*/mountinfo (one container, no propagation, no "
            "unit, no pinned files): median %.3fs, %s processes listed" % (med, out)
        )

        upper = client.api.inspect_container(victim.id)["GraphDriver"]["Data"]["UpperDir"]
        pinned = os.path.join(upper, "pinned")
        open(pinned, "w").close()
        subprocess.run(["chattr", "+i", pinned], check=True)
        try:
            client.api.remove_container(victim.id, force=True)
        except docker.errors.APIError as exc:
            log("stuck as expected: %s" % str(exc)[:90])
        start = time.monotonic()
        result = repair(client, tag + "-victim")
        figures["repair, one stuck container"] = time.monotonic() - start
        done = result["repaired"][0]["done"]
        log(
            "repair of one stuck container (diagnose + %d unmounts + clear + remove): %.3fs"
            % (
                sum(1 for d in done if d.startswith("unmounted")),
                figures["repair, one stuck container"],
            )
        )
        start = time.monotonic()
        again = repair(client, tag + "-victim")
        figures["second repair run"] = time.monotonic() - start
        log(
            "second repair run: %.3fs, changed=%s"
            % (figures["second repair run"], again["changed"])
        )
    finally:
        for proc in holders:
            _stop(proc)
        for proc in sleepers:
            proc.kill()
            proc.wait()
        for cid in made:
            try:
                client.api.remove_container(cid, force=True)
            except docker.errors.NotFound:
                pass
            except docker.errors.APIError:
                upper = client.api.inspect_container(cid)["GraphDriver"]["Data"]["UpperDir"]
                subprocess.run(["chattr", "-R", "-i", upper], check=False)
                client.api.remove_container(cid, force=True)
    return figures


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=50)
    parser.add_argument("--processes", type=int, default=200)
    parser.add_argument("--namespaces", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    run(args.containers, args.processes, args.namespaces, args.runs)


if __name__ == "__main__":
    main()
