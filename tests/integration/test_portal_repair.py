"""A stuck portal container is repaired and recreated by the main job; no workbench is touched."""

import os
import subprocess

import pytest
import requests
from labstack_e2e import PORTAL, managed_containers, pin_in_layer, portal_up, run_playbook

PORTAL_NAME = "labstack-portal"


@pytest.fixture
def stuck_portal(deployed, docker_client):
    """The reproduction from cases/stuck-container.md, on the portal itself."""
    portal = docker_client.containers.get(PORTAL_NAME)
    pinned = pin_in_layer(docker_client, portal.id)
    yield portal, pinned
    if os.path.exists(pinned):  # the test failed half-way: never leave a stuck portal behind
        subprocess.run(["chattr", "-i", pinned], check=False)
        docker_client.api.remove_container(portal.id, force=True)
    if not portal_up():
        run_playbook("site.yml")


def test_the_main_job_repairs_a_stuck_portal_and_recreates_it(docker_client, stuck_portal):
    portal, pinned = stuck_portal
    listed = docker_client.api.containers(all=True, filters={"name": "^/%s$" % PORTAL_NAME})
    assert [c["State"] for c in listed] == ["removing"]
    workbenches = {
        n: c.id for n, c in managed_containers(docker_client).items() if n != PORTAL_NAME
    }

    _, output, _ = run_playbook("site.yml")

    assert "cleared the i attribute of %s" % pinned in output
    assert "removed container %s (%s), volumes kept" % (PORTAL_NAME, portal.id[:12]) in output
    new = docker_client.containers.get(PORTAL_NAME)
    assert new.id != portal.id
    assert new.status == "running"
    assert requests.get(PORTAL + "/", timeout=30).status_code == 200
    assert {
        n: c.id for n, c in managed_containers(docker_client).items() if n != PORTAL_NAME
    } == workbenches
