"""Matching mounts to containers, holders vs slave copies, strays, pinned files, repair plans."""

import os

import pytest
from ansible.module_utils.labstack_doctor import (
    FS_APPEND_FL,
    FS_IMMUTABLE_FL,
    AmbiguousContainer,
    build_reports,
    copy_status,
    find_holders,
    find_pinned,
    find_strays,
    format_report,
    get_flags,
    host_namespace,
    identify_path,
    next_step,
    own_paths,
    release_advice,
    resolve_container,
    walks_layer,
)
from ansible.module_utils.labstack_mounts import parse_mount_table, parse_mountinfo_line
from ansible.module_utils.labstack_repair import UnsafeRepair, plan_repair

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "mountinfo")
HOST_NS = "mnt:[4026531840]"
OTHER_NS = "mnt:[4026532999]"
VICTIM = "1" * 64
MONITOR = "2" * 64
DECOY = "3" * 64


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return parse_mount_table(handle.read())


def overlay(cid, name, layer, *, root="/var/lib/docker", driver="overlay2", state="running"):
    base = "%s/%s/%s" % (root, driver, layer)
    return {
        "id": cid,
        "name": name,
        "state": state,
        "status": "dead" if state == "removing" else state,
        "driver": driver,
        "graph": {
            "MergedDir": base + "/merged",
            "UpperDir": base + ("/upper" if driver == "overlay" else "/diff"),
            "WorkDir": base + "/work",
        },
    }


def info(table):
    return table.get


def test_identify_path_with_prefix_and_custom_root():
    found = identify_path("/host/root/home/data/docker/overlay/b2b9c0ffee1d/merged")
    assert (found["kind"], found["id"], found["root"], found["part"]) == (
        "layer",
        "b2b9c0ffee1d",
        "/host/root/home/data/docker",
        "merged",
    )
    shm = identify_path("/rootfs/var/lib/docker/containers/%s/mounts/shm" % VICTIM)
    assert (shm["kind"], shm["id"]) == ("container", VICTIM)
    assert identify_path("/var/lib/docker/overlay2/l/ABCDEF") is None
    assert identify_path("/home/alice") is None


def test_rootfs_prefix_fixture_matches_b2b9c0ffee1d():
    root = "/home/data/docker"
    containers = [
        overlay(VICTIM, "victim", "b2b9c0ffee1d", root=root, driver="overlay", state="removing"),
        overlay(MONITOR, "monitor", "7a7a", root=root, driver="overlay"),
        overlay(DECOY, "decoy", "b2b9c0ffee1e", root=root, driver="overlay", state="exited"),
    ]
    tables = {OTHER_NS: {"pids": [4242, 4243], "mounts": fixture("holder-rootfs-prefix.mountinfo")}}
    procs = {
        4242: {
            "command": "/bin/node_exporter --path.rootfs=/host/root",
            "unit": None,
            "container_id": MONITOR,
            "cgroup": "/docker/" + MONITOR,
        },
        # 4243 exited mid-scan: info None
    }
    holders = find_holders(
        containers, tables, HOST_NS, data_root=root, host_table=[], info_of=info(procs)
    )
    assert list(holders) == [VICTIM]  # not the monitor's own root, not the decoy
    (holder,) = holders[VICTIM]
    assert holder["pid"] == 4242
    assert holder["pids"] == [4242]
    assert holder["namespace"] == OTHER_NS
    assert holder["command"] == "/bin/node_exporter --path.rootfs=/host/root"
    assert holder["owner_container_id"] == MONITOR
    assert holder["blocking"] is True
    (mount,) = holder["mounts"]
    assert mount["mount_point"] == "/host/root/home/data/docker/overlay/b2b9c0ffee1d/merged"
    assert mount["prefix"] == "/host/root"
    assert mount["propagation"] == "private"

    (report,) = [r for r in build_reports(containers, holders, {}, {}) if r["affected"]]
    assert report["name"] == "victim"
    assert report["blockers"] == {"holder": 1, "stray mount": 0, "pinned file": 0}
    assert "docker restart monitor" in report["next_step"]
    assert "repair.yml -e container=victim" in report["next_step"]
    text = "\n".join(format_report(report))
    assert (
        "holder: pid 4242 (/bin/node_exporter --path.rootfs=/host/root), container monitor" in text
    )


