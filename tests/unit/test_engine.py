"""Pure logic of the docker_engine role (plugins/module_utils/labstack_engine.py).

The four cases of ../shared/cases/daemon-json.md have a test each (test_case1_*, ...); the
real-host side of each runs in roles/docker_engine/molecule/default.
"""

import json
import os

import pytest
from ansible.module_utils.labstack_engine import (
    RELOADABLE_KEYS,
    backing_fs_problems,
    build_report,
    changed_keys,
    daemon_config,
    daemon_config_warnings,
    dockerd_flag_keys,
    effective_exec_start,
    effective_setting,
    effective_setting_source,
    environment_files,
    existing_drivers,
    flag_conflicts,
    kernel_version,
    kernel_warnings,
    log_driver_host_problems,
    merge_options,
    mount_of,
    parse_daemon_json,
    parse_environment_file,
    parse_mountinfo,
    parse_xfs_ftype,
    plan_sysctl,
    propagation_problems,
    render_daemon_json,
    restart_needed,
    storage_change_problems,
    strip_mountflags_slave,
    validate_daemon_config,
)
from ansible.module_utils.labstack_mounts import holding_mount, parse_mount_table
from module_runner import run_module

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULTS = {
    "storage-driver": "overlay2",
    "live-restore": True,
    "log-driver": "json-file",
    "log-opts": {"max-size": "10m", "max-file": "3"},
    "data-root": "/var/lib/docker",
    "default-address-pools": [{"base": "172.17.0.0/12", "size": 24}],
}

DEBIAN_UNIT = """\
[Service]
Type=notify
EnvironmentFile=-/etc/default/docker
ExecStart=/usr/sbin/dockerd -H fd:// --containerd=/run/containerd/containerd.sock $DOCKER_OPTS
ExecReload=/bin/kill -s HUP $MAINPID
"""
DOCKER_CE_UNIT = """\
[Service]
Type=notify
# the default is not to use systemd for cgroups
ExecStart=/usr/bin/dockerd -H fd:// \\
          --containerd=/run/containerd/containerd.sock
"""
EL7_DOCKER_UNIT = """\
[Service]
Type=notify
EnvironmentFile=-/etc/sysconfig/docker
ExecStart=/usr/bin/dockerd-current --add-runtime docker-runc=/usr/libexec/docker/docker-runc \\
          --default-runtime=docker-runc --exec-opt native.cgroupdriver=systemd \\
          $OPTIONS $DOCKER_STORAGE_OPTIONS
MountFlags=slave
"""


# --- merging and rendering -------------------------------------------------------------------


def test_merge_keeps_defaults_and_changes_one_nested_key():
    merged = merge_options(DEFAULTS, {"log-opts": {"max-size": "50m"}, "debug": True})
    assert merged["log-opts"] == {"max-size": "50m", "max-file": "3"}
    assert merged["debug"] is True
    assert merged["storage-driver"] == "overlay2"
    assert DEFAULTS["log-opts"]["max-size"] == "10m"  # defaults not mutated


def test_merge_null_drops_a_default_and_lists_replace():
    merged = merge_options(
        DEFAULTS,
        {"default-address-pools": [{"base": "10.200.0.0/16", "size": 24}], "data-root": None},
    )
    assert "data-root" not in merged
    assert merged["default-address-pools"] == [{"base": "10.200.0.0/16", "size": 24}]


def test_rendering_is_stable_and_round_trips():
    text = render_daemon_json(DEFAULTS)
    assert text.endswith("}\n")
    assert text == render_daemon_json(json.loads(text))
    assert parse_daemon_json(text) == DEFAULTS
    assert parse_daemon_json("") == {}
    with pytest.raises(ValueError):
        parse_daemon_json("[]")


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"live-restore": "yes"}, "live-restore: dockerd expects a boolean"),
        ({"log-opts": {"max-file": 3}}, "log-opts.max-file: dockerd takes log options as strings"),
        ({"hosts": "unix:///var/run/docker.sock"}, "hosts: dockerd expects a list"),
        ({"mtu": True}, "mtu: dockerd expects a number"),
        ({"default-address-pools": [{"base": "10.0.0.0/8"}]}, "default-address-pools[0]"),
        ({"data-root": "docker"}, "data-root: must be an absolute path"),
        (
            {"storage-drvier": "overlay2"},
            "storage-drvier: not a dockerd option (did you mean storage-driver?)",
        ),
        (
            {"default-address-pools": [{"base": "10.0.0.0/33", "size": 24}]},
            "default-address-pools[0]: base '10.0.0.0/33' is not a network",
        ),
        (
            {"default-address-pools": [{"base": "10.0.0.0/16", "size": 8}]},
            "default-address-pools[0]: size /8 does not fit in base 10.0.0.0/16",
        ),
    ],
)
def test_invalid_values_are_named(options, fragment):
    problems = validate_daemon_config(merge_options(DEFAULTS, options))
    assert any(fragment in p for p in problems), problems


