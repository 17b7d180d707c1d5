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
from ansible.module_utils.labstack_doctor import (
    AmbiguousContainer,
    diagnose,
    diagnose_with_containers,
    get_flags,
    host_namespace,
)
from ansible.module_utils.labstack_repair import (
    RepairError,
    UnsafeRepair,
    plan_repair,
    repair,
    run_plans,
    umount_in_namespace,
)
from labstack_e2e import pin_in_layer

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
    return victim, pin_in_layer(client, victim.id)


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


def start_in_namespace(propagation, *, userns=False):
    cmd = ["unshare", "-m", "--propagation", propagation, "sleep", "1000"]
    if userns:  # a new user namespace too (root mapped): the copied mounts are locked in it
        cmd[1:1] = ["-U", "-r"]
    proc = subprocess.Popen(cmd)
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

    def start(propagation, **kwargs):
        proc, ns = start_in_namespace(propagation, **kwargs)
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

    pinned = pin_in_layer(client, ann["id"])

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


def test_a_name_never_matches_another_container_by_id_prefix(client, prefix):
    """repair -e container=db must not remove an exited container whose id starts with db."""
    other = client.containers.create(IMAGE, ["true"], name=prefix + "-exited")
    named = None
    try:
        # A container whose *name* is the start of the other one's id (the "db" of the audit).
        named = client.containers.create(IMAGE, ["true"], name=other.id[:6])
        (report,) = diagnose(client, other.id[:6])[0]
        assert report["id"] == named.id
        result = repair(client, other.id[:6])
        assert [r["id"] for r in result["repaired"]] == [named.id]
        with pytest.raises(NotFound):
            client.api.inspect_container(named.id)
        assert client.api.inspect_container(other.id)["Name"] == "/" + prefix + "-exited"
        # Now the prefix is nobody's name: it resolves to the one container whose id has it.
        (report,) = diagnose(client, other.id[:6])[0]
        assert report["id"] == other.id
        # ...but the same repair run again must not remove that exited, healthy container.
        again = repair(client, other.id[:6])
        assert (again["changed"], again["repaired"]) == (False, [])
        assert again["message"].startswith("No container named %s" % other.id[:6])
        assert (
            "repair acts on an id prefix only when that container is dead or removing"
            in (again["message"])
        )
        assert client.api.inspect_container(other.id)["State"]["Status"] == "created"
    finally:
        if named is not None:
            try:
                client.api.remove_container(named.id, force=True)
            except NotFound:
                pass


def test_an_ambiguous_id_prefix_is_refused_and_lists_the_containers(client, prefix):
    made = {}
    for i in range(40):  # until two of ours share a first id character (birthday: ~5)
        c = client.containers.create(IMAGE, ["true"], name="%s-amb%02d" % (prefix, i))
        if c.id[0] in made:
            first, second = made[c.id[0]], c
            break
        made[c.id[0]] = c
    else:
        pytest.fail("no two container ids shared a first character")
    with pytest.raises(AmbiguousContainer) as caught:
        diagnose(client, first.id[0])
    assert first.name in str(caught.value)
    assert second.name in str(caught.value)
    with pytest.raises(UnsafeRepair, match="nothing was changed"):
        repair(client, first.id[0])
    assert client.api.inspect_container(first.id)["Id"] == first.id
    assert client.api.inspect_container(second.id)["Id"] == second.id


