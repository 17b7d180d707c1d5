"""Shared services behind the portal: listed on the entry page, reached by their path."""

import pytest
import requests
from labstack_e2e import PORTAL, extra_vars_file, managed_containers, run_playbook

NGINX_CONF = "/etc/labstack/portal/nginx.conf"
NOTES = "lstest-notes"
# A service container as a lab runs one: served at / with relative links, on the lab network.
SERVE = (
    "mkdir -p /tmp/site/static && echo 'lab notes live here <a href=\"static/\">static</a>' "
    "> /tmp/site/index.html && echo 'static file' > /tmp/site/static/index.html "
    "&& exec python3 -m http.server 8000 --directory /tmp/site"
)


@pytest.fixture
def notes_service(docker_client):
    for old in docker_client.containers.list(all=True, filters={"name": NOTES}):
        old.remove(force=True)
    image = docker_client.images.list(filters={"label": "labstack.image=workbench"})[0]
    container = docker_client.containers.run(
        image.id,
        ["sh", "-c", SERVE],
        name=NOTES,
        network="labstack",
        user="65534:65534",
        entrypoint=[],
        detach=True,
    )
    yield container
    container.remove(force=True)


def services_file(tmp_path, services):
    return extra_vars_file(tmp_path, lab_services=services)


@pytest.fixture
def restore_services():
    yield
    run_playbook("site.yml")  # back to the shipped inventory: no services


def test_a_service_is_listed_and_routed_and_a_dead_one_is_reported(
    deployed, docker_client, notes_service, tmp_path, restore_services
):
    before = {n: c.id for n, c in managed_containers(docker_client).items()}
    services = [
        {"name": "Notes", "path": "/notes/", "upstream": NOTES + ":8000", "description": "Wiki"},
        {"name": "Adminer", "path": "/adminer/", "upstream": "lstest-no-such-service:8080"},
    ]
    _, output, _ = run_playbook("site.yml", "-e", services_file(tmp_path, services))

    page = requests.get(PORTAL + "/", timeout=10).text
    assert '<a href="/notes/">Notes</a>' in page
    assert '<a href="/adminer/">Adminer</a>' in page
    notes = requests.get(PORTAL + "/notes/", timeout=30)
    assert notes.status_code == 200
    assert "lab notes live here" in notes.text
    # The prefix is stripped for the container and its relative links still work.
    assert requests.get(PORTAL + "/notes/static/", timeout=30).text == "static file\n"
    bare = requests.get(PORTAL + "/notes", timeout=30, allow_redirects=False)
    assert (bare.status_code, bare.headers["Location"].endswith("/notes/")) == (302, True)
    # A service that is not running is named, and the deploy went on.
    assert "/adminer/" in output and "did not answer" in output
    assert "start their containers on the labstack network" in output
    # Routes changed by a reload: nobody's workbench was recreated.
    assert {n: c.id for n, c in managed_containers(docker_client).items()} == before


def test_a_bad_service_route_stops_before_the_portal_changes(deployed, tmp_path):
    with open(NGINX_CONF) as handle:
        config = handle.read()
    services = [{"name": "Bad", "path": "/bad/ { return 200; } location /x/", "upstream": "x:1"}]
    rc, output, _ = run_playbook("site.yml", "-e", services_file(tmp_path, services), check=False)
    assert rc != 0
    assert "lab_services[0] 'Bad': path must look like /name/" in output
    assert "nothing was changed" in output
    with open(NGINX_CONF) as handle:
        assert handle.read() == config
    assert requests.get(PORTAL + "/healthz", timeout=10).status_code == 200