def test_defaults_are_valid():
    assert validate_daemon_config(DEFAULTS) == []
    assert daemon_config_warnings(DEFAULTS) == []


def test_risky_but_accepted_settings_are_warned_about():
    warnings = daemon_config_warnings(merge_options(DEFAULTS, {"live-restore": None}))
    assert warnings == [
        "live-restore is off: every Docker restart (this role's, a package update's) stops "
        "every user's container"
    ]
    warnings = daemon_config_warnings(merge_options(DEFAULTS, {"future-option": 1}))
    assert warnings == [
        "daemon option 'future-option' is unknown to labstack (dockerd 20.10-29 refuses unknown "
        "options; newer releases may know it)"
    ]
    assert validate_daemon_config(merge_options(DEFAULTS, {"future-option": 1})) == []


# --- log drivers without rotation (item 7) ---------------------------------------------------


@pytest.mark.parametrize("driver", ["journald", "syslog", "gelf", "none", "loki"])
def test_other_log_driver_drops_the_default_rotation_opts(driver):
    config = daemon_config(DEFAULTS, {"log-driver": driver})
    assert config["log-driver"] == driver
    assert "log-opts" not in config
    assert validate_daemon_config(config) == []


def test_other_log_driver_keeps_only_the_admins_own_log_opts():
    config = daemon_config(
        DEFAULTS, {"log-driver": "syslog", "log-opts": {"syslog-address": "udp://10.0.0.1:514"}}
    )
    assert config["log-opts"] == {"syslog-address": "udp://10.0.0.1:514"}
    assert validate_daemon_config(config) == []


@pytest.mark.parametrize("driver", ["json-file", "local"])
def test_rotating_log_drivers_keep_the_defaults(driver):
    config = daemon_config(DEFAULTS, {"log-driver": driver, "log-opts": {"max-size": "50m"}})
    assert config["log-opts"] == {"max-size": "50m", "max-file": "3"}
    assert daemon_config(DEFAULTS, {}) == merge_options(DEFAULTS, {})


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"log-opts": {"max-size": "10 megabytes"}}, "'10 megabytes' is not a positive size"),
        ({"log-opts": {"max-size": "ten"}}, "log-opts.max-size: 'ten' is not a positive size"),
        ({"log-opts": {"max-size": "0"}}, "log-opts.max-size: '0' is not a positive size"),
        ({"log-opts": {"max-file": "0"}}, "log-opts.max-file: '0' is not a whole number"),
        ({"log-opts": {"max-file": "3.5"}}, "log-opts.max-file: '3.5' is not a whole number"),
        (
            {"log-driver": "journald", "log-opts": {"max-size": "10m"}},
            "log-opts.max-size: log-driver journald does not take it",
        ),
    ],
)
def test_log_rotation_values_dockerd_refuses_are_named(options, fragment):
    problems = validate_daemon_config(daemon_config(DEFAULTS, options))
    assert any(fragment in p for p in problems), problems


@pytest.mark.parametrize("size", ["10m", "1g", "512k", "1.5m", "100", "20MiB", "2 g"])
def test_log_rotation_sizes_dockerd_takes(size):
    assert validate_daemon_config(daemon_config(DEFAULTS, {"log-opts": {"max-size": size}})) == []


# --- keys of newer dockerd releases (item 11) ------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"host-gateway-ips": ["172.17.0.1", "fd00::1"]},
        {"firewall-backend": "nftables"},
        {"allow-direct-routing": False},
        {"ip-forward-no-drop": True},
        {"bridge-accept-fwmark": "0x1/0x1"},
        {"nri-opts": {"enable": True}},
        {"host-gateway-ip": "172.17.0.1"},
    ],
)
def test_docker_28_and_29_keys_are_known(options):
    config = merge_options(DEFAULTS, options)
    assert validate_daemon_config(config) == []
    assert daemon_config_warnings(config) == []


