"""Run one of the repository's modules as Ansible does: a subprocess reading its args file."""

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Runs a module with the repo's module_utils importable as ansible.module_utils.<name>.
RUNNER = """
import os, runpy, sys
import ansible.module_utils
root = %r
ansible.module_utils.__path__.append(os.path.join(root, "plugins", "module_utils"))
name, args = sys.argv[1], sys.argv[2]
sys.argv = [name, args]
runpy.run_path(os.path.join(root, "plugins", "modules", name + ".py"), run_name="__main__")
""" % (ROOT,)


def start_module(args_dir, name, params, check=False, tag=""):
    """Start the module; returns the Popen (for tests that run several at once)."""
    args = {"ANSIBLE_MODULE_ARGS": dict(params, _ansible_check_mode=check, _ansible_diff=True)}
    args_file = os.path.join(str(args_dir), "args-%s%s.json" % (name, tag))
    with open(args_file, "w") as handle:
        json.dump(args, handle)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    return subprocess.Popen(
        [sys.executable, "-c", RUNNER, name, args_file],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


def result_of(proc):
    out, err = proc.communicate(timeout=300)
    try:
        return json.loads(out)
    except ValueError as exc:
        raise AssertionError("module printed no JSON:\n%s\n%s" % (out, err)) from exc


def run_module(args_dir, name, params, check=False):
    return result_of(start_module(args_dir, name, params, check))