def start_slave_of_a_private_namespace():
    """X: a private namespace made rshared; Y: a slave of X's groups (not of the host's)."""
    script = (
        "mount --make-rshared / && (unshare -m --propagation slave sleep 1001 &) && exec sleep 1000"
    )
    outer = subprocess.Popen(["unshare", "-m", "--propagation", "private", "sh", "-c", script])
    own = os.readlink("/proc/self/ns/mnt")
    for _ in range(100):
        inner = subprocess.run(
            ["pgrep", "-xf", "sleep 1001"], capture_output=True, text=True, check=False
        ).stdout.split()
        try:
            outer_ns = os.readlink("/proc/%d/ns/mnt" % outer.pid)
            with open("/proc/%d/cmdline" % outer.pid, "rb") as handle:
                ready = handle.read() == b"sleep\x001000\x00"
        except OSError:
            outer_ns, ready = own, False
        if ready and len(inner) == 1 and outer_ns != own:
            inner_pid = int(inner[0])
            if os.readlink("/proc/%d/ns/mnt" % inner_pid) not in (own, outer_ns):
                return outer, inner_pid
        time.sleep(0.05)
    outer.kill()
    raise AssertionError("nested unshare did not start")


def test_slave_of_another_namespaces_group_blocks(client, prefix):
    name = prefix + "-foreign-master"
    held = run_container(client, name, ipc_mode="shareable")
    shm = "/var/lib/docker/containers/%s/mounts/shm" % held.id
    outer, inner = start_slave_of_a_private_namespace()
    try:
        with open("/proc/%d/mountinfo" % inner) as handle:
            line = next(x for x in handle if x.split()[4] == shm)
        assert " master:" in line  # a slave copy by its tags...
        (report,) = diagnose(client, name)[0]
        by_pid = {h["pid"]: h for h in report["holders"]}
        assert set(by_pid) == {outer.pid, inner}  # ...but of X's group: it blocks too
        # X made its copies shared, in groups of its own: labelled by that, not "private".
        assert by_pid[outer.pid]["propagation"].startswith("shared with a peer group the host")
        assert by_pid[inner]["propagation"].startswith("slave of a peer group the host does not")
        assert report["slave_copies"] == []

        held.stop(timeout=1)
        (stopped,) = diagnose(client, name)[0]
        by_pid = {h["pid"]: h for h in stopped["holders"]}
        assert set(by_pid) == {outer.pid, inner}
        assert [m["mount_point"] for m in by_pid[inner]["mounts"]] == [shm]
        # Repair unmounts in both; whichever goes first, the check afterwards finds it gone.
        result = repair(client, name)
        assert result["repaired"][0]["done"][-1].startswith("removed container " + name)
        assert shm not in mount_points(outer.pid)
        assert shm not in mount_points(inner)
    finally:
        subprocess.run(["kill", str(inner)], check=False)
        outer.kill()
        outer.wait()


def test_locked_copy_in_another_user_namespace_is_not_taken_for_unmounted(
    client, prefix, namespaced
):
    name = prefix + "-locked"
    victim, pinned = make_stuck_with_holder(client, name, namespaced)
    locked, locked_ns = victim
    (report,) = diagnose(client, name)[0]
    (holder,) = report["holders"]
    assert holder["pid"] == locked.pid
    assert holder["foreign_userns"] is True
    assert "stop pid %d (sleep 1000)" % locked.pid in report["next_step"]
    with pytest.raises(UnsafeRepair, match=r"stop pid %d \(sleep 1000\)" % locked.pid):
        repair(client, name)

    shm = holder["mounts"][0]["mount_point"]
    # The kernel answers EINVAL for a locked mount: the repair must not call that "not mounted".
    with pytest.raises(RepairError, match=r"still mounted.*pid %d.*stop that process" % locked.pid):
        umount_in_namespace(locked.pid, shm, namespace=locked_ns)
    assert shm in mount_points(locked.pid)
    # A pid that is no longer in the planned namespace (reused) is never acted on.
    assert umount_in_namespace(locked.pid, shm, namespace="mnt:[1]") is False
    assert shm in mount_points(locked.pid)

    # Listing mode of repair.yml lists it with the reason instead of failing on UnsafeRepair.
    rc, results = playbook("repair.yml")
    assert rc != 0
    message = results[-1]["msg"]
    assert name in message
    assert "-e container=NAME, or all of them with -e repair_all=true" in message
    assert "stop pid %d (sleep 1000)" % locked.pid in message

    locked.kill()
    locked.wait()
    result = repair(client, name)
    assert result["repaired"][0]["done"] == [
        "cleared the i attribute of %s" % pinned,
        "removed container %s (%s), volumes kept" % (name, report["id"][:12]),
    ]