def test_new_keys_still_catch_misspellings():
    problems = validate_daemon_config(merge_options(DEFAULTS, {"firewal-backend": "nftables"}))
    assert problems == [
        "firewal-backend: not a dockerd option (did you mean firewall-backend?); dockerd would "
        "refuse to start"
    ]


# --- reload or restart (item 4) --------------------------------------------------------------


def test_live_restore_alone_is_reloaded_not_restarted():
    before = merge_options(DEFAULTS, {"live-restore": False})
    assert changed_keys(before, DEFAULTS) == ["live-restore"]
    assert not restart_needed(["live-restore"])
    assert not restart_needed(["debug", "registry-mirrors"])
    assert restart_needed(["live-restore", "log-opts"])
    assert changed_keys({}, {"debug": True}) == ["debug"]
    assert "live-restore" in RELOADABLE_KEYS and "storage-driver" not in RELOADABLE_KEYS


# --- case 3: hosts vs -H fd:// ---------------------------------------------------------------


@pytest.mark.parametrize("unit", [DEBIAN_UNIT, DOCKER_CE_UNIT])
def test_case3_hosts_conflicts_with_the_units_fd_flag(unit):
    argv = effective_exec_start([unit])
    problems = flag_conflicts(
        merge_options(DEFAULTS, {"hosts": ["unix:///var/run/docker.sock"]}), argv
    )
    assert len(problems) == 1
    assert problems[0].startswith("hosts: ")
    assert "'-H fd://'" in problems[0]


def test_case3_no_conflict_with_the_default_options():
    for unit in (DEBIAN_UNIT, DOCKER_CE_UNIT, EL7_DOCKER_UNIT):
        assert flag_conflicts(DEFAULTS, effective_exec_start([unit])) == []


def test_case3_hosts_is_fine_when_a_drop_in_replaces_execstart():
    dropin = "[Service]\nExecStart=\nExecStart=/usr/sbin/dockerd\n"
    argv = effective_exec_start([DEBIAN_UNIT, dropin])
    assert argv == ["/usr/sbin/dockerd"]
    assert flag_conflicts({"hosts": ["unix:///var/run/docker.sock"]}, argv) == []


def test_flags_hidden_in_the_environment_file_conflict_too():
    env = parse_environment_file('# comment\nDOCKER_OPTS="--storage-driver=devicemapper -D"\n')
    argv = effective_exec_start([DEBIAN_UNIT], env)
    assert argv[-2:] == ["--storage-driver=devicemapper", "-D"]
    keys = sorted(k.split(":")[0] for k in flag_conflicts(DEFAULTS | {"debug": False}, argv))
    assert keys == ["debug", "storage-driver"]


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["dockerd", "-H", "fd://"], {"hosts": "-H"}),
        (["dockerd", "--host=tcp://0.0.0.0:2375"], {"hosts": "--host=tcp://0.0.0.0:2375"}),
        (["dockerd", "-g", "/srv/docker"], {"data-root": "-g"}),
        (["dockerd", "--data-root", "/srv/docker"], {"data-root": "--data-root"}),
        (["dockerd", "--log-opt", "max-size=1m"], {"log-opts": "--log-opt"}),
        (["dockerd", "--live-restore"], {"live-restore": "--live-restore"}),
        (["dockerd", "-s", "overlay2"], {"storage-driver": "-s"}),
        (["dockerd"], {}),
    ],
)
def test_flags_map_to_daemon_json_keys(argv, expected):
    assert dockerd_flag_keys(argv) == expected


def test_environment_files_and_expansion():
    files = environment_files([DEBIAN_UNIT, EL7_DOCKER_UNIT])
    assert files == [("/etc/default/docker", True), ("/etc/sysconfig/docker", True)]
    argv = effective_exec_start(
        [EL7_DOCKER_UNIT], {"OPTIONS": "--selinux-enabled --log-driver=journald"}
    )
    assert "--selinux-enabled" in argv and "--log-driver=journald" in argv
    assert "$DOCKER_STORAGE_OPTIONS" not in argv
    assert effective_exec_start(["[Service]\nExecStart=dockerd ${X}y\n"], {"X": "a b"}) == [
        "dockerd",
        "a by",
    ]


def test_no_execstart_gives_empty_argv():
    assert effective_exec_start(["[Unit]\nDescription=x\n"]) == []


# --- case 2: MountFlags=slave ----------------------------------------------------------------


