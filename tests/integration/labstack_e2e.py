"""Helpers for tests that run the real playbooks against this machine's Docker."""

import json
import os
import re
import subprocess
import urllib.request

import docker
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.join(ROOT, ".venv", "bin")
PORTAL = "http://127.0.0.1:8080"


def inventory_users():
    with open(os.path.join(ROOT, "inventory/local/group_vars/all/users.yml")) as handle:
        return yaml.safe_load(handle)["lab_users"]


def run_playbook(*args, check=True):
    """Run ansible-playbook from the repo root; return (returncode, output, recap dict)."""
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    cmd = [os.path.join(VENV_BIN, "ansible-playbook"), *args]
    proc = subprocess.run(
        cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=1800, check=False
    )
    output = proc.stdout + proc.stderr
    match = re.search(
        r"localhost\s+: ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", output
    )
    recap = None
    if match:
        recap = dict(zip(("ok", "changed", "unreachable", "failed"), map(int, match.groups())))
    if check and proc.returncode != 0:
        raise AssertionError(
            "%s failed (rc=%d):\n%s" % (" ".join(args), proc.returncode, output[-6000:])
        )
    return proc.returncode, output, recap


def extra_vars_file(tmp_path, **variables):
    """Write variables to a file and return the `-e @file` argument that overrides them."""
    path = tmp_path / ("extra-%s.yml" % "-".join(sorted(variables)))
    path.write_text(yaml.safe_dump(variables))
    return "@%s" % path


def pin_in_layer(client, container_id):
    """cases/stuck-container.md: an immutable file in the container's upper dir, then a removal
    that fails with "operation not permitted" and leaves it "Removal In Progress". Returns the
    pinned file's path."""
    upper = client.api.inspect_container(container_id)["GraphDriver"]["Data"]["UpperDir"]
    pinned = os.path.join(upper, "pinned")
    with open(pinned, "w") as handle:
        handle.write("x")
    subprocess.run(["chattr", "+i", pinned], check=True)
    try:
        client.api.remove_container(container_id, force=True)
    except docker.errors.APIError as exc:
        assert "operation not permitted" in str(exc), exc
    else:
        raise AssertionError("the pinned container %s was removed" % container_id)
    return pinned


def portal_up():
    try:
        with urllib.request.urlopen(PORTAL + "/healthz", timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def managed_containers(client):
    """The demo lab's containers (other tests' lstest-* containers share this engine)."""
    found = client.containers.list(all=True, filters={"label": "labstack.managed=true"})
    return {c.name: c for c in found if not c.name.startswith("lstest")}


def dump(obj):
    return json.dumps(obj, indent=2, sort_keys=True)
