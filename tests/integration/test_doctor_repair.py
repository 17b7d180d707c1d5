"""Doctor and repair on the real engine: a chattr-pinned stuck container, namespace holders.

Needs root and a running Docker engine with labstack/base:latest (CI: after the main job).
Everything created here is named lstest-doctor-<random>-* and removed in teardown; repair is
always run with -e container=<ours> so other people's containers on the engine are never touched.
"""

import json
import os
import subprocess
import sys
import time
import uuid

import pytest
from ansible.module_utils.labstack_doctor import diagnose, get_flags
from ansible.module_utils.labstack_repair import repair

docker = pytest.importorskip("docker")
NotFound = docker.errors.NotFound

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
VENV_BIN = os.path.dirname(sys.executable)  # the venv bin, not the resolved interpreter
IMAGE = "labstack/base:latest"

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and the Docker engine")


@pytest.fixture(scope="module")
def client():
    c = docker.from_env()
    c.images.get(IMAGE)
    return c


@pytest.fixture
def prefix(client):
    tag = "lstest-doctor-%s" % uuid.uuid4().hex[:6]
    yield tag
    remove_ours(client, {"name": tag}, tag)
    for volume in client.volumes.list(filters={"name": tag}):
        if volume.name.startswith(tag):
            volume.remove(force=True)


def remove_ours(client, filters, tag):
    """Teardown: release anything we pinned, then remove our containers (never anyone else's)."""
    for item in client.api.containers(all=True, filters=filters):
        name = item["Names"][0].lstrip("/")
        if not name.startswith(tag):
            continue
        try:
            upper = client.api.inspect_container(item["Id"])["GraphDriver"]["Data"]["UpperDir"]
            subprocess.run(["chattr", "-R", "-i", "-a", upper], check=False, capture_output=True)
        except (NotFound, KeyError, TypeError):
            pass
        try:
            client.api.remove_container(item["Id"], force=True)
        except NotFound:
            pass


def run_container(client, name, **kwargs):
    return client.containers.run(IMAGE, ["sleep", "1000"], name=name, detach=True, **kwargs)


