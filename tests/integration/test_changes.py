"""Changing one user's entry touches that user only, and a bad change loses nothing."""

import copy
import os
import shutil

import pytest
import requests
import yaml
from ansible.module_utils.labstack_names import container_name
from labstack_e2e import PORTAL, ROOT, extra_vars_file, inventory_users, run_playbook

DATA = "/srv/labstack-test-data/alice-project"
LEDGER = os.path.join(ROOT, "inventory/local/port-ledger-localhost.yml")


def ids(client, users):
    return {
        u["name"]: client.containers.get(container_name("workbench", u["name"])).id for u in users
    }


def override(tmp_path, users):
    return extra_vars_file(tmp_path, lab_users=users)


@pytest.fixture
def restore_lab():
    yield
    shutil.rmtree(os.path.dirname(DATA), ignore_errors=True)
    run_playbook("site.yml")  # back to the shipped inventory


def test_a_new_data_mount_recreates_only_that_user_and_a_missing_source_loses_nothing(
    deployed, docker_client, tmp_path, restore_lab
):
    users = copy.deepcopy(inventory_users())
    users[0]["data"] = [{"src": DATA, "dest": "/data/project", "mode": "ro"}]
    extra = override(tmp_path, users)
    before = ids(docker_client, users)

    # The source does not exist yet: alice is left as she was, the others untouched.
    rc, output, _ = run_playbook("site.yml", "-e", extra, check=False)
    assert rc != 0
    assert "alice: mount source %s does not exist on the host" % DATA in output
    assert ids(docker_client, users) == before
    assert not os.path.exists(DATA)  # Docker did not create an empty one

    os.makedirs(DATA)
    with open(os.path.join(DATA, "readme.txt"), "w") as handle:
        handle.write("shared data\n")
    _, output, _ = run_playbook("site.yml", "-e", extra)
    assert "alice: recreate workbench-alice (spec changed" in output  # the run says what it did
    after = ids(docker_client, users)
    assert after["alice"] != before["alice"]
    assert {k: v for k, v in after.items() if k != "alice"} == {
        k: v for k, v in before.items() if k != "alice"
    }
    alice = docker_client.containers.get(container_name("workbench", "alice"))
    assert alice.name == "workbench-alice"  # renamed from its staging name
    assert alice.exec_run("cat /data/project/readme.txt").output == b"shared data\n"
    assert requests.get(PORTAL + "/user/alice/api", timeout=60).status_code == 200


# A user the tests add and never deploy: not a name an admin would put in the demo inventory.
PENDING = {"name": "lstest-pending", "uid": 2999}


def test_restart_user_ignores_other_pending_inventory_edits(deployed, docker_client, tmp_path):
    users = copy.deepcopy(inventory_users()) + [PENDING]
    with open(LEDGER) as handle:
        ledger_before = handle.read()
    before = ids(docker_client, inventory_users())
    run_playbook("playbooks/restart-user.yml", "-e", "user=alice", "-e", override(tmp_path, users))
    assert not docker_client.containers.list(all=True, filters={"name": "workbench-lstest-pending"})
    assert not os.path.exists("/srv/labstack/home/lstest-pending")
    assert ids(docker_client, inventory_users()) == before
    with open(LEDGER) as handle:
        assert handle.read() == ledger_before


def test_restart_user_refuses_a_user_without_a_container(deployed, docker_client, tmp_path):
    users = copy.deepcopy(inventory_users()) + [PENDING]
    before = ids(docker_client, inventory_users())
    rc, output, _ = run_playbook(
        "playbooks/restart-user.yml",
        "-e",
        "user=lstest-pending",
        "-e",
        override(tmp_path, users),
        check=False,
    )
    assert rc != 0
    assert "lstest-pending: has no container yet; add new users with site.yml" in output
    assert not docker_client.containers.list(all=True, filters={"name": "workbench-lstest-pending"})
    assert ids(docker_client, inventory_users()) == before


def test_a_lost_ledger_is_rebuilt_from_the_containers_labels(deployed, docker_client):
    with open(LEDGER) as handle:
        assigned = yaml.safe_load(handle)["assigned"]
    before = ids(docker_client, inventory_users())
    os.rename(LEDGER, LEDGER + ".lost")
    try:
        _, output, _ = run_playbook("site.yml")
        with open(LEDGER) as handle:
            assert yaml.safe_load(handle)["assigned"] == assigned
        assert "recover %d for alice from its container label" % assigned["alice"] in output
        assert ids(docker_client, inventory_users()) == before
    finally:
        if os.path.exists(LEDGER + ".lost"):
            os.replace(LEDGER + ".lost", LEDGER)