def test_case2_a_drop_in_with_only_slave_can_go():
    new_text, removed, empty = strip_mountflags_slave("# mine\n[Service]\nMountFlags=slave\n")
    assert removed and empty
    assert "MountFlags" not in new_text


def test_case2_other_settings_of_a_drop_in_are_kept():
    text = "[Service]\nEnvironment=HTTP_PROXY=http://proxy:3128\nMountFlags = slave\n"
    new_text, removed, empty = strip_mountflags_slave(text)
    assert removed and not empty
    assert new_text == "[Service]\nEnvironment=HTTP_PROXY=http://proxy:3128\n"


def test_case2_shared_is_left_alone():
    text = "[Service]\nMountFlags=shared\n"
    assert strip_mountflags_slave(text) == (text, False, False)


def test_case2_effective_mountflags_follow_drop_in_order():
    shared = "[Service]\nMountFlags=shared\n"
    assert effective_setting([EL7_DOCKER_UNIT], "Service", "MountFlags") == "slave"
    assert effective_setting([EL7_DOCKER_UNIT, shared], "Service", "MountFlags") == "shared"
    assert effective_setting([DEBIAN_UNIT], "Service", "MountFlags") is None


@pytest.mark.parametrize(
    ("flags", "live_restore", "refused"),
    [
        ("slave", True, True),
        # A slave the role cannot remove is refused with live-restore off too.
        ("slave", False, True),
        ("private", False, True),
        ("shared", True, False),
        (None, True, False),
    ],
)
def test_case2_slave_or_private_left_in_effect_is_refused(flags, live_restore, refused):
    problems = propagation_problems(flags, live_restore)
    assert bool(problems) is refused
    if refused:
        assert "MountFlags=%s" % flags in problems[0] and "live-restore" in problems[0]


# --- case 1: fs.may_detach_mounts ------------------------------------------------------------


@pytest.mark.parametrize(
    ("exists", "current", "writable", "expected"),
    [
        (False, None, False, ("absent", False, False, False)),
        (True, "0", True, ("set", True, True, False)),
        (True, "1", True, ("already", False, True, False)),
        (True, "0", False, ("read-only", False, False, True)),
        (True, "1", False, ("already", False, True, False)),
    ],
)
def test_case1_may_detach_mounts_plan(exists, current, writable, expected):
    state, write, persist, warns = expected
    plan = plan_sysctl(exists, current, "1", writable)
    assert plan["state"] == state
    assert plan["write"] is write
    assert plan["persist"] is persist
    assert bool(plan["warning"]) is warns


def run_sysctl_module(tmp_path, proc_sys, check=False):
    params = {"name": "fs.may_detach_mounts", "value": "1", "proc_sys": str(proc_sys)}
    return run_module(tmp_path, "lab_optional_sysctl", params, check)


@pytest.fixture
def proc_with_sysctl(tmp_path):
    proc_sys = tmp_path / "proc-sys"
    (proc_sys / "fs").mkdir(parents=True)
    (proc_sys / "fs" / "may_detach_mounts").write_text("0\n")
    return proc_sys


def test_case1_module_sets_present_sysctl_then_is_unchanged(tmp_path, proc_with_sysctl):
    first = run_sysctl_module(tmp_path, proc_with_sysctl)
    assert first["changed"] and first["state"] == "set" and first["persist"]
    assert (proc_with_sysctl / "fs" / "may_detach_mounts").read_text().strip() == "1"
    second = run_sysctl_module(tmp_path, proc_with_sysctl)
    assert not second["changed"] and second["state"] == "already"


def test_case1_module_check_mode_changes_nothing(tmp_path, proc_with_sysctl):
    result = run_sysctl_module(tmp_path, proc_with_sysctl, check=True)
    assert result["changed"]
    assert (proc_with_sysctl / "fs" / "may_detach_mounts").read_text().strip() == "0"


def test_case1_module_absent_is_ok_and_unchanged(tmp_path):
    (tmp_path / "empty").mkdir()
    for _ in range(2):
        result = run_sysctl_module(tmp_path, tmp_path / "empty")
        assert not result["changed"] and result["state"] == "absent" and not result["persist"]


# --- kernel ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("release", "exists", "warns"),
    [
        ("3.10.0-514.el7.x86_64", False, True),  # EL7.3: no sysctl yet, EBUSY-prone
        ("3.10.0-1160.el7.x86_64", True, False),  # EL7.4+: has the sysctl
        ("3.19.0-80-generic", False, False),
        ("6.1.0-13-amd64", False, False),
    ],
)
def test_old_kernel_without_the_sysctl_warns(release, exists, warns):
    assert bool(kernel_warnings(release, exists)) is warns


