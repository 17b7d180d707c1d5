"""Fixtures for tests that run the real playbooks against this machine's Docker."""

import docker
import pytest
from labstack_e2e import inventory_users, portal_up, run_playbook


@pytest.fixture(scope="session")
def docker_client():
    return docker.from_env()


@pytest.fixture(scope="session")
def deployed():
    """The lab is deployed: `make integration` ran the main job first; if not, run it now."""
    if not portal_up():
        run_playbook("site.yml")
    return inventory_users()
