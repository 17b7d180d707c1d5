"""The target's own view reaches the port ledger: listeners and containers' published ports."""

import socket

import pytest
from module_runner import run_module


@pytest.fixture
def stopped_publisher(docker_client):
    name = "lstest-host-facts-stopped"
    for old in docker_client.containers.list(all=True, filters={"name": name}):
        old.remove(force=True)
    image = docker_client.images.get("labstack/base:latest")
    container = docker_client.containers.create(
        image.id, ["sleep", "60"], name=name, ports={"8888/tcp": ("127.0.0.1", 20977)}
    )
    yield container
    container.remove(force=True)


def test_a_stopped_containers_port_and_a_foreign_listener_are_busy(
    docker_client, stopped_publisher, tmp_path
):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    try:
        result = run_module(tmp_path, "lab_host_facts", {"app": "workbench"})
        assert 20977 in result["listening_ports"]  # created, never started: claimed on start
        assert listener.getsockname()[1] in result["listening_ports"]
    finally:
        listener.close()
