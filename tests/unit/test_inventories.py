"""Both shipped inventories pass the preflight; a broken copy is stopped with the entry named."""

import os
import shutil
import subprocess

import pytest
import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def preflight(inventory):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    return subprocess.run(
        [
            os.path.join(ROOT, ".venv", "bin", "ansible-playbook"),
            "-i",
            inventory,
            os.path.join(ROOT, "playbooks", "preflight.yml"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("inventory", ["inventory/local", "inventory/example"])
def test_shipped_inventories_pass_the_preflight(inventory):
    proc = preflight(os.path.join(ROOT, inventory))
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "failed=0" in proc.stdout


def test_a_broken_inventory_names_the_entry_and_the_rule(tmp_path):
    copy = tmp_path / "inv"
    shutil.copytree(os.path.join(ROOT, "inventory/example"), copy)
    users_file = copy / "group_vars" / "all" / "users.yml"
    users = yaml.safe_load(users_file.read_text())
    users["lab_users"].append({"name": "Alice Smith", "uid": 1502})
    users_file.write_text(yaml.safe_dump(users))
    proc = preflight(str(copy))
    assert proc.returncode != 0
    assert "lab_users[3] 'Alice Smith': user name may contain only" in proc.stdout


def test_the_example_never_becomes_root_on_the_controller():
    # The preflight and the ledger are delegated to localhost; inventory variables outrank the
    # tasks' `become: false`, so an ansible_become inherited from `all` would sudo there.
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1")
    facts = {}
    for host in ("localhost", "labsrv1.example.org", "labsrv2.example.org"):
        proc = subprocess.run(
            [
                os.path.join(ROOT, ".venv", "bin", "ansible"),
                "-i",
                os.path.join(ROOT, "inventory/example"),
                host,
                "-m",
                "ansible.builtin.debug",
                "-a",
                "var=ansible_become",
                "-o",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, proc.stdout + proc.stderr
        facts[host] = proc.stdout
    assert '"ansible_become": true' in facts["labsrv1.example.org"]
    assert '"ansible_become": true' in facts["labsrv2.example.org"]
    assert '"ansible_become": true' not in facts["localhost"]


def test_a_yaml_syntax_error_is_named_with_its_file_and_line(tmp_path):
    # Ansible 2.19 says only "YAML parsing failed"; `make site` checks the syntax first.
    copy = tmp_path / "inv"
    shutil.copytree(os.path.join(ROOT, "inventory/local"), copy)
    users = copy / "group_vars" / "all" / "users.yml"
    users.write_text("lab_users:\n  - name: alice\n    uid: 2001\n     gid: 5\n")
    proc = subprocess.run(
        ["make", "-s", "check-inventory", "INVENTORY=%s" % copy],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode != 0
    assert "%s:4:9: [error] syntax error" % users in proc.stdout
    assert "does not parse; fix it and rerun" in proc.stderr
