"""Parsers of /proc mount tables and cgroup files; readers that survive processes exiting."""

import errno
import os
import random

import pytest
from ansible.module_utils.labstack_mounts import (
    mount_ns,
    namespaces,
    parse_mount_table,
    parse_mountinfo_line,
    parse_mounts_line,
    read_mounts,
    unescape,
    unit_from_cgroup,
)

FIXTURES = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "mountinfo")


def kernel_escape(text):
    """What the kernel does to mount fields (fs/proc_namespace.c: mangle " \t\n\\")."""
    return "".join("\\%03o" % ord(c) if c in " \t\n\\" else c for c in text)


def test_escaped_space_in_mount_point():
    line = "120 25 0:50 / /mnt/my\\040data\\011tab rw,relatime shared:60 - ext4 /dev/sdb1 rw"
    entry = parse_mountinfo_line(line)
    assert entry["mount_point"] == "/mnt/my data\ttab"
    assert entry["source"] == "/dev/sdb1"
    assert entry["fstype"] == "ext4"


def test_backslash_is_unescaped_once():
    assert unescape("/a\\134040b") == "/a\\040b"


# Characters the kernel does not escape but str.splitlines() / str.split() treat as breaks.
UNESCAPED_BREAKS = "\r\v\f\x1c\x1d\x1e\x85\u2028\u2029\u00a0\u3000\u1680"


@pytest.mark.parametrize("seed", range(5))
def test_escape_roundtrip_in_both_formats(seed):
    rng = random.Random(seed)
    alphabet = "ab/ \t\n\\-_.:,=x0" + UNESCAPED_BREAKS
    for _ in range(100):
        point = "/" + "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30)))
        source = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 8)))
        mi = parse_mountinfo_line(
            "1 2 0:3 / %s rw master:4 - tmpfs %s rw" % (kernel_escape(point), kernel_escape(source))
        )
        mo = parse_mounts_line("%s %s tmpfs rw 0 0" % (kernel_escape(source), kernel_escape(point)))
        assert mi["mount_point"] == point
        assert mo["mount_point"] == point
        assert (mi["source"], mo["source"]) == (source, source)
        assert mo["fstype"] == "tmpfs"


@pytest.mark.parametrize("seed", range(5))
def test_whole_tables_roundtrip_with_unescaped_break_characters(seed):
    rng = random.Random(seed)
    alphabet = "ab/ \t\n\\-_x" + UNESCAPED_BREAKS
    points = [
        "/" + "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 20))) for _ in range(30)
    ]
    mountinfo = "".join(
        "%d 1 0:%d / %s rw shared:%d - tmpfs tmpfs rw\n" % (i + 10, i, kernel_escape(p), i)
        for i, p in enumerate(points)
    )
    mounts = "".join("tmpfs %s tmpfs rw 0 0\n" % kernel_escape(p) for p in points)
    assert [m["mount_point"] for m in parse_mount_table(mountinfo)] == points
    assert [m["mount_point"] for m in parse_mount_table(mounts)] == points


def test_empty_source_field_in_mounts_format_keeps_the_fields_in_place():
    (entry,) = parse_mount_table(" /mnt/x tmpfs rw,nosuid 0 0\n")
    assert (entry["source"], entry["mount_point"], entry["fstype"]) == ("", "/mnt/x", "tmpfs")
    assert entry["options"] == {"rw": True, "nosuid": True}


def test_read_mounts_keeps_a_carriage_return_in_a_path(tmp_path):
    proc = make_proc(tmp_path, {30: "mnt:[1]"})
    (tmp_path / "30" / "mountinfo").write_bytes(
        b"1 0 0:1 / / rw - ext4 /dev/sda1 rw\n2 1 0:2 / /mnt/a\rb\x0bc rw - tmpfs x rw\n"
    )
    assert [m["mount_point"] for m in read_mounts(30, proc)] == ["/", "/mnt/a\rb\x0bc"]


@pytest.mark.parametrize(
    ("optional", "propagation", "shared", "master"),
    [
        ("", "private", None, None),
        ("shared:7", "shared", 7, None),
        ("master:3", "slave", None, 3),
        ("shared:7 master:3", "slave", 7, 3),
        ("master:3 propagate_from:2", "slave", None, 3),
        ("unbindable", "unbindable", None, None),
    ],
)
def test_optional_fields_and_propagation(optional, propagation, shared, master):
    fields = "36 35 98:0 /mnt1 /mnt2 rw,noatime %s - ext3 /dev/root rw,errors=continue"
    entry = parse_mountinfo_line((fields % optional).replace("  ", " "))
    assert entry["propagation"] == propagation
    assert entry["shared"] == shared
    assert entry["master"] == master
    assert entry["mount_point"] == "/mnt2"
    assert entry["root"] == "/mnt1"
    assert entry["super_options"] == {"rw": True, "errors": "continue"}


def test_overlay_super_options_keep_colons_and_equals():
    entry = parse_mountinfo_line(
        "3661 3385 0:942 / /m rw,relatime - overlay overlay "
        "rw,lowerdir=/d/l/AB:/d/l/CD,upperdir=/d/overlay2/x/diff,workdir=/d/overlay2/x/work"
    )
    assert entry["super_options"]["lowerdir"] == "/d/l/AB:/d/l/CD"
    assert entry["super_options"]["upperdir"] == "/d/overlay2/x/diff"