def playbook(name, *args, check=False):
    """Run one of our playbooks; returns (rc, results of the tasks that ran), json callback."""
    env = dict(os.environ, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json", ANSIBLE_FORCE_COLOR="0")
    env["ANSIBLE_CONFIG"] = os.path.join(ROOT, "ansible.cfg")
    cmd = [os.path.join(VENV_BIN, "ansible-playbook"), "playbooks/%s" % name, *args]
    if check:
        cmd.append("--check")
    proc = subprocess.run(
        cmd, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    start = proc.stdout.index("\n{\n") + 1
    data, _ = json.JSONDecoder().raw_decode(proc.stdout[start:])
    tasks = data["plays"][0]["tasks"]
    results = [t["hosts"]["localhost"] for t in tasks]
    return proc.returncode, [r for r in results if not r.get("skipped")]


def make_stuck(client, name, **kwargs):
    """The reproduction from cases/stuck-container.md: an immutable file in the upper dir."""
    victim = run_container(client, name, **kwargs)
    upper = client.api.inspect_container(victim.id)["GraphDriver"]["Data"]["UpperDir"]
    pinned = os.path.join(upper, "pinned")
    with open(pinned, "w") as handle:
        handle.write("x")
    subprocess.run(["chattr", "+i", pinned], check=True)
    with pytest.raises(docker.errors.APIError, match="operation not permitted"):
        client.api.remove_container(victim.id, force=True)
    return victim, pinned


def test_pinned_container_is_diagnosed_and_repaired_through_the_playbooks(client, prefix, tmp_path):
    bystander = run_container(client, prefix + "-bystander")
    volume = prefix + "-vol"
    host_data = tmp_path / "host-data"
    host_data.mkdir()
    (host_data / "results.csv").write_text("a,b\n1,2\n")
    name = prefix + "-victim"
    victim, pinned = make_stuck(
        client,
        name,
        volumes={volume: {"bind": "/data", "mode": "rw"}, str(host_data): {"bind": "/host"}},
    )
    assert client.api.containers(all=True, filters={"id": victim.id})[0]["State"] == "removing"

    # Doctor (read-only, --check): names the container, its state, the pinned file and kind.
    rc, (diag, printed) = playbook("doctor.yml", "-e", "container=" + name, check=True)
    assert rc == 0
    assert diag["changed"] is False
    (report,) = diag["affected"]
    assert report["name"] == name
    assert report["id"] == victim.id
    assert report["state"] == "removing"
    assert report["blockers"] == {"holder": 0, "stray mount": 0, "pinned file": 1}
    assert report["pinned_files"] == [{"path": pinned, "attributes": "i"}]
    assert "operation not permitted" in report["error"]
    assert "device or resource busy" not in report["error"]
    assert report["next_step"] == "Run: ansible-playbook playbooks/repair.yml -e container=" + name
    assert "  pinned file: %s (immutable attribute)" % pinned in printed["msg"]

    # Repair under --check plans but changes nothing.
    rc, (planned, _) = playbook("repair.yml", "-e", "container=" + name, check=True)
    assert rc == 0
    assert planned["repaired"][0]["plan"][0] == "clear the i attribute of %s" % pinned
    assert planned["repaired"][0]["done"] == []
    assert get_flags(pinned) & 0x10
    assert client.api.inspect_container(victim.id)["Id"] == victim.id

    # Repair: clears the attribute in that layer only, removes the container, keeps the data.
    rc, (done, printed) = playbook("repair.yml", "-e", "container=" + name)
    assert rc == 0
    assert done["changed"] is True
    assert done["repaired"][0]["done"] == [
        "cleared the i attribute of %s" % pinned,
        "removed container %s (%s), volumes kept" % (name, victim.id[:12]),
    ]
    with pytest.raises(NotFound):
        client.api.inspect_container(victim.id)
    assert client.api.inspect_container(bystander.name)["Id"] == bystander.id
    assert client.api.inspect_container(bystander.id)["State"]["Running"] is True
    assert client.volumes.get(volume).name == volume
    assert (host_data / "results.csv").read_text() == "a,b\n1,2\n"

    # A second run does nothing.
    rc, (again, printed) = playbook("repair.yml", "-e", "container=" + name)
    assert rc == 0
    assert again["changed"] is False
    assert printed["msg"] == ["No container named %s on this host: nothing to repair." % name]
    rc, (_, printed) = playbook("doctor.yml", "-e", "container=" + bystander.name, check=True)
    assert printed["msg"][0].startswith("No stuck or blocked container named " + bystander.name)


def start_in_namespace(propagation):
    proc = subprocess.Popen(["unshare", "-m", "--propagation", propagation, "sleep", "1000"])
    own = os.readlink("/proc/self/ns/mnt")
    for _ in range(100):
        try:
            ns = os.readlink("/proc/%d/ns/mnt" % proc.pid)
            with open("/proc/%d/cmdline" % proc.pid, "rb") as handle:
                cmdline = handle.read()
        except OSError:
            ns, cmdline = own, b""
        if ns != own and cmdline == b"sleep\x001000\x00":
            return proc, ns
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("unshare did not start")


@pytest.fixture
def namespaced():
    started = []

    def start(propagation):
        proc, ns = start_in_namespace(propagation)
        started.append(proc)
        return proc, ns

    yield start
    for proc in started:
        proc.kill()
        proc.wait()


def mount_points(pid):
    with open("/proc/%d/mountinfo" % pid) as handle:
        return {line.split()[4] for line in handle}


def test_private_namespace_holder_is_reported_and_released_slave_is_not(client, prefix, namespaced):
    name = prefix + "-held"
    # ipc shareable: the container's shm is mounted on the host, so holders copy it too.
    held = run_container(client, name, ipc_mode="shareable")
    detail = client.api.inspect_container(held.id)
    merged = detail["GraphDriver"]["Data"]["MergedDir"]
    shm = "/var/lib/docker/containers/%s/mounts/shm" % held.id
    private, private_ns = namespaced("private")
    slave, slave_ns = namespaced("slave")
    assert merged in mount_points(private.pid)

    reports, scan = diagnose(client, name)
    (report,) = reports
    assert report["state"] == "running"
    (holder,) = report["holders"]
    assert holder["pid"] == private.pid
    assert holder["command"] == "sleep 1000"
    assert holder["namespace"] == private_ns
    assert holder["namespace"] != scan["host_namespace"]
    assert holder["propagation"] == "private"
    assert {m["mount_point"] for m in holder["mounts"]} >= {merged, shm}
    slaves = {h["pid"]: h for h in report["slave_copies"]}
    assert slaves[slave.pid]["namespace"] == slave_ns
    assert slaves[slave.pid]["blocking"] is False
    assert slave.pid not in [h["pid"] for h in report["holders"]]

    # Stopped: this kernel detaches the merged copy when Docker removes the directory, but the
    # private copy of the container's shm stays behind. Repair unmounts it inside the holder's
    # namespace (setns), then removes the container.
    held.stop(timeout=1)
    assert merged not in mount_points(private.pid)
    assert shm in mount_points(private.pid)
    assert shm not in mount_points(slave.pid)
    (stopped,) = diagnose(client, name)[0]
    assert stopped["state"] == "exited"
    (holder,) = stopped["holders"]
    assert holder["pid"] == private.pid
    assert [m["mount_point"] for m in holder["mounts"]] == [shm]
    result = repair(client, name)
    assert result["changed"] is True
    (entry,) = result["repaired"]
    assert entry["done"] == [
        "unmounted %s (lazy) in mount namespace %s of pid %d: private copy held by pid %d "
        "(sleep 1000)" % (shm, private_ns, private.pid, private.pid),
        "removed container %s (%s), volumes kept" % (name, held.id[:12]),
    ]
    assert shm not in mount_points(private.pid)
    assert private.poll() is None  # the holder itself keeps running
    with pytest.raises(NotFound):
        client.api.inspect_container(held.id)
    assert repair(client, name)["changed"] is False


def reconcile(app, users, ports, home_root):
    """One lab_user_containers call through ansible (ad hoc), as site.yml makes it."""
    args = {
        "users": users,
        "app": {
            "name": app,
            "image": IMAGE,
            "container_port": 8787,
            "command": ["sleep", "1000"],
            "run_as_user": False,
            "restart_policy": "no",
        },
        "ports": ports,
        "home_root": str(home_root),
        "network": "bridge",
        "prune": False,
    }
    env = dict(
        os.environ,
        ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
        ANSIBLE_LOAD_CALLBACK_PLUGINS="1",
        ANSIBLE_STDOUT_CALLBACK="ansible.posix.json",
    )
    cmd = [os.path.join(VENV_BIN, "ansible"), "lab", "-m", "lab_user_containers"]
    cmd += ["-a", json.dumps(args)]
    proc = subprocess.run(
        cmd, check=False, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    start = proc.stdout.index("\n{\n") + 1
    data, _ = json.JSONDecoder().raw_decode(proc.stdout[start:])
    return data["plays"][0]["tasks"][0]["hosts"]["localhost"]


@pytest.fixture
def app(client, prefix):
    # App names must match ^[a-z][a-z0-9]{0,15}$, so these containers are lstest<hex>-<user>.
    name = "lstest" + prefix[-6:]
    yield name
    remove_ours(client, {"label": "labstack.app=%s" % name}, name + "-")


def test_deploy_repairs_and_recreates_only_the_stuck_user_container(client, app, tmp_path):
    base = 29000 + int(app[-4:], 16) % 900
    users = [{"name": "ann", "uid": 4001}, {"name": "ben", "uid": 4002}]
    ports = {"ann": base, "ben": base + 1}
    first = reconcile(app, users, ports, tmp_path)
    assert first.get("failed") is not True, first.get("msg")
    ann, ben = first["containers"]["ann"], first["containers"]["ben"]
    assert ann["name"] == app + "-ann"

    upper = client.api.inspect_container(ann["id"])["GraphDriver"]["Data"]["UpperDir"]
    pinned = os.path.join(upper, "pinned")
    with open(pinned, "w") as handle:
        handle.write("x")
    subprocess.run(["chattr", "+i", pinned], check=True)
    with pytest.raises(docker.errors.APIError, match="operation not permitted"):
        client.api.remove_container(ann["id"], force=True)

    second = reconcile(app, users, ports, tmp_path)
    assert second.get("failed") is not True, second.get("msg")
    assert second["changed"] is True
    assert [(a["action"], a["user"]) for a in second["actions"]] == [("repair", "ann")]
    assert second["actions"][0]["repair"] == [
        "cleared the i attribute of %s" % pinned,
        "removed container %s (%s), volumes kept" % (ann["name"], ann["id"][:12]),
    ]
    new_ann = second["containers"]["ann"]["id"]
    assert new_ann != ann["id"]
    assert client.api.inspect_container(new_ann)["State"]["Running"] is True
    assert second["containers"]["ben"]["id"] == ben["id"]
    assert client.api.inspect_container(ben["id"])["State"]["Running"] is True

    third = reconcile(app, users, ports, tmp_path)
    assert third["changed"] is False
    assert third["containers"]["ann"]["id"] == new_ann


def test_repair_without_a_name_only_lists_the_stuck_containers(client, prefix):
    victim, pinned = make_stuck(client, prefix + "-listed")
    try:
        rc, results = playbook("repair.yml")
        assert rc != 0
        message = results[-1]["msg"]
        assert prefix + "-listed" in message
        assert "-e container=NAME, or all of them with -e repair_all=true" in message
        assert client.api.inspect_container(victim.id)["Id"] == victim.id  # still there
    finally:
        playbook("repair.yml", "-e", "container=" + prefix + "-listed")
    with pytest.raises(docker.errors.NotFound):
        client.api.inspect_container(victim.id)