def test_kernel_version_parses_and_rejects():
    assert kernel_version("6.18.44-fc-v1147") == (6, 18)
    with pytest.raises(ValueError):
        kernel_version("unknown")


# --- storage ---------------------------------------------------------------------------------

MOUNTINFO = """\
22 1 253:0 / / rw,relatime shared:1 - ext4 /dev/vda1 rw
30 22 253:16 / /var/lib/docker rw,relatime shared:2 - xfs /dev/vdb rw,attr2
31 22 0:50 / /srv/with\\040space rw - btrfs /dev/vdc rw
900 22 0:90 / /var/lib/docker/overlay2/abc/merged rw - overlay overlay rw,lowerdir=/x
"""


def test_mount_of_finds_the_deepest_mount():
    mounts = parse_mountinfo(MOUNTINFO)
    assert mount_of(mounts, "/var/lib/docker")[1] == "xfs"
    assert mount_of(mounts, "/var/lib/docker/volumes")[1] == "xfs"
    assert mount_of(mounts, "/var/lib/dockerx")[1] == "ext4"
    assert mount_of(mounts, "/srv/with space/docker")[1] == "btrfs"


def test_mount_of_reads_the_shared_mountinfo_case():
    fixtures = os.path.join(os.path.dirname(__file__), "..", "fixtures", "mountinfo")
    with open(os.path.join(fixtures, "holder-rootfs-prefix.mountinfo")) as handle:
        mounts = parse_mountinfo(handle.read())
    assert mount_of(mounts, "/")[1] == "overlay"
    assert mount_of(mounts, "/host/root/home/data/docker")[1] == "ext4"


@pytest.mark.parametrize(
    ("fstype", "ftype", "driver", "fragment"),
    [
        ("ext4", None, "overlay2", None),
        ("btrfs", None, "overlay2", None),
        ("xfs", 1, "overlay2", None),
        ("xfs", 0, "overlay2", "ftype=0"),
        ("xfs", None, "overlay2", "could not be read"),
        ("overlay", None, "overlay2", "overlayfs"),
        ("nfs4", None, "overlay2", "nfs4"),
        ("xfs", 0, "devicemapper", None),
    ],
)
def test_backing_filesystem_for_overlay2(fstype, ftype, driver, fragment):
    problems = backing_fs_problems("/var/lib/docker", fstype, ftype, driver)
    if fragment is None:
        assert problems == []
    else:
        assert len(problems) == 1 and fragment in problems[0]
        assert "data-root" in problems[0] or "/var/lib/docker" in problems[0]


@pytest.mark.parametrize(
    ("text", "ftype"),
    [
        ("naming =version 2 bsize=4096 ascii-ci=0, ftype=1", 1),
        ("naming =version 2 bsize=4096 ascii-ci=0 ftype=0", 0),
        ("no such line", None),
    ],
)
def test_xfs_ftype(text, ftype):
    assert parse_xfs_ftype(text) == ftype


CURRENT_DM = {
    "storage-driver": "devicemapper",
    "data-root": "/var/lib/docker",
    "containers": 4,
    "images": 7,
}


@pytest.mark.parametrize(
    ("current", "wanted", "allow", "fragment"),
    [
        (
            CURRENT_DM,
            {"storage-driver": "overlay2", "data-root": "/var/lib/docker"},
            False,
            "storage-driver devicemapper -> overlay2 would orphan 4 container(s) and 7 image(s)",
        ),
        (CURRENT_DM, {"storage-driver": "overlay2", "data-root": "/var/lib/docker"}, True, None),
        (
            dict(CURRENT_DM, **{"storage-driver": "overlay2"}),
            {"storage-driver": "overlay2", "data-root": "/srv/docker"},
            False,
            "data-root /var/lib/docker -> /srv/docker",
        ),
        (
            dict(CURRENT_DM, containers=0, images=0),
            {"storage-driver": "overlay2", "data-root": "/srv/docker"},
            False,
            None,
        ),
        ({}, {"storage-driver": "overlay2", "data-root": "/var/lib/docker"}, False, None),
        (
            dict(CURRENT_DM, **{"storage-driver": "overlay2"}),
            {"storage-driver": "overlay2", "data-root": "/var/lib/docker/"},
            False,
            None,
        ),
    ],
)
def test_storage_changes_that_orphan_data_are_refused(current, wanted, allow, fragment):
    problems = storage_change_problems(current, wanted, allow)
    if fragment is None:
        assert problems == []
    else:
        assert fragment in problems[0]
        assert "docker_engine_allow_storage_migration" in problems[0]


