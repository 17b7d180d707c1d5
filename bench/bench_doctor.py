"""Benchmark (not a test): a full doctor scan on a busy host, and one stuck-container repair.

Creates 50 lstest-bench-* containers and 200 extra processes (sleep), times a full diagnosis
(median of several runs) and one chattr-pinned container repaired end to end, prints the
figures and removes everything it made. Run as root on a host with the engine and
labstack/base:latest:  .venv/bin/python bench/bench_doctor.py [--containers 50] [--processes 200]
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--containers", type=int, default=50)
    parser.add_argument("--processes", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    client = docker.from_env()
    tag = "lstest-bench-%s" % uuid.uuid4().hex[:6]
    sleepers = []
    made = []
    try:
        t0 = time.monotonic()
        for i in range(args.containers):
            made.append(
                client.containers.run(
                    IMAGE, ["sleep", "3600"], name="%s-%02d" % (tag, i), detach=True
                ).id
            )
        sleepers = [subprocess.Popen(["sleep", "3600"]) for _ in range(args.processes)]
        print(
            "setup: %d containers, %d processes in %.1fs"
            % (args.containers, args.processes, time.monotonic() - t0)
        )

        times = []
        for _ in range(args.runs):
            start = time.monotonic()
            reports, scan = diagnose(client)
            times.append(time.monotonic() - start)
        print(
            "full doctor scan: median %.3fs (min %.3fs, max %.3fs) over %d runs; "
            "%d containers, %d processes, %d mount namespaces on the host"
            % (
                statistics.median(times),
                min(times),
                max(times),
                args.runs,
                scan["containers"],
                scan["processes"],
                scan["namespaces"],
            )
        )

        victim = client.containers.run(IMAGE, ["sleep", "3600"], name=tag + "-victim", detach=True)
        made.append(victim.id)
        upper = client.api.inspect_container(victim.id)["GraphDriver"]["Data"]["UpperDir"]
        pinned = os.path.join(upper, "pinned")
        open(pinned, "w").close()
        subprocess.run(["chattr", "+i", pinned], check=True)
        try:
            client.api.remove_container(victim.id, force=True)
        except docker.errors.APIError as exc:
            print("stuck as expected: %s" % str(exc)[:90])
        start = time.monotonic()
        result = repair(client, tag + "-victim")
        elapsed = time.monotonic() - start
        print(
            "repair of one stuck container (diagnose + clear + remove): %.3fs, steps: %s"
            % (elapsed, result["repaired"][0]["done"])
        )
        start = time.monotonic()
        again = repair(client, tag + "-victim")
        print("second repair run: %.3fs, changed=%s" % (time.monotonic() - start, again["changed"]))
    finally:
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


if __name__ == "__main__":
    main()