def test_rootfs_prefix_fixture_needs_the_right_data_root():
    containers = [
        overlay(VICTIM, "victim", "b2b9c0ffee1d", root="/home/data/docker", driver="overlay")
    ]
    tables = {OTHER_NS: {"pids": [7], "mounts": fixture("holder-rootfs-prefix.mountinfo")}}
    procs = {7: {"command": "x", "unit": None, "container_id": None}}
    assert (
        find_holders(containers, tables, HOST_NS, data_root="/srv/docker", info_of=info(procs))
        == {}
    )


def test_devicemapper_fixture_matches_b870aa11():
    victim = {
        "id": VICTIM,
        "name": "dm-victim",
        "state": "dead",
        "status": "dead",
        "driver": "devicemapper",
        "graph": {
            "DeviceName": "docker-202:1-263562-b870aa11",
            "MergedDir": "/var/lib/docker/devicemapper/mnt/b870aa11/rootfs",
        },
    }
    other = dict(
        victim,
        id=DECOY,
        name="other",
        state="running",
        graph={"DeviceName": "docker-202:1-263562-c0ffee"},
    )
    tables = {OTHER_NS: {"pids": [811], "mounts": fixture("devicemapper.mounts")}}
    procs = {811: {"command": "/usr/sbin/ntpd -g", "unit": "ntpd.service", "container_id": None}}
    holders = find_holders(
        [victim, other], tables, HOST_NS, data_root="/var/lib/docker", info_of=info(procs)
    )
    assert list(holders) == [VICTIM]
    (holder,) = holders[VICTIM]
    assert holder["unit"] == "ntpd.service"
    assert holder["mounts"][0]["mount_point"] == "/var/lib/docker/devicemapper/mnt/b870aa11"
    assert holder["blocking"] is True  # the mounts format cannot tell: treated as private
    (report,) = [r for r in build_reports([victim, other], holders, {}, {}) if r["affected"]]
    assert "systemctl restart ntpd.service" in report["next_step"]


def merged_line(layer, optional):
    return "500 400 0:77 / /var/lib/docker/overlay2/%s/merged rw %s - overlay overlay rw" % (
        layer,
        optional,
    )


@pytest.mark.parametrize(
    ("optional", "blocking", "host_groups"),
    [
        ("", True, []),
        ("master:12", False, [12]),
        ("master:12", True, []),  # a slave of another namespace's group, not the host's
        ("master:12", True, [7]),
        ("shared:12", False, [12]),
        ("shared:99", True, [12]),
    ],
)
def test_private_copies_block_slave_copies_do_not(optional, blocking, host_groups):
    c = overlay(VICTIM, "victim", "abcd1234", state="running")
    mounts = parse_mount_table(merged_line("abcd1234", optional).replace("  ", " "))
    host = [{"shared": g, "mount_point": "/x"} for g in host_groups]
    holders = find_holders(
        [c],
        {OTHER_NS: {"pids": [99], "mounts": mounts}},
        HOST_NS,
        host_table=host,
        info_of=info({99: {"command": "sleep 1000", "unit": None, "container_id": None}}),
    )
    (holder,) = holders[VICTIM]
    assert holder["blocking"] is blocking
    (report,) = build_reports([c], holders, {}, {})
    assert report["affected"] is blocking
    assert len(report["slave_copies"]) == (0 if blocking else 1)


def test_namespace_whose_processes_all_exited_holds_nothing():
    c = overlay(VICTIM, "victim", "abcd1234", state="dead")
    mounts = parse_mount_table(merged_line("abcd1234", ""))
    holders = find_holders(
        [c], {OTHER_NS: {"pids": [5, 6], "mounts": mounts}}, HOST_NS, info_of=info({})
    )
    assert holders == {}


def test_host_namespace_mounts_are_strays_only_for_stopped_containers():
    host = parse_mount_table(
        merged_line("aaaa1111", "shared:1") + "\n" + merged_line("bbbb2222", "shared:1")
    )
    running = overlay(VICTIM, "run", "aaaa1111", state="running")
    dead = overlay(DECOY, "dead", "bbbb2222", state="dead")
    strays = find_strays([running, dead], host, "/var/lib/docker")
    assert strays == {
        DECOY: [
            {
                "mount_point": "/var/lib/docker/overlay2/bbbb2222/merged",
                "mount_id": 500,
                "fstype": "overlay",
                "matched_by": "mount point",
            }
        ]
    }
    # The host namespace is never searched for holders.
    assert find_holders([running, dead], {HOST_NS: {"pids": [1], "mounts": host}}, HOST_NS) == {}