def test_garbled_lines_are_skipped():
    assert parse_mountinfo_line("not a mount line") is None
    assert parse_mounts_line("short line") is None
    assert parse_mount_table("\n\ngarbage\n") == []


def test_holder_fixture_parses_as_mountinfo():
    with open(os.path.join(FIXTURES, "holder-rootfs-prefix.mountinfo")) as handle:
        table = parse_mount_table(handle.read())
    assert [m["format"] for m in table] == ["mountinfo"] * 3
    assert table[1]["mount_point"] == "/host/root/home/data/docker/overlay/b2b9c0ffee1d/merged"
    assert table[1]["super_options"]["upperdir"] == "/home/data/docker/overlay/b2b9c0ffee1d/upper"
    assert table[1]["propagation"] == "private"


def test_devicemapper_fixture_parses_as_mounts():
    with open(os.path.join(FIXTURES, "devicemapper.mounts")) as handle:
        table = parse_mount_table(handle.read())
    assert [m["format"] for m in table] == ["mounts"] * 3
    assert table[0]["source"] == "/dev/mapper/docker-202:1-263562-b870aa11"
    assert table[0]["mount_point"] == "/var/lib/docker/devicemapper/mnt/b870aa11"
    assert table[0]["fstype"] == "xfs"
    assert table[0]["propagation"] == "unknown"


@pytest.mark.parametrize(
    ("text", "unit", "container"),
    [
        ("0::/system.slice/ntpd.service\n", "ntpd.service", None),
        (
            "12:pids:/docker/%s\n1:name=systemd:/docker/%s\n" % ("a" * 64, "a" * 64),
            None,
            "a" * 64,
        ),
        ("0::/system.slice/docker-%s.scope\n" % ("b" * 64), None, "b" * 64),
        ("0::/user.slice/user-0.slice/session-3.scope\n", "session-3.scope", None),
        ("0::/\n", None, None),
        ("", None, None),
        # systemd inside a container: the unit is the container's, not the host's.
        (
            "0::/system.slice/docker-%s.scope/system.slice/nginx.service\n" % ("c" * 64),
            None,
            "c" * 64,
        ),
        ("0::/docker/%s/system.slice/cron.service\n" % ("d" * 64), None, "d" * 64),
        # cgroup v1: the name=systemd line names the unit, whatever the controller lines say.
        (
            "12:pids:/system.slice/other.service\n11:memory:/\n"
            "1:name=systemd:/system.slice/ntpd.service\n",
            "ntpd.service",
            None,
        ),
        # v1 without name=systemd: a controller line; hybrid: the 0:: line before controllers.
        ("5:pids:/system.slice/ntpd.service\n4:cpu,cpuacct:/\n", "ntpd.service", None),
        ("3:memory:/system.slice/a.service\n0::/system.slice/b.service\n", "b.service", None),
    ],
)
def test_unit_from_cgroup(text, unit, container):
    found = unit_from_cgroup(text)
    assert found["unit"] == unit
    assert found["container_id"] == container


@pytest.mark.parametrize(
    ("path", "unit", "user"),
    [
        (
            "/user.slice/user-1000.slice/user@1000.service/app.slice/syncd.service",
            "syncd.service",
            "1000",
        ),
        ("/user.slice/user-1000.slice/user@1000.service/init.scope", "init.scope", "1000"),
        ("/user.slice/user-1000.slice/user@1000.service", "user@1000.service", None),
        ("/system.slice/ntpd.service", "ntpd.service", None),
    ],
)
def test_user_units_carry_their_uid(path, unit, user):
    found = unit_from_cgroup("0::%s\n" % path)
    assert (found["unit"], found["user"]) == (unit, user)


def make_proc(tmp_path, pids):
    for pid, ns in pids.items():
        os.makedirs(tmp_path / str(pid) / "ns")
        if ns:
            os.symlink(ns, tmp_path / str(pid) / "ns" / "mnt")
    return str(tmp_path)


def test_process_that_exited_is_skipped(tmp_path):
    proc = make_proc(tmp_path, {10: "mnt:[1]", 11: None, 12: "mnt:[2]"})
    (tmp_path / "10" / "mountinfo").write_text("1 0 0:1 / / rw - ext4 /dev/sda1 rw\n")
    # 11 has no ns link and 12 no mount files: both exited between listing and reading.
    assert namespaces(proc) == {"mnt:[1]": [10], "mnt:[2]": [12]}
    assert read_mounts(12, proc) is None
    assert mount_ns(11, proc) is None
    assert read_mounts(10, proc)[0]["mount_point"] == "/"


def test_read_mounts_falls_back_to_mounts_format(tmp_path):
    proc = make_proc(tmp_path, {20: "mnt:[1]"})
    (tmp_path / "20" / "mounts").write_text("/dev/sda1 / ext4 rw 0 0\n")
    assert read_mounts(20, proc)[0]["format"] == "mounts"


@pytest.mark.parametrize("code", [errno.ESRCH, errno.ENOENT, errno.EACCES])
def test_vanishing_errors_are_not_fatal(monkeypatch, code):
    def gone(path):
        raise OSError(code, os.strerror(code), path)

    monkeypatch.setattr(os, "readlink", gone)
    assert mount_ns(1) is None


def test_real_proc_of_this_process():
    table = read_mounts(os.getpid())
    assert any(m["mount_point"] == "/" for m in table)
    assert mount_ns("self").startswith("mnt:[")