def test_symlinked_data_root_is_no_move(tmp_path):
    """dockerd reports /var/lib/docker -> /srv/docker as /srv/docker: same directory, no move."""
    target = tmp_path / "srv-docker"
    target.mkdir()
    link = tmp_path / "var-lib-docker"
    link.symlink_to(target)
    current = {"storage-driver": "overlay2", "data-root": str(target), "containers": 3, "images": 2}
    wanted = {"storage-driver": "overlay2", "data-root": str(link)}
    assert storage_change_problems(current, wanted, False, resolve=os.path.realpath) == []
    # Without resolving it looks like a move (the audit's bug), and a real move is still refused.
    assert storage_change_problems(current, wanted, False)
    (tmp_path / "elsewhere").mkdir()
    moved = {"storage-driver": "overlay2", "data-root": str(tmp_path / "elsewhere")}
    problems = storage_change_problems(current, moved, False, resolve=os.path.realpath)
    assert problems and "data-root" in problems[0]


def test_existing_drivers_from_data_root_entries():
    entries = ["containers", "devicemapper", "image", "overlay2", "volumes", "tmp"]
    assert existing_drivers(entries) == ["devicemapper", "overlay2"]


# --- report ----------------------------------------------------------------------------------


def test_report_summarises_docker_info():
    info = {
        "ServerVersion": "20.10.24+dfsg1",
        "Driver": "overlay2",
        "DriverStatus": [["Backing Filesystem", "extfs"], ["Supports d_type", "true"]],
        "DockerRootDir": "/var/lib/docker",
        "LiveRestoreEnabled": True,
        "LoggingDriver": "json-file",
    }
    report = build_report(info, "shared", True, "absent", "systemd")
    assert report == {
        "engine_version": "20.10.24+dfsg1",
        "storage_driver": "overlay2",
        "backing_filesystem": "extfs",
        "supports_d_type": "true",
        "data_root": "/var/lib/docker",
        "live_restore": True,
        "logging_driver": "json-file",
        "mount_propagation": "shared (host mount namespace)",
        "may_detach_mounts": "absent",
        "service_manager": "systemd",
    }
    assert build_report({}, "slave", False, "set", "direct")["mount_propagation"] == "slave"
    # A server that is itself a container: same namespace as PID 1, but a slave data-root mount.
    slave = build_report(info, None, True, "absent", "direct", data_root_kind="slave")
    assert slave["mount_propagation"] == (
        "slave (host mount namespace, but the data-root's mount is slave)"
    )
    shared = build_report(info, None, True, "absent", "direct", data_root_kind="shared")
    assert shared["mount_propagation"] == ("shared (host mount namespace)")


def test_the_mount_holding_the_data_root_is_the_deepest_one():
    table = parse_mount_table(
        "1 0 8:1 / / rw shared:1 - ext4 /dev/sda1 rw\n"
        "2 1 8:2 / /var rw shared:2 - ext4 /dev/sda2 rw\n"
        "3 2 8:3 / /var/lib/docker rw master:7 - ext4 /dev/sda3 rw\n"
        "4 1 8:4 / /var/lib/dockerish rw - ext4 /dev/sda4 rw\n"
    )
    assert holding_mount(table, "/var/lib/docker")["mount_id"] == 3
    assert holding_mount(table, "/var/lib/docker/")["propagation"] == "slave"
    assert holding_mount(table, "/var/lib/dock")["mount_id"] == 2
    assert holding_mount(table, "/srv/docker")["mount_id"] == 1


# --- lab_daemon_config: validate before replacing ---------------------------------------------


