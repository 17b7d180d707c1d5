#!/usr/bin/env python3
"""Benchmarks, printed side by side with their baselines.

reconcile: a rerun that changes nothing, for N users, with labstack's one-call module vs. the
per-user docker_container loop it replaces (and the figures the lab measured by hand).
Containers run `sleep infinity` from labstack/base: reconcile cost does not depend on the app.
Everything the benchmark creates is named bench*/benchloop-* and removed at the end.

doctor: bench/bench_doctor.py on a busy host (containers, host processes, holders in many
mount namespaces), next to the manual diagnosis it replaces (grep -l <layer> /proc/*/mountinfo).

  python bench/run.py [--only reconcile|doctor]
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import docker

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PLAYBOOK = os.path.join(ROOT, ".venv", "bin", "ansible-playbook")
HOME_ROOT = "/srv/labstack/bench-home"
IMAGE = "labstack/base:latest"
# Measured by the lab before labstack (issue 2): 30-user rerun that changes nothing.
BASELINE_LOOP_30 = 24.5
BASELINE_COMPOSE_30 = 1.3


def inventory(tmp, users):
    path = os.path.join(tmp, "hosts.yml")
    lines = [
        "all:",
        "  children:",
        "    bench:",
        "      hosts:",
        "        localhost:",
        "          ansible_connection: local",
        '          ansible_python_interpreter: "{{ ansible_playbook_python }}"',
        "      vars:",
        "        lab_home_root: %s" % HOME_ROOT,
        "        lab_port_range: {start: 21000, end: 21999}",
        "        lab_bind_address: 127.0.0.1",
        "        lab_url_prefix: /user",
        "        lab_shared_mounts: []",
        "        lab_ledger_name: bench",
        "        bench_image: %s" % IMAGE,
        "        user_containers_network: labstack-bench",
        "        user_containers_app:",
        "          name: bench",
        "          image: %s" % IMAGE,
        "          container_port: 8888",
        "          command: [sleep, infinity]",
        "        lab_users:",
    ]
    lines += ["          - {name: user%02d, uid: %d}" % (i, 5000 + i) for i in range(users)]
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
    return path


def play(inv, playbook):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    start = time.monotonic()
    proc = subprocess.run(
        [PLAYBOOK, "-i", inv, os.path.join(ROOT, "bench", playbook)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit("%s failed:\n%s" % (playbook, (proc.stdout + proc.stderr)[-4000:]))
    changed = int(re.search(r"changed=(\d+)", proc.stdout).group(1))
    return elapsed, changed


def cleanup(client):
    for container in client.containers.list(all=True):
        if container.name.startswith(("bench-", "benchloop-")):
            container.remove(force=True)
    for network in client.networks.list(names=["labstack-bench"]):
        network.remove()
    shutil.rmtree(HOME_ROOT, ignore_errors=True)


def doctor(args):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_doctor  # noqa: PLC0415  (imports the plugins; only needed here)

    figures = bench_doctor.run(
        containers=args.containers,
        processes=args.processes,
        namespaces=args.namespaces,
        runs=args.repeat,
        log=lambda line: print("  " + line),
    )
    scan = figures["scan"]
    print(
        "\nDoctor on a busy host (%d containers, %d processes in %d mount namespaces; median of %d"
        " runs; this machine: %d cores)\n"
        % (scan["containers"], scan["processes"], scan["namespaces"], args.repeat, os.cpu_count())
    )
    print("%-40s %10s %10s  %s" % ("", "labstack", "baseline", "baseline is"))
    rows = [
        (
            "holders of one container",
            figures["doctor, one container"],
            "%.3fs" % figures["baseline: grep /proc/*/mountinfo"],
            "grep -l <layer> /proc/*/mountinfo (lists the host's own processes too; no "
            "propagation, unit, strays or pinned files)",
        ),
        ("full scan, every container", figures["full doctor scan"], "-", "no manual equivalent"),
        (
            "repair one stuck container",
            figures["repair, one stuck container"],
            "-",
            "a reboot (the lab's practice before labstack)",
        ),
        ("second repair run (no change)", figures["second repair run"], "-", ""),
    ]
    for label, ours, base, what in rows:
        print("%-40s %9.3fs %10s  %s" % (label, ours, base, what))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--only", choices=("reconcile", "doctor"))
    parser.add_argument("--containers", type=int, default=50, help="doctor: containers")
    parser.add_argument("--processes", type=int, default=200, help="doctor: host processes")
    parser.add_argument("--namespaces", type=int, default=30, help="doctor: holder namespaces")
    args = parser.parse_args()
    if args.only != "reconcile":
        doctor(args)
    if args.only != "doctor":
        reconcile(args)


def reconcile(args):
    client = docker.from_env()
    cleanup(client)
    tmp = tempfile.mkdtemp(prefix="labstack-bench.")
    try:
        inv = inventory(tmp, args.users)
        rows = []
        for label, playbook in (
            ("labstack (one module call)", "users-reconcile.yml"),
            ("docker_container loop", "users-loop.yml"),
        ):
            cold, _ = play(inv, playbook)
            reruns = [play(inv, playbook) for _ in range(args.repeat)]
            times = [t for t, _ in reruns]
            rows.append((label, cold, statistics.median(times), max(c for _, c in reruns)))
        print(
            "\nReconcile %d users (median of %d reruns; this machine: %d cores)\n"
            % (args.users, args.repeat, os.cpu_count())
        )
        print("%-30s %10s %12s %10s" % ("", "first run", "rerun", "changed"))
        for label, cold, rerun, changed in rows:
            print("%-30s %9.1fs %11.1fs %10d" % (label, cold, rerun, changed))
        scale = args.users / 30.0
        print(
            "%-30s %10s %11.1fs %10s"
            % ("lab's loop (measured, issue 2)", "-", BASELINE_LOOP_30 * scale, "-")
        )
        print(
            "%-30s %10s %11.1fs %10s"
            % ("lab's docker-compose (issue 2)", "-", BASELINE_COMPOSE_30 * scale, "-")
        )
    finally:
        cleanup(client)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