def test_find_pinned_walks_the_layer_but_not_merged(tmp_path):
    layer = tmp_path / "overlay2" / "abcd"
    (layer / "diff" / "etc").mkdir(parents=True)
    (layer / "merged" / "usr").mkdir(parents=True)
    (layer / "diff" / "etc" / "locked").write_text("x")
    (layer / "diff" / "log").write_text("x")
    (layer / "merged" / "usr" / "image-file").write_text("x")
    os.symlink("/etc/passwd", layer / "diff" / "link")
    flags = {
        str(layer / "diff" / "etc" / "locked"): FS_IMMUTABLE_FL,
        str(layer / "diff" / "log"): FS_APPEND_FL,
        str(layer / "merged" / "usr" / "image-file"): FS_IMMUTABLE_FL,
        "/etc/passwd": FS_IMMUTABLE_FL,
    }
    looked = []

    def flags_of(path):
        looked.append(path)
        return flags.get(path, 0)

    pinned, _, truncated = find_pinned([str(layer)], flags_of=flags_of)
    assert pinned == [
        {"path": str(layer / "diff" / "etc" / "locked"), "attributes": "i"},
        {"path": str(layer / "diff" / "log"), "attributes": "a"},
    ]
    assert truncated is False
    assert str(layer / "diff" / "link") not in looked
    assert str(layer / "merged" / "usr") not in looked


def test_get_flags_reads_a_real_file(tmp_path):
    path = tmp_path / "plain"
    path.write_text("x")
    flags = get_flags(str(path))
    assert flags is None or flags & (FS_IMMUTABLE_FL | FS_APPEND_FL) == 0


def test_own_paths_are_the_container_layer_init_and_container_dir():
    c = overlay(VICTIM, "victim", "abcd1234", state="dead")
    assert own_paths(c, "/var/lib/docker") == [
        "/var/lib/docker/overlay2/abcd1234",
        "/var/lib/docker/overlay2/abcd1234-init",
        "/var/lib/docker/containers/" + VICTIM,
    ]


def report_for(container, holders=(), strays=(), pinned=()):
    (report,) = build_reports(
        [container],
        {container["id"]: list(holders)} if holders else {},
        {container["id"]: list(strays)} if strays else {},
        {container["id"]: list(pinned)} if pinned else {},
    )
    return report


def holder(pid, mounts, **extra):
    base = {
        "namespace": OTHER_NS,
        "pid": pid,
        "pids": [pid],
        "command": "sleep 1000",
        "unit": None,
        "owner_container_id": None,
        "blocking": True,
        "propagation": "private",
        "runs_inside": False,
        "mounts": [{"mount_point": m, "blocking": True} for m in mounts],
    }
    base.update(extra)
    return base


def test_repair_plan_orders_unmounts_deepest_first_then_attributes_then_removal():
    c = overlay(VICTIM, "victim", "abcd1234", state="removing")
    merged = "/var/lib/docker/overlay2/abcd1234/merged"
    report = report_for(
        c,
        holders=[holder(4242, [merged, merged + "/etc/hosts"])],
        strays=[{"mount_point": merged, "fstype": "overlay"}],
        pinned=[{"path": "/var/lib/docker/overlay2/abcd1234/diff/pinned", "attributes": "i"}],
    )
    steps = plan_repair(report, c, "/var/lib/docker", 16011, HOST_NS)
    assert [(s["action"], s.get("path"), s.get("pid")) for s in steps] == [
        ("unmount", merged + "/etc/hosts", 4242),
        ("unmount", merged, 4242),
        ("unmount", merged, 16011),
        ("clear attributes", "/var/lib/docker/overlay2/abcd1234/diff/pinned", None),
        ("remove", None, None),
    ]
    assert steps[-1]["id"] == VICTIM


def test_repair_refuses_pid_1_and_names_it():
    c = overlay(VICTIM, "victim", "abcd1234", state="dead")
    report = report_for(
        c, holders=[holder(1, ["/var/lib/docker/overlay2/abcd1234/merged"], command="/sbin/init")]
    )
    with pytest.raises(UnsafeRepair, match=r"pid 1 \(/sbin/init.*PID 1.*Safe options"):
        plan_repair(report, c, "/var/lib/docker", 16011, HOST_NS)


