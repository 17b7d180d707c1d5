"""End to end: the main job on this machine's Docker, checked the way a lab member would."""

import http.client
import os
import uuid

import pytest
import requests
import yaml
from ansible.module_utils.labstack_names import container_name
from labstack_e2e import PORTAL, ROOT, managed_containers, run_playbook


def started_at(container):
    container.reload()
    return container.attrs["State"]["StartedAt"]


def jupyter_session(user):
    """A requests session that holds the workbench's _xsrf cookie, as a browser would."""
    session = requests.Session()
    response = session.get("%s/user/%s/tree" % (PORTAL, user), timeout=30)
    assert response.status_code == 200, response.text[:500]
    session.headers["X-XSRFToken"] = session.cookies.get("_xsrf")
    return session


def test_second_run_changes_nothing_and_recreates_no_container(deployed, docker_client):
    before = {n: (c.id, started_at(c)) for n, c in managed_containers(docker_client).items()}
    _, output, recap = run_playbook("site.yml")
    assert recap is not None, output[-3000:]
    assert recap["changed"] == 0, output[-6000:]
    after = {n: (c.id, started_at(c)) for n, c in managed_containers(docker_client).items()}
    assert after == before


def test_entry_page_lists_every_user_with_a_working_link(deployed):
    page = requests.get(PORTAL + "/", timeout=10)
    assert page.status_code == 200
    for user in deployed:
        assert 'href="/user/%s/"' % user["name"] in page.text
        assert requests.get(PORTAL + "/user/%s/" % user["name"], timeout=30).status_code == 200


def test_each_user_has_one_container_named_after_them_with_a_local_port(deployed, docker_client):
    containers = managed_containers(docker_client)
    with open(os.path.join(ROOT, "inventory/local/port-ledger-localhost.yml")) as handle:
        ledger = yaml.safe_load(handle)["assigned"]
    for user in deployed:
        name = container_name("workbench", user["name"])
        container = containers[name]
        assert container.status == "running"
        labels = container.labels
        assert labels["labstack.user"] == user["name"]
        assert labels["labstack.app"] == "workbench"
        assert labels["labstack.port"] == str(ledger[user["name"]])
        binding = container.attrs["HostConfig"]["PortBindings"]["8888/tcp"][0]
        assert binding == {"HostIp": "127.0.0.1", "HostPort": str(ledger[user["name"]])}
        assert "labstack" in container.attrs["NetworkSettings"]["Networks"]
    assert len(set(ledger.values())) == len(ledger)


def test_workbench_answers_under_the_users_base_path_as_the_users_uid(deployed, docker_client):
    for user in deployed:
        api = requests.get(PORTAL + "/user/%s/api" % user["name"], timeout=30)
        assert api.status_code == 200
        assert "version" in api.json()
        container = docker_client.containers.get(container_name("workbench", user["name"]))
        gid = user.get("gid", user["uid"])
        assert container.attrs["Config"]["User"] == "%d:%d" % (user["uid"], gid)
        top = container.top(ps_args="-o pid,uid,gid,args")
        jupyter = [p for p in top["Processes"] if "jupyter" in p[3]]
        assert jupyter, top
        assert all(p[1] == str(user["uid"]) and p[2] == str(gid) for p in jupyter), top


def test_files_written_in_the_workbench_land_in_the_users_home_owned_by_them(deployed):
    token = uuid.uuid4().hex[:8]
    for user in deployed:
        session = jupyter_session(user["name"])
        filename = "probe-%s.txt" % token
        response = session.put(
            "%s/user/%s/api/contents/%s" % (PORTAL, user["name"], filename),
            json={"type": "file", "format": "text", "content": "hello from %s" % user["name"]},
            timeout=30,
        )
        assert response.status_code in (200, 201), response.text[:500]
        path = os.path.join("/srv/labstack/home", user["name"], filename)
        try:
            st = os.stat(path)
            assert (st.st_uid, st.st_gid) == (user["uid"], user.get("gid", user["uid"]))
            with open(path) as handle:
                assert handle.read() == "hello from %s" % user["name"]
            # Routed to their own container: nobody else's home has the file.
            others = [u["name"] for u in deployed if u["name"] != user["name"]]
            for other in others:
                assert not os.path.exists(os.path.join("/srv/labstack/home", other, filename))
        finally:
            session.delete("%s/user/%s/api/contents/%s" % (PORTAL, user["name"], filename))


