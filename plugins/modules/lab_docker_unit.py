#!/usr/bin/python
"""Ansible module: read dockerd's effective systemd unit and take MountFlags=slave out of it."""

DOCUMENTATION = r"""
---
module: lab_docker_unit
short_description: Read the docker unit's effective command line and mount propagation
description:
  - Reads the unit file and its drop-ins the way systemd orders them (C(/etc) over C(/run)
    over C(/lib)/C(/usr/lib); drop-ins by file name), straight from disk, so it sees drop-ins
    written earlier in the same run, before any C(daemon-reload).
  - Removes C(MountFlags=slave) from the admin's drop-ins (under I(editable_dirs)), the whole
    file when nothing else is in it, only that line otherwise, and says so for each file.
  - Returns the effective C(ExecStart) (for flag/daemon.json conflict checks) and C(MountFlags).
  - Refuses an effective C(MountFlags=slave) or C(private) that is left after its own edits
    (set in a drop-in it may not edit, e.g. under C(/run), sorting after the role's drop-in),
    naming the file, whether live-restore is on or not.
  - With I(assume_dropins) and check mode, it judges the unit as it will be once the role has
    written its own drop-ins, so the role can refuse a bad combination before touching a file.
options:
  unit:
    description: The unit name.
    type: str
    default: docker.service
  unit_dirs:
    description: The unit search path, highest priority first.
    type: list
    elements: path
    default: [/etc/systemd/system, /run/systemd/system, /usr/local/lib/systemd/system,
              /lib/systemd/system, /usr/lib/systemd/system]
  editable_dirs:
    description: Unit directories whose drop-ins belong to the admin and may be edited.
    type: list
    elements: path
    default: [/etc/systemd/system]
  live_restore:
    description: Whether daemon.json enables live-restore (named in the refusal of an
      effective C(MountFlags=slave), which is refused either way).
    type: bool
    default: false
  assume_dropins:
    description: Drop-ins (file name to content) to judge as if they were already written in
      the first of I(editable_dirs); they are never written by this module.
    type: dict
    default: {}
attributes:
  check_mode:
    support: full
  diff_mode:
    support: full
  idempotent:
    support: full
author: labstack
"""

EXAMPLES = r"""
- name: Read the docker unit and remove MountFlags=slave drop-ins
  lab_docker_unit:
  register: __docker_engine_unit
"""

RETURN = r"""
exec_start:
  description: The dockerd command line systemd runs, as argv.
  returned: always
  type: list
  elements: str
  sample: [/usr/sbin/dockerd, -H, "fd://", "--containerd=/run/containerd/containerd.sock"]
mount_flags:
  description: The effective MountFlags (null when unset, i.e. the host's mount namespace).
  returned: always
  type: str
  sample: shared
found:
  description: Whether the unit file exists (false before the package is installed).
  returned: always
  type: bool
  sample: true
files:
  description: The unit file and drop-ins read, in systemd's order.
  returned: always
  type: list
  elements: str
removed:
  description: Drop-ins deleted because they only set MountFlags=slave.
  returned: always
  type: list
  elements: str
edited:
  description: Drop-ins from which the MountFlags=slave line was taken out.
  returned: always
  type: list
  elements: str
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.labstack_engine import (
    effective_exec_start,
    effective_setting_source,
    environment_files,
    parse_environment_file,
    propagation_problems,
    strip_mountflags_slave,
)


def unit_files(unit, unit_dirs):
    """The unit's main file then its drop-ins, in the order systemd applies them."""
    main = None
    for directory in unit_dirs:
        candidate = os.path.join(directory, unit)
        if os.path.isfile(candidate):
            main = candidate
            break
    dropins = {}
    # A drop-in in a higher-priority directory hides one of the same name further down.
    for directory in reversed(unit_dirs):
        dropin_dir = os.path.join(directory, unit + ".d")
        if os.path.isdir(dropin_dir):
            for name in os.listdir(dropin_dir):
                if name.endswith(".conf"):
                    dropins[name] = os.path.join(dropin_dir, name)
    return ([main] if main else []) + [dropins[name] for name in sorted(dropins)]