def test_repair_refuses_a_process_running_inside_the_rootfs():
    c = overlay(VICTIM, "victim", "abcd1234", state="dead")
    report = report_for(c, holders=[holder(77, ["/"], runs_inside=True, unit="leak.service")])
    with pytest.raises(UnsafeRepair, match="kill 77.*systemctl stop leak.service"):
        plan_repair(report, c, "/var/lib/docker", 16011, HOST_NS)


def test_repair_refuses_running_containers_and_foreign_pinned_files():
    running = overlay(VICTIM, "busy", "abcd1234", state="running")
    with pytest.raises(UnsafeRepair, match="busy is running"):
        plan_repair(report_for(running), running, "/var/lib/docker", 1, HOST_NS)
    dead = overlay(VICTIM, "victim", "abcd1234", state="dead")
    outside = report_for(dead, pinned=[{"path": "/home/alice/notes", "attributes": "i"}])
    with pytest.raises(UnsafeRepair, match="/home/alice/notes.*outside"):
        plan_repair(outside, dead, "/var/lib/docker", 1, HOST_NS)


# --- container names: Docker's lookup, in one helper ------------------------------------------


def listed(name, cid, *aliases):
    return {"Id": cid, "Names": ["/" + name] + ["/%s/%s" % (a, name) for a in aliases]}


DB_ID = "db" + "0" * 62  # an exited container whose id happens to start with "db"
NAMED_DB = listed("db", "a" * 64)


def test_exact_name_wins_over_an_id_prefix():
    items = [listed("exited-one", DB_ID), NAMED_DB]
    assert resolve_container(items, "db") is NAMED_DB
    assert resolve_container(items, "/db") is NAMED_DB


def test_exact_full_id_then_a_unique_prefix():
    other = listed("other", "db" + "1" * 62)
    items = [listed("exited-one", DB_ID), other]
    assert resolve_container(items, DB_ID)["Id"] == DB_ID
    assert resolve_container(items, "db0")["Id"] == DB_ID
    assert resolve_container(items, "nope") is None
    assert resolve_container(items, "dbx") is None  # not hex: never an id prefix


def test_an_ambiguous_prefix_is_an_error_listing_the_containers():
    items = [listed("exited-one", DB_ID), listed("other", "db" + "1" * 62)]
    with pytest.raises(AmbiguousContainer, match=r"db.*2 containers.*exited-one \(db0000000000\)"):
        resolve_container(items, "db")


def test_a_link_alias_is_not_the_container_name():
    items = [listed("web", "e" * 64, "proxy")]  # Names: /web, /proxy/web
    assert resolve_container(items, "web")["Id"] == "e" * 64
    assert resolve_container(items, "proxy/web") is None


# --- slave vs private: the master must be one of the host mount's peer groups ------------------


SHM = "/var/lib/docker/containers/%s/mounts/shm" % VICTIM


def shm_line(optional, dev="0:99", mount_id=700):
    return "%d 600 %s / %s rw %s - tmpfs shm rw" % (mount_id, dev, SHM, optional)


def host_shm(shared=12, dev="0:99"):
    return parse_mountinfo_line(
        "88 45 %s / %s rw shared:%d - tmpfs shm rw,size=65536k" % (dev, SHM, shared)
    )


@pytest.mark.parametrize(
    ("optional", "host", "live", "blocks", "label"),
    [
        ("master:12", [host_shm(12)], True, False, "slave"),
        # The host has a shared:7 elsewhere, but its shm is in group 12: master:7 is not its peer.
        ("master:7", [host_shm(12), host_shm(7, dev="0:5")], True, True, "master:7"),
        ("shared:12", [host_shm(12)], True, False, "shared"),
        ("shared:99", [host_shm(12)], True, True, "shared with a peer group the host"),
        ("unbindable", [host_shm(12)], True, True, "unbindable"),
        ("", [host_shm(12)], True, True, "private"),
        # Stopped, and the host's shm is gone: a copy still there did not get the unmount.
        ("master:12", [host_shm(7, dev="0:5")], False, True, "left behind (master:12"),
        ("master:12", [], False, True, "left behind"),
    ],
)
def test_copy_status_by_peer_group_of_the_host_mount(optional, host, live, blocks, label):
    entry = parse_mountinfo_line(shm_line(optional).replace("  ", " "))
    found_blocks, found_label = copy_status(entry, host, container_live=live)
    assert found_blocks is blocks
    assert label in found_label


