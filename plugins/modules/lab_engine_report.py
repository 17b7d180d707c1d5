#!/usr/bin/python
"""Ansible module: summarise a Docker Engine host for the admin and the later layers."""

DOCUMENTATION = r"""
---
module: lab_engine_report
short_description: Summarise the Docker Engine (version, storage, data-root, propagation)
description:
  - Reads C(docker info) and compares dockerd's mount namespace with PID 1's, and returns a
    short report. Changes nothing.
options:
  manager:
    description: How dockerd is run (C(systemd) or C(direct)), for the report.
    type: str
    default: unknown
  mount_flags:
    description: The effective MountFlags of the docker unit (from M(lab_docker_unit)).
    type: str
  may_detach_mounts:
    description: What was done about fs.may_detach_mounts (from M(lab_optional_sysctl)).
    type: str
    default: not managed
  pidfile:
    description: dockerd's pid file.
    type: path
    default: /var/run/docker.pid
attributes:
  check_mode:
    support: full
  diff_mode:
    support: none
  idempotent:
    support: full
author: labstack
"""

EXAMPLES = r"""
- name: Read the engine's state
  lab_engine_report:
    manager: systemd
    mount_flags: shared
    may_detach_mounts: absent
  register: __docker_engine_report
"""

RETURN = r"""
report:
  description: The summary.
  returned: always
  type: dict
  sample: {"engine_version": "20.10.24+dfsg1", "storage_driver": "overlay2",
           "data_root": "/var/lib/docker", "live_restore": true,
           "mount_propagation": "shared (host mount namespace)", "may_detach_mounts": "absent",
           "service_manager": "systemd"}
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.labstack_engine import build_report
from ansible.module_utils.labstack_mounts import holding_mount, parse_mount_table


def same_mount_namespace(pidfile):
    """Whether dockerd shares PID 1's mount namespace (None when it cannot be told)."""
    try:
        with open(pidfile) as handle:
            pid = handle.read().strip()
        return os.readlink("/proc/%s/ns/mnt" % pid) == os.readlink("/proc/1/ns/mnt")
    except (OSError, ValueError):
        return None


def data_root_kind(pidfile, data_root):
    """Propagation of the mount holding data-root, as dockerd sees it (None if unreadable)."""
    try:
        with open(pidfile) as handle:
            pid = int(handle.read().strip())
        with open("/proc/%d/mountinfo" % pid, newline="") as handle:
            mount = holding_mount(parse_mount_table(handle.read()), data_root)
    except (OSError, ValueError):
        return None
    return mount["propagation"] if mount else None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            manager=dict(type="str", default="unknown"),
            mount_flags=dict(type="str"),
            may_detach_mounts=dict(type="str", default="not managed"),
            pidfile=dict(type="path", default="/var/run/docker.pid"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    info = {}
    docker = module.get_bin_path("docker")
    if docker:
        rc, out, err = module.run_command([docker, "info", "--format", "{{json .}}"])
        if rc == 0 and out.strip().startswith("{"):
            info = json.loads(out)
        else:
            module.warn("docker info failed: %s" % (err or out).strip())
    report = build_report(
        info,
        params["mount_flags"],
        same_mount_namespace(params["pidfile"]),
        params["may_detach_mounts"],
        params["manager"],
        data_root_kind=data_root_kind(
            params["pidfile"], info.get("DockerRootDir") or "/var/lib/docker"
        ),
    )
    module.exit_json(changed=False, report=report)


if __name__ == "__main__":
    main()