def test_homes_are_owned_by_the_users(deployed):
    for user in deployed:
        st = os.stat(os.path.join("/srv/labstack/home", user["name"]))
        assert (st.st_uid, st.st_gid) == (user["uid"], user.get("gid", user["uid"]))
        assert oct(st.st_mode & 0o777) == "0o750"


def test_an_r_kernel_starts_and_its_websocket_passes_the_proxy(deployed):
    user = deployed[-1]["name"]  # Jane.Doe: capitals and a dot in the URL
    session = jupyter_session(user)
    base = "%s/user/%s/api/kernels" % (PORTAL, user)
    kernel = session.post(base, json={"name": "ir"}, timeout=30)
    assert kernel.status_code == 201, kernel.text[:500]
    kernel_id = kernel.json()["id"]
    try:
        conn = http.client.HTTPConnection("127.0.0.1", 8080, timeout=30)
        conn.request(
            "GET",
            "/user/%s/api/kernels/%s/channels" % (user, kernel_id),
            headers={
                "Upgrade": "websocket",
                "Connection": "Upgrade",
                "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
                "Sec-WebSocket-Version": "13",
                "Cookie": "; ".join("%s=%s" % kv for kv in session.cookies.items()),
            },
        )
        response = conn.getresponse()
        assert response.status == 101, (response.status, response.read()[:300])
        assert response.getheader("Upgrade").lower() == "websocket"
        conn.close()
        info = session.get("%s/%s" % (base, kernel_id), timeout=30).json()
        assert info["name"] == "ir"
    finally:
        session.delete("%s/%s" % (base, kernel_id), timeout=30)


def test_restarting_one_user_leaves_everyone_else_running(deployed, docker_client):
    target = deployed[1]["name"]
    names = {u["name"]: container_name("workbench", u["name"]) for u in deployed}
    before = {}
    for user, name in names.items():
        container = docker_client.containers.get(name)
        before[user] = (container.id, started_at(container))
    _, output, recap = run_playbook("playbooks/restart-user.yml", "-e", "user=%s" % target)
    assert recap["changed"] >= 1, output[-3000:]
    for user, name in names.items():
        container = docker_client.containers.get(name)
        now = (container.id, started_at(container))
        if user == target:
            assert now[0] == before[user][0]  # same container, restarted
            assert now[1] != before[user][1]
        else:
            assert now == before[user], user
    assert requests.get(PORTAL + "/user/%s/api" % target, timeout=60).status_code == 200


@pytest.mark.parametrize(
    ("bad_users", "message"),
    [
        (
            [{"name": "alice", "uid": 2001}, {"name": "bob", "uid": 2001}],
            "lab_users[1] 'bob': uid 2001 already used by 'alice'",
        ),
        ([{"name": "bad name", "uid": 2001}], "lab_users[0] 'bad name': user name may contain"),
    ],
)
def test_a_bad_inventory_stops_before_any_change(
    deployed, docker_client, tmp_path, bad_users, message
):
    before = {n: c.id for n, c in managed_containers(docker_client).items()}
    extra = tmp_path / "bad.yml"
    extra.write_text(yaml.safe_dump({"lab_users": bad_users}))
    rc, output, recap = run_playbook("site.yml", "-e", "@%s" % extra, check=False)
    assert rc != 0
    assert message in output
    assert recap["changed"] == 0
    assert {n: c.id for n, c in managed_containers(docker_client).items()} == before


def test_an_at_sign_sent_percent_encoded_still_reaches_the_users_workbench(deployed):
    users = [u["name"] for u in deployed if "@" in u["name"]]
    assert users, "the demo inventory has a user with '@' in the name"
    for user in users:
        encoded = user.replace("@", "%40")
        response = requests.get(PORTAL + "/user/%s/api" % encoded, timeout=30)
        assert response.status_code == 200
        assert response.history and response.history[0].status_code == 301
        assert response.url == PORTAL + "/user/%s/api" % user
