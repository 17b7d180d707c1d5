"""What an admin would check on a host converged by docker_engine (Debian 12, systemd, DinD)."""

import json

import pytest

testinfra_hosts = ["ansible://lstest-molecule-engine-debian12"]


def docker_info(host):
    return json.loads(host.check_output("docker info --format '{{json .}}'"))


def test_engine_package_installed(host):
    assert host.package("docker.io").is_installed


def test_daemon_json_has_the_safe_defaults(host):
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["storage-driver"] == "overlay2"
    assert config["live-restore"] is True
    assert config["log-driver"] == "json-file"
    assert config["log-opts"] == {"max-size": "10m", "max-file": "3"}
    assert config["data-root"] == "/var/lib/docker"
    assert config["default-address-pools"] == [{"base": "172.17.0.0/12", "size": 24}]
    assert "hosts" not in config
    assert host.file("/etc/docker/daemon.json").mode == 0o644


def test_dockerd_runs_under_systemd(host):
    service = host.service("docker")
    assert service.is_running
    assert service.is_enabled


def test_docker_info_shows_overlay2_live_restore_and_data_root(host):
    info = docker_info(host)
    assert info["Driver"] == "overlay2"
    assert dict(info["DriverStatus"])["Supports d_type"] == "true"
    assert info["LiveRestoreEnabled"] is True
    assert info["DockerRootDir"] == "/var/lib/docker"
    assert info["LoggingDriver"] == "json-file"


def test_mount_propagation_drop_in(host):
    dropin = host.file("/etc/systemd/system/docker.service.d/50-labstack-mount-propagation.conf")
    assert dropin.exists
    assert "MountFlags=shared" in dropin.content_string
    assert "Ansible managed" in dropin.content_string
    for path in host.check_output("ls /etc/systemd/system/docker.service.d").split():
        text = host.file("/etc/systemd/system/docker.service.d/" + path).content_string
        settings = [line.replace(" ", "") for line in text.splitlines() if not line.startswith("#")]
        assert "MountFlags=slave" not in settings, path
    assert host.check_output("systemctl show -p MountFlags --value docker") == "shared"


def test_dockerd_shares_the_host_mount_namespace(host):
    pid = host.check_output("systemctl show -p MainPID --value docker")
    assert host.check_output("readlink /proc/%s/ns/mnt" % pid) == host.check_output(
        "readlink /proc/1/ns/mnt"
    )


def test_may_detach_mounts_decided_by_the_proc_file(host):
    # This kernel (6.x) has no fs.may_detach_mounts: nothing may be written for it.
    assert not host.file("/proc/sys/fs/may_detach_mounts").exists
    assert not host.file("/etc/sysctl.d/90-labstack-docker.conf").exists


def test_no_stale_previous_daemon_json_after_a_good_restart(host):
    """The kept file is only for the rollback of the run that wrote it: a later failed restart
    (e.g. for a drop-in) must never put a months-old daemon.json back."""
    assert not host.file("/etc/docker/daemon.json.labstack-previous").exists


@pytest.fixture
def restart_record(host):
    return json.loads(host.file("/var/lib/lstest-restart.json").content_string)


def test_container_survived_the_restart_with_same_id_and_start_time(restart_record):
    before, after = restart_record["before"], restart_record["after"]
    assert after[0] == before[0]  # "<id> <StartedAt>"
    assert after[1] != before[1]  # dockerd's pid: it did restart
    assert after[2] == "true"


def test_container_still_running_after_all_restarts(host):
    state = host.check_output("docker inspect -f '{{.State.Running}}' lstest-sleeper")
    assert state == "true"