def test_case3_module_refuses_hosts_and_leaves_the_file(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text('{"live-restore": true}\n')
    result = run_module(
        tmp_path,
        "lab_daemon_config",
        {
            "path": str(path),
            "config": dict(DEFAULTS, hosts=["unix:///var/run/docker.sock"]),
            "dockerd_args": ["/usr/sbin/dockerd", "-H", "fd://"],
            "backup_path": str(tmp_path / "previous"),
        },
    )
    assert result["failed"]
    assert "hosts:" in result["msg"] and str(path) in result["msg"]
    assert path.read_text() == '{"live-restore": true}\n'
    assert not (tmp_path / "previous").exists()


def test_case4_module_writes_keeps_previous_then_is_idempotent(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text(render_daemon_json(DEFAULTS))
    params = {
        "path": str(path),
        "config": merge_options(DEFAULTS, {"log-opts": {"max-size": "20m"}}),
        "backup_path": str(tmp_path / "previous"),
    }
    check = run_module(tmp_path, "lab_daemon_config", params, check=True)
    assert check["changed"] and json.loads(path.read_text()) == DEFAULTS
    first = run_module(tmp_path, "lab_daemon_config", params)
    assert first["changed"]
    assert json.loads(path.read_text())["log-opts"] == {"max-size": "20m", "max-file": "3"}
    assert json.loads((tmp_path / "previous").read_text()) == DEFAULTS
    assert "20m" in first["diff"]["after"] and "10m" in first["diff"]["before"]
    assert not run_module(tmp_path, "lab_daemon_config", params)["changed"]


def test_module_says_which_keys_changed_and_whether_a_reload_is_enough(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text(render_daemon_json(merge_options(DEFAULTS, {"live-restore": False})))
    params = {"path": str(path), "config": DEFAULTS, "backup_path": str(tmp_path / "previous")}
    result = run_module(tmp_path, "lab_daemon_config", params, check=True)
    assert result["changed_keys"] == ["live-restore"] and result["restart_needed"] is False
    assert result["created"] is False
    params["config"] = merge_options(DEFAULTS, {"log-opts": {"max-size": "20m"}})
    result = run_module(tmp_path, "lab_daemon_config", params, check=True)
    assert result["changed_keys"] == ["live-restore", "log-opts"] and result["restart_needed"]


def test_first_write_removes_a_stale_backup_so_no_rollback_restores_it(tmp_path):
    path = tmp_path / "daemon.json"
    stale = tmp_path / "previous"
    stale.write_text('{"storage-driver": "devicemapper"}\n')
    params = {"path": str(path), "config": DEFAULTS, "backup_path": str(stale)}
    result = run_module(tmp_path, "lab_daemon_config", params)
    assert result["changed"] and result["created"] and result["restart_needed"]
    assert "backup" not in result
    assert not stale.exists()
    assert json.loads(path.read_text()) == DEFAULTS


def test_module_treats_reformatted_equal_json_as_unchanged(tmp_path):
    path = tmp_path / "daemon.json"
    path.write_text(json.dumps(DEFAULTS))  # one line, other key order
    result = run_module(tmp_path, "lab_daemon_config", {"path": str(path), "config": DEFAULTS})
    assert not result["changed"]


# --- lab_docker_unit: drop-ins read from disk in systemd's order ------------------------------


def test_case2_module_cleans_admin_drop_ins_and_reads_execstart(tmp_path):
    lib = tmp_path / "lib"
    etc = tmp_path / "etc"
    (lib / "docker.service.d").mkdir(parents=True)
    (etc / "docker.service.d").mkdir(parents=True)
    (lib / "docker.service").write_text(
        DEBIAN_UNIT.replace("-/etc/default/docker", "-/nonexistent")
    )
    (etc / "docker.service.d" / "override.conf").write_text("[Service]\nMountFlags=slave\n")
    (etc / "docker.service.d" / "proxy.conf").write_text(
        "[Service]\nEnvironment=HTTP_PROXY=http://p:3128\nMountFlags=slave\n"
    )
    params = {
        "unit_dirs": [str(etc), str(lib)],
        "editable_dirs": [str(etc)],
        "live_restore": True,
    }
    check = run_module(tmp_path, "lab_docker_unit", params, check=True)
    assert check["changed"] and (etc / "docker.service.d" / "override.conf").exists()
    result = run_module(tmp_path, "lab_docker_unit", params)
    assert result["changed"]
    assert result["removed"] == [str(etc / "docker.service.d" / "override.conf")]
    assert result["edited"] == [str(etc / "docker.service.d" / "proxy.conf")]
    assert not (etc / "docker.service.d" / "override.conf").exists()
    assert "HTTP_PROXY" in (etc / "docker.service.d" / "proxy.conf").read_text()
    assert result["exec_start"][:3] == ["/usr/sbin/dockerd", "-H", "fd://"]
    assert result["mount_flags"] is None
    # ansible-core 2.19 returns warnings as structured events: search their text.
    assert json.dumps(result["warnings"]).count("MountFlags=slave") >= 2
    assert not run_module(tmp_path, "lab_docker_unit", params)["changed"]


def test_case2_module_refuses_slave_it_may_not_edit_with_live_restore(tmp_path):
    lib = tmp_path / "lib"
    lib.mkdir()
    (lib / "docker.service").write_text(EL7_DOCKER_UNIT)
    params = {"unit_dirs": [str(lib)], "editable_dirs": [], "live_restore": True}
    result = run_module(tmp_path, "lab_docker_unit", params)
    assert result["failed"] and "MountFlags=slave" in result["msg"]
    params["live_restore"] = False
    result = run_module(tmp_path, "lab_docker_unit", params)
    assert result["failed"] and str(lib / "docker.service") in result["msg"]


@pytest.mark.parametrize("name", ["60-vendor-slave.conf", "zz-slave.conf"])
def test_item9_slave_drop_in_under_run_after_the_roles_is_refused_naming_it(tmp_path, name):
    """live-restore off: a slave the role may not remove is still refused, naming the file."""
    etc, run, lib = tmp_path / "etc", tmp_path / "run", tmp_path / "lib"
    (run / "docker.service.d").mkdir(parents=True)
    lib.mkdir()
    (lib / "docker.service").write_text(DEBIAN_UNIT.replace("-/etc/default/docker", "-/none"))
    (run / "docker.service.d" / name).write_text("[Service]\nMountFlags=slave\n")
    params = {
        "unit_dirs": [str(etc), str(run), str(lib)],
        "editable_dirs": [str(etc)],
        "live_restore": False,
        "assume_dropins": {"50-labstack-mount-propagation.conf": "[Service]\nMountFlags=shared\n"},
    }
    result = run_module(tmp_path, "lab_docker_unit", params, check=True)
    assert result["failed"]
    assert str(run / "docker.service.d" / name) in result["msg"]
    assert "MountFlags=slave" in result["msg"]
    assert (run / "docker.service.d" / name).exists()


def test_item9_slave_drop_in_sorting_before_the_roles_is_overridden(tmp_path):
    etc, run, lib = tmp_path / "etc", tmp_path / "run", tmp_path / "lib"
    (run / "docker.service.d").mkdir(parents=True)
    lib.mkdir()
    (lib / "docker.service").write_text(EL7_DOCKER_UNIT)
    (run / "docker.service.d" / "10-slave.conf").write_text("[Service]\nMountFlags=slave\n")
    params = {
        "unit_dirs": [str(etc), str(run), str(lib)],
        "editable_dirs": [str(etc)],
        "live_restore": True,
        "assume_dropins": {"50-labstack-mount-propagation.conf": "[Service]\nMountFlags=shared\n"},
    }
    result = run_module(tmp_path, "lab_docker_unit", params, check=True)
    assert not result.get("failed"), result
    assert result["mount_flags"] == "shared" and result["found"]
    # Nothing was written: the assumed drop-in is only judged.
    assert not etc.exists()


def test_effective_setting_source_names_the_last_file():
    units = [
        ("/lib/docker.service", EL7_DOCKER_UNIT),
        ("/etc/d/50.conf", "[Service]\nMountFlags=shared\n"),
    ]
    assert effective_setting_source(units, "Service", "MountFlags") == ("shared", "/etc/d/50.conf")
    units.append(("/run/d/60.conf", "[Service]\nMountFlags=\n"))
    assert effective_setting_source(units, "Service", "MountFlags") == (None, None)


@pytest.mark.parametrize(
    ("config", "present", "problem"),
    [
        ({"log-driver": "journald"}, set(), "journald is not running on this host"),
        ({"log-driver": "journald"}, {"/run/systemd/journal/socket"}, None),
        ({"log-driver": "syslog"}, set(), "syslog needs a syslog daemon at /dev/log"),
        ({"log-driver": "syslog"}, {"/dev/log"}, None),
        (
            {"log-driver": "syslog", "log-opts": {"syslog-address": "udp://10.0.0.5:514"}},
            set(),
            None,
        ),
        ({"log-driver": "json-file"}, set(), None),
        ({}, set(), None),
    ],
)
def test_a_log_driver_the_host_cannot_serve_is_refused(config, present, problem):
    # Found by a break-it trial: journald on a host without journald restarted dockerd fine,
    # then every new container failed "failed to initialize logging driver".
    problems = log_driver_host_problems(config, present.__contains__)
    if problem is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problem in problems[0]