def make_stuck_with_holder(client, name, namespaced):
    """A stuck container whose shm copy is held in a namespace of another user namespace."""
    held = run_container(client, name, ipc_mode="shareable")
    holder = namespaced("private", userns=True)
    return holder, pin_in_layer(client, held.id)


def test_a_failed_step_reports_what_was_already_done(client, prefix):
    first, first_pin = make_stuck(client, prefix + "-first")
    second, second_pin = make_stuck(client, prefix + "-second")
    # A second pinned file the doctor does not look at (under the layer's merged directory,
    # which the walk never enters): Docker still refuses after the first one is cleared.
    layer = os.path.dirname(
        client.api.inspect_container(second.id)["GraphDriver"]["Data"]["UpperDir"]
    )
    os.makedirs(os.path.join(layer, "merged"), exist_ok=True)
    hidden = os.path.join(layer, "merged", "hidden")
    with open(hidden, "w") as handle:
        handle.write("x")
    subprocess.run(["chattr", "+i", hidden], check=True)
    try:
        plans = []
        for victim in (first, second):
            (report,), scan, (container,) = diagnose_with_containers(client, victim.name)
            steps = plan_repair(
                report, container, scan["data_root"], scan["host_pid"], scan["host_namespace"]
            )
            plans.append((report, container, steps))
        with pytest.raises(RepairError) as caught:
            run_plans(plans, client, scan["data_root"])
        exc = caught.value
        assert [r["name"] for r in exc.repaired] == [first.name]
        assert exc.done == ["cleared the i attribute of %s" % second_pin]
        assert "Already done for %s: cleared the i attribute" % second.name in str(exc)
        assert "Repaired before this failure: %s." % first.name in str(exc)
        with pytest.raises(NotFound):
            client.api.inspect_container(first.id)

        # Through the playbook: the failure still says what was done. (Docker's failed removal
        # deleted what it could, the first pinned file included: pin a new one.)
        os.makedirs(os.path.dirname(second_pin), exist_ok=True)
        with open(second_pin, "w") as handle:
            handle.write("x")
        subprocess.run(["chattr", "+i", second_pin], check=True)
        rc, results = playbook("repair.yml", "-e", "container=" + second.name)
        assert rc != 0
        failed = results[-1]
        assert failed["done"] == ["cleared the i attribute of %s" % second_pin]
        assert "Already done for %s" % second.name in failed["msg"]
    finally:
        subprocess.run(["chattr", "-i", hidden], check=False)


def test_reference_namespace_is_dockerds_even_with_a_stale_pid_file(client, tmp_path):
    pid, ns = host_namespace()
    with open("/proc/%d/comm" % pid) as handle:
        assert handle.read().strip() == "dockerd"
    stale = tmp_path / "docker.pid"
    sleeper = subprocess.Popen(["unshare", "-m", "sleep", "1000"])
    try:
        stale.write_text("%d\n" % sleeper.pid)
        assert host_namespace(pid_file=str(stale)) == (pid, ns)
    finally:
        sleeper.kill()
        sleeper.wait()


def test_running_containers_layers_are_walked_only_when_named(client, prefix):
    name = prefix + "-busy"
    busy = run_container(client, name)
    upper = client.api.inspect_container(busy.id)["GraphDriver"]["Data"]["UpperDir"]
    pinned = os.path.join(upper, "pinned")
    with open(pinned, "w") as handle:
        handle.write("x")
    subprocess.run(["chattr", "+i", pinned], check=True)
    reports, scan = diagnose(client)
    (report,) = [r for r in reports if r["id"] == busy.id]
    assert report["pinned_files"] == []
    assert scan["layers_walked"] < scan["containers"]
    (named,) = diagnose(client, name)[0]
    assert named["pinned_files"] == [{"path": pinned, "attributes": "i"}]
