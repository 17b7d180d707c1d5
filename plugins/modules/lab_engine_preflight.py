#!/usr/bin/python
"""Ansible module: check a host before the docker_engine role changes anything on it."""

DOCUMENTATION = r"""
---
module: lab_engine_preflight
short_description: Check a Docker host before anything is installed or configured
description:
  - Merges the admin's daemon options over the safe defaults (a C(null) value drops a default;
    the default max-size/max-file log-opts are dropped for a log-driver other than json-file
    or local, which would refuse them) and validates the result.
  - Checks that the file system under data-root can hold overlay2 layers (d_type; xfs needs
    ftype=1; not overlayfs itself), with how to fix it.
  - Refuses a storage-driver change or a data-root move while containers or images exist
    (they would be orphaned), unless I(allow_storage_migration). Data-roots are compared by
    their real paths (a symlinked /var/lib/docker is no move).
  - Warns on kernels older than 3.19 without C(fs.may_detach_mounts).
  - Changes nothing; safe under C(--check). Fails with one line per problem.
options:
  defaults:
    description: The safe default daemon options.
    type: dict
    default: {}
  options:
    description: The admin's daemon options, merged over I(defaults) recursively.
    type: dict
    default: {}
  allow_storage_migration:
    description: Accept a storage-driver change or data-root move with existing data.
    type: bool
    default: false
  daemon_json:
    description: The daemon.json in use now (read for the current driver and data-root when
      Docker is not running).
    type: path
    default: /etc/docker/daemon.json
  proc_sys:
    description: Where the sysctl files are; a fixture directory in tests.
    type: path
    default: /proc/sys
  mountinfo:
    description: The mount table to find data-root's file system in.
    type: path
    default: /proc/self/mountinfo
  kernel_release:
    description: The kernel release to judge; the running kernel when empty.
    type: str
    default: ""
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
- name: Check the host before changing it
  lab_engine_preflight:
    defaults: "{{ docker_engine_daemon_defaults }}"
    options: "{{ docker_engine_daemon_options }}"
  register: __docker_engine_preflight
"""

RETURN = r"""
config:
  description: The merged daemon configuration that will be written.
  returned: success
  type: dict
  sample: {"storage-driver": "overlay2", "live-restore": true}
data_root:
  description: The data-root the configuration asks for.
  returned: success
  type: str
  sample: /var/lib/docker
backing_filesystem:
  description: File system type under data-root (of its nearest existing parent).
  returned: success
  type: str
  sample: ext4
current:
  description: What the engine uses now (driver, data-root, container and image counts), or
    empty when there is no engine or data yet.
  returned: success
  type: dict
  sample: {"storage-driver": "overlay2", "data-root": "/var/lib/docker", "containers": 2,
           "images": 3, "source": "docker info"}
kernel:
  description: The kernel release judged.
  returned: success
  type: str
  sample: 6.1.0-13-amd64
may_detach_mounts_exists:
  description: Whether /proc/sys/fs/may_detach_mounts exists on this kernel.
  returned: success
  type: bool
  sample: false
warnings_list:
  description: The warnings given (also shown as Ansible warnings).
  returned: success
  type: list
  elements: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.labstack_engine import (
    backing_fs_problems,
    backing_fs_warnings,
    daemon_config,
    existing_drivers,
    kernel_warnings,
    log_driver_host_problems,
    mount_of,
    parse_daemon_json,
    parse_mountinfo,
    parse_xfs_ftype,
    storage_change_problems,
    validate_daemon_config,
)

DEFAULT_ROOT = "/var/lib/docker"


def nearest_existing(path):
    while not os.path.exists(path) and path not in ("/", ""):
        path = os.path.dirname(path)
    return path or "/"


def current_engine(module, daemon_json):
    """The running engine's view, else what an existing daemon.json and data-root show."""
    docker = module.get_bin_path("docker")
    if docker:
        rc, out, _ = module.run_command([docker, "info", "--format", "{{json .}}"])
        if rc == 0 and out.strip().startswith("{"):
            info = json.loads(out)
            return {
                "storage-driver": info.get("Driver"),
                "data-root": info.get("DockerRootDir"),
                "containers": info.get("Containers") or 0,
                "images": info.get("Images") or 0,
                "source": "docker info",
            }
    # No engine answering: judge by the files an earlier engine left.
    try:
        with open(daemon_json) as handle:
            old = parse_daemon_json(handle.read())
    except (OSError, ValueError):
        old = {}
    root = old.get("data-root") or old.get("graph") or DEFAULT_ROOT
    if not os.path.isdir(root):
        return {}
    drivers = existing_drivers(os.listdir(root))
    containers_dir = os.path.join(root, "containers")
    containers = len(os.listdir(containers_dir)) if os.path.isdir(containers_dir) else 0
    images = 0
    for driver in drivers:
        imagedb = os.path.join(root, "image", driver, "imagedb", "content", "sha256")
        if os.path.isdir(imagedb):
            images += len(os.listdir(imagedb))
    if not (containers or images):
        return {}
    return {
        "storage-driver": old.get("storage-driver") or (drivers[0] if drivers else None),
        "data-root": root,
        "containers": containers,
        "images": images,
        "source": "files in %s (engine not running)" % root,
    }


def main():
    module = AnsibleModule(
        argument_spec=dict(
            defaults=dict(type="dict", default={}),
            options=dict(type="dict", default={}),
            allow_storage_migration=dict(type="bool", default=False),
            daemon_json=dict(type="path", default="/etc/docker/daemon.json"),
            proc_sys=dict(type="path", default="/proc/sys"),
            mountinfo=dict(type="path", default="/proc/self/mountinfo"),
            kernel_release=dict(type="str", default=""),
        ),
        supports_check_mode=True,
    )
    params = module.params
    config = daemon_config(params["defaults"], params["options"])
    problems = validate_daemon_config(config)
    problems += log_driver_host_problems(config, os.path.exists)
    warnings = []

    data_root = config.get("data-root") or DEFAULT_ROOT
    probe = nearest_existing(data_root)
    with open(params["mountinfo"]) as handle:
        mount = mount_of(parse_mountinfo(handle.read()), os.path.realpath(probe))
    fstype = mount[1] if mount else "unknown"
    xfs_ftype = None
    if fstype == "xfs":
        xfs_info = module.get_bin_path("xfs_info")
        if xfs_info:
            rc, out, _ = module.run_command([xfs_info, mount[0]])
            xfs_ftype = parse_xfs_ftype(out) if rc == 0 else None
    driver = config.get("storage-driver", "overlay2")
    problems += backing_fs_problems(data_root, fstype, xfs_ftype, driver)
    warnings += backing_fs_warnings(data_root, fstype) if driver == "overlay2" else []

    current = current_engine(module, params["daemon_json"])
    wanted = {"storage-driver": driver, "data-root": data_root}
    problems += storage_change_problems(
        current, wanted, params["allow_storage_migration"], resolve=os.path.realpath
    )

    kernel = params["kernel_release"] or os.uname().release
    may_detach = os.path.exists(os.path.join(params["proc_sys"], "fs", "may_detach_mounts"))
    warnings += kernel_warnings(kernel, may_detach)

    for warning in warnings:
        module.warn(warning)
    result = dict(
        changed=False,
        config=config,
        data_root=data_root,
        backing_filesystem=fstype,
        current=current,
        kernel=kernel,
        may_detach_mounts_exists=may_detach,
        warnings_list=warnings,
    )
    if problems:
        module.fail_json(
            msg="docker_engine preflight found %d problem(s); nothing was changed:\n- %s"
            % (len(problems), "\n- ".join(problems)),
            problems=problems,
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
