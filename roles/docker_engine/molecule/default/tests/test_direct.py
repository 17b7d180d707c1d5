"""docker_engine on a host whose PID 1 is not systemd: dockerd started directly."""

import json

testinfra_hosts = ["ansible://lstest-molecule-engine-direct"]


def test_dockerd_started_by_the_helper(host):
    assert host.file("/usr/local/sbin/labstack-dockerd").mode == 0o755
    assert host.run("/usr/local/sbin/labstack-dockerd status").stdout.strip() == "running"
    pid = host.file("/var/run/docker.pid").content_string.strip()
    assert host.file("/proc/%s/cmdline" % pid).content_string.startswith("dockerd")


def test_daemon_json_and_docker_info(host):
    config = json.loads(host.file("/etc/docker/daemon.json").content_string)
    assert config["live-restore"] is True
    assert config["log-opts"]["max-size"] == "10m"
    info = json.loads(host.check_output("docker info --format '{{json .}}'"))
    assert info["Driver"] == "overlay2"
    assert info["LiveRestoreEnabled"] is True
    assert info["DockerRootDir"] == "/var/lib/docker"


def test_no_systemd_drop_in_written(host):
    assert not host.file(
        "/etc/systemd/system/docker.service.d/50-labstack-mount-propagation.conf"
    ).exists


def test_container_survived_the_direct_restart(host):
    record = json.loads(host.file("/var/lib/lstest-restart.json").content_string)
    before, after = record["before"], record["after"]
    assert after[0] == before[0]
    assert after[1] != before[1]
    assert after[2] == "true"


def test_live_restore_turned_on_by_reload_before_the_restart(host):
    """An existing dockerd with live-restore off: the converge kept the container running."""
    record = json.loads(host.file("/var/lib/lstest-live-restore.json").content_string)
    before, after = record["before"], record["after"]
    assert before[2] == "false"
    assert after[0] == before[0]  # same container id and StartedAt
    assert after[1] != before[1]  # dockerd was restarted (log-opts changed)
    assert after[2] == "true" and after[3] == "true"