def with_assumed(files, unit, editable_dirs, assumed):
    """[(path, text)] in systemd's order, with the assumed drop-ins put in (or over) their place."""
    units = [(path, None) for path in files]
    if not assumed or not editable_dirs:
        return units
    dropin_dir = os.path.join(editable_dirs[0], unit + ".d")
    by_name = {}
    main = []
    for path, text in units:
        if path.endswith(".conf") and os.path.basename(os.path.dirname(path)) == unit + ".d":
            by_name[os.path.basename(path)] = (path, text)
        else:
            main.append((path, text))
    for name, content in assumed.items():
        by_name[name] = (os.path.join(dropin_dir, name), content)
    return main + [by_name[name] for name in sorted(by_name)]


def read(path):
    with open(path) as handle:
        return handle.read()


def main():
    module = AnsibleModule(
        argument_spec=dict(
            unit=dict(type="str", default="docker.service"),
            unit_dirs=dict(
                type="list",
                elements="path",
                default=[
                    "/etc/systemd/system",
                    "/run/systemd/system",
                    "/usr/local/lib/systemd/system",
                    "/lib/systemd/system",
                    "/usr/lib/systemd/system",
                ],
            ),
            editable_dirs=dict(type="list", elements="path", default=["/etc/systemd/system"]),
            live_restore=dict(type="bool", default=False),
            assume_dropins=dict(type="dict", default={}),
        ),
        supports_check_mode=True,
    )
    params = module.params
    editable = tuple(
        os.path.join(d, params["unit"] + ".d") + os.sep for d in params["editable_dirs"]
    )
    files = unit_files(params["unit"], params["unit_dirs"])
    found = bool(files) and not files[0].endswith(".conf")
    units = with_assumed(
        files, params["unit"], params["editable_dirs"], params["assume_dropins"] or {}
    )
    texts, kept, removed, edited, diffs = [], [], [], [], []
    for path, assumed in units:
        text = read(path) if assumed is None else assumed
        if assumed is None and path.startswith(editable):
            new_text, dropped, empty = strip_mountflags_slave(text)
            if dropped:
                diffs.append(
                    {
                        "before": text,
                        "after": "" if empty else new_text,
                        "before_header": path,
                        "after_header": "(removed)" if empty else path,
                    }
                )
                if empty:
                    removed.append(path)
                    if not module.check_mode:
                        os.unlink(path)
                    continue
                edited.append(path)
                if not module.check_mode:
                    with open(path + ".labstack-tmp", "w") as handle:
                        handle.write(new_text)
                    module.atomic_move(path + ".labstack-tmp", path)
                text = new_text
        texts.append(text)
        kept.append((path, text))
    for path in removed:
        module.warn(
            "removed %s: it set MountFlags=slave for dockerd, which breaks rshared volumes and, "
            "with live-restore, 'docker exec' after a daemon restart" % path
        )
    for path in edited:
        module.warn(
            "took MountFlags=slave out of %s (the rest of the file is kept): it breaks rshared "
            "volumes and, with live-restore, 'docker exec' after a daemon restart" % path
        )
    env = {}
    for env_path, optional in environment_files(texts):
        if os.path.isfile(env_path):
            env.update(parse_environment_file(read(env_path)))
        elif not optional:
            module.warn("%s: EnvironmentFile %s is missing" % (params["unit"], env_path))
    mount_flags, source = effective_setting_source(kept, "Service", "MountFlags")
    problems = propagation_problems(mount_flags, params["live_restore"], source)
    if problems:
        module.fail_json(msg="; ".join(problems), files=files, mount_flags=mount_flags)
    module.exit_json(
        changed=bool(removed or edited),
        exec_start=effective_exec_start(texts, env),
        mount_flags=mount_flags,
        found=found,
        files=[p for p in files if p not in removed],
        removed=removed,
        edited=edited,
        diff=diffs,
    )


if __name__ == "__main__":
    main()