def test_mounts_format_copy_is_labelled_by_its_reason_not_private():
    c = overlay(VICTIM, "victim", "abcd1234", state="dead")
    table = parse_mount_table("shm %s tmpfs rw 0 0\n" % SHM)
    holders = find_holders(
        [c],
        {OTHER_NS: {"pids": [5], "mounts": table}},
        HOST_NS,
        info_of=info({5: {"command": "ntpd", "unit": None, "container_id": None}}),
    )
    (holder,) = holders[VICTIM]
    assert holder["blocking"] is True
    assert holder["propagation"].startswith("untagged (mounts format")
    (report,) = build_reports([c], holders, {}, {})
    assert "untagged (mounts format, treated as private) copy of " + SHM in "\n".join(
        format_report(report)
    )


def test_stopped_container_slave_copy_left_behind_is_a_holder():
    c = overlay(VICTIM, "victim", "abcd1234", state="exited")
    holders = find_holders(
        [c],
        {OTHER_NS: {"pids": [5], "mounts": parse_mount_table(shm_line("master:12"))}},
        HOST_NS,
        host_table=[],  # the host unmounted its shm when the container stopped
        info_of=info({5: {"command": "sleep 1000", "unit": None, "container_id": None}}),
    )
    (holder,) = holders[VICTIM]
    assert holder["blocking"] is True
    assert holder["propagation"].startswith("left behind")
    (report,) = build_reports([c], holders, {}, {})
    assert report["blockers"]["holder"] == 1


# --- holders in another user namespace ---------------------------------------------------------


def test_holder_in_another_user_namespace_is_unsafe_with_stop_advice():
    c = overlay(VICTIM, "victim", "abcd1234", state="exited")
    procs = {
        5: {"command": "sleep 1000", "unit": None, "container_id": None, "user_ns": "user:[9]"}
    }
    holders = find_holders(
        [c],
        {OTHER_NS: {"pids": [5], "mounts": parse_mount_table(shm_line(""))}},
        HOST_NS,
        info_of=info(procs),
        host_userns="user:[4026531837]",
    )
    (holder,) = holders[VICTIM]
    assert holder["foreign_userns"] is True
    (report,) = build_reports([c], holders, {}, {})
    assert "stop pid 5 (sleep 1000)" in report["next_step"]
    assert "user:[9]" in report["next_step"]
    with pytest.raises(UnsafeRepair, match=r"stop pid 5 \(sleep 1000\)"):
        plan_repair(report, c, "/var/lib/docker", 16011, HOST_NS)
    same = dict(procs[5], user_ns="user:[4026531837]")
    again = find_holders(
        [c],
        {OTHER_NS: {"pids": [5], "mounts": parse_mount_table(shm_line(""))}},
        HOST_NS,
        info_of=info({5: same}),
        host_userns="user:[4026531837]",
    )
    assert again[VICTIM][0]["foreign_userns"] is False


# --- next step: what to restart, or which pid to stop -------------------------------------------


@pytest.mark.parametrize(
    ("extra", "advice"),
    [
        (
            {"owner_container_id": MONITOR, "owner_container_name": "monitor"},
            "docker restart monitor",
        ),
        # A unit seen inside the container's scope was already dropped by unit_from_cgroup; an
        # owner container wins over any unit.
        (
            {"owner_container_id": MONITOR, "owner_container_name": "monitor", "unit": "x.service"},
            "docker restart monitor",
        ),
        # A container id from the cgroup that this engine does not list (the server is itself a
        # container, or another engine's): `docker restart` would fail, so the pid must stop.
        (
            {"owner_container_id": MONITOR, "owner_container_name": None, "unit": "nginx.service"},
            "stop pid 42 (sleep 1000); it runs in container %s, which this Docker engine does "
            "not know" % MONITOR[:12],
        ),
        ({"unit": "ntpd.service"}, "systemctl restart ntpd.service"),
        ({"unit": "session-3.scope"}, "stop pid 42 (sleep 1000)"),
        ({"unit": "run-r1234.scope"}, "stop pid 42 (sleep 1000)"),
        ({"unit": "docker.service"}, "stop pid 42 (sleep 1000)"),
        ({"unit": "containerd.service"}, "stop pid 42 (sleep 1000)"),
        (
            {"unit": "syncd.service", "user": "1000"},
            "systemctl --user -M 1000@ restart syncd.service (or stop pid 42 (sleep 1000))",
        ),
        ({"unit": "init.scope", "user": "1000"}, "stop pid 42 (sleep 1000)"),
        ({}, "stop pid 42 (sleep 1000)"),
    ],
)
def test_release_advice(extra, advice):
    assert release_advice(holder(42, ["/x"], **extra)) == advice


def test_next_step_never_restarts_docker_or_a_scope():
    for unit in ("docker.service", "containerd.service", "session-3.scope"):
        c = overlay(VICTIM, "victim", "abcd1234", state="exited")
        step = next_step(report_for(c, holders=[holder(42, [SHM], unit=unit)]))
        assert "systemctl" not in step
        assert "stop pid 42 (sleep 1000)" in step
        live = overlay(VICTIM, "victim", "abcd1234", state="running")
        step = next_step(report_for(live, holders=[holder(42, [SHM], unit=unit)]))
        assert step.endswith("release the holder: stop pid 42 (sleep 1000).")


def test_owner_named_even_when_only_one_container_was_diagnosed():
    c = overlay(VICTIM, "victim", "abcd1234", state="exited")
    h = holder(42, [SHM], owner_container_id=MONITOR)
    (report,) = build_reports([c], {VICTIM: [h]}, {}, {}, names={MONITOR: "monitor"})
    assert "docker restart monitor" in report["next_step"]


# --- the reference namespace must be dockerd's -------------------------------------------------


def fake_proc(tmp_path, procs):
    for pid, (comm, ns) in procs.items():
        (tmp_path / str(pid) / "ns").mkdir(parents=True)
        (tmp_path / str(pid) / "comm").write_text(comm + "\n")
        os.symlink(ns, tmp_path / str(pid) / "ns" / "mnt")
    return str(tmp_path)


def test_host_namespace_ignores_a_stale_pid_file(tmp_path):
    proc = fake_proc(
        tmp_path / "proc",
        {1: ("init", "mnt:[1]"), 300: ("sleep", "mnt:[3]"), 400: ("dockerd", "mnt:[1]")},
    )
    pid_file = tmp_path / "docker.pid"
    pid_file.write_text("300\n")  # dockerd crashed; pid 300 is now a sleep in its own namespace
    assert host_namespace(proc, str(pid_file)) == (400, "mnt:[1]")
    pid_file.write_text("400\n")
    assert host_namespace(proc, str(pid_file)) == (400, "mnt:[1]")


def test_host_namespace_prefers_the_dockerd_in_pid_1s_namespace_then_pid_1(tmp_path):
    proc = fake_proc(
        tmp_path / "proc",
        {1: ("init", "mnt:[1]"), 200: ("dockerd", "mnt:[7]"), 500: ("dockerd", "mnt:[1]")},
    )
    assert host_namespace(proc, str(tmp_path / "missing.pid")) == (500, "mnt:[1]")
    none = fake_proc(tmp_path / "proc2", {1: ("init", "mnt:[1]"), 9: ("sleep", "mnt:[2]")})
    assert host_namespace(none, str(tmp_path / "missing.pid")) == (1, "mnt:[1]")


def test_layers_walked_are_stopped_containers_or_the_named_one():
    assert walks_layer({"state": "running"}) is False
    assert walks_layer({"state": "running"}, "web") is True
    for state in ("exited", "dead", "removing", "created"):
        assert walks_layer({"state": state}) is True


def test_repair_plan_keeps_namespace_mount_id_and_pids_for_the_check():
    c = overlay(VICTIM, "victim", "abcd1234", state="exited")
    h = holder(42, [SHM], pids=[42, 43])
    h["mounts"][0]["mount_id"] = 700
    (step, _) = plan_repair(report_for(c, holders=[h]), c, "/var/lib/docker", 16011, HOST_NS)
    assert (step["pid"], step["pids"], step["namespace"], step["mount_id"]) == (
        42,
        [42, 43],
        OTHER_NS,
        700,
    )
