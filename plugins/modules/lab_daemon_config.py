#!/usr/bin/python
"""Ansible module: validate /etc/docker/daemon.json, then (only if valid) replace it."""

DOCUMENTATION = r"""
---
module: lab_daemon_config
short_description: Write daemon.json only after it passed validation
description:
  - Validates the wanted daemon configuration first (value types dockerd would reject, and
    keys that dockerd's command line already sets, like C(hosts) while the unit passes
    C(-H fd://), which make dockerd refuse to start).
  - On a problem it fails naming the key, and leaves the file on disk (and so the running
    daemon) exactly as it was.
  - Compares by content, not by formatting; an equal configuration is no change (no restart).
  - When it replaces the file it keeps the previous one as I(backup_path), so a daemon that
    does not come back can be rolled back. When there was no file before, a stale
    I(backup_path) from an earlier run is removed, so a rollback can never restore it.
  - Says which top-level keys changed and whether that needs a dockerd restart or only a
    reload (SIGHUP; e.g. C(live-restore), C(debug), C(registry-mirrors)).
options:
  path:
    description: The daemon.json to manage.
    type: path
    default: /etc/docker/daemon.json
  config:
    description: The complete wanted configuration (defaults already merged).
    type: dict
    required: true
  dockerd_args:
    description: dockerd's command line (the unit's effective C(ExecStart)), as argv.
    type: list
    elements: str
    default: [dockerd]
  backup_path:
    description: Where the replaced file is kept. Empty to keep none.
    type: path
    default: /etc/docker/daemon.json.labstack-previous
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
- name: Write /etc/docker/daemon.json
  lab_daemon_config:
    config: {storage-driver: overlay2, live-restore: true}
    dockerd_args: "{{ __docker_engine_unit.exec_start }}"
  notify: Restart docker
"""

RETURN = r"""
config:
  description: The configuration now on disk (or that would be, in check mode).
  returned: success
  type: dict
  sample: {"live-restore": true, "storage-driver": "overlay2"}
previous:
  description: The configuration found before, parsed.
  returned: success
  type: dict
  sample: {}
backup:
  description: Path of the kept previous file, when the file was replaced.
  returned: changed
  type: str
  sample: /etc/docker/daemon.json.labstack-previous
created:
  description: Whether there was no daemon.json before (a rollback then removes the file).
  returned: success
  type: bool
  sample: false
changed_keys:
  description: The top-level keys whose value changes.
  returned: success
  type: list
  elements: str
  sample: [live-restore, log-opts]
restart_needed:
  description: Whether the change needs a dockerd restart; false when a reload applies it all.
  returned: success
  type: bool
  sample: true
"""

import os
import shutil
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.labstack_engine import (
    changed_keys,
    daemon_config_warnings,
    flag_conflicts,
    parse_daemon_json,
    render_daemon_json,
    restart_needed,
    validate_daemon_config,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/docker/daemon.json"),
            config=dict(type="dict", required=True),
            dockerd_args=dict(type="list", elements="str", default=["dockerd"]),
            backup_path=dict(type="path", default="/etc/docker/daemon.json.labstack-previous"),
        ),
        supports_check_mode=True,
    )
    path, config = module.params["path"], module.params["config"]
    problems = validate_daemon_config(config)
    problems += flag_conflicts(config, module.params["dockerd_args"])
    if problems:
        module.fail_json(
            msg="daemon.json not written, Docker left running with its current configuration "
            "(%s unchanged):\n- %s" % (path, "\n- ".join(problems)),
            problems=problems,
        )
    before_text = None
    if os.path.exists(path):
        with open(path) as handle:
            before_text = handle.read()
    try:
        previous = parse_daemon_json(before_text)
    except ValueError as exc:
        # A broken file on disk is replaced by a valid one; say what was there.
        module.warn("%s held invalid JSON (%s); it is replaced" % (path, exc))
        previous = None
    after_text = render_daemon_json(config)
    changed = previous != config
    for warning in daemon_config_warnings(config):
        module.warn(warning)
    keys = changed_keys(previous, config) if changed else []
    result = dict(
        changed=changed,
        config=config,
        previous=previous or {},
        created=before_text is None,
        changed_keys=keys,
        # A file that held invalid JSON: dockerd runs on defaults, restart to be sure.
        restart_needed=changed and (previous is None or restart_needed(keys)),
    )
    if changed:
        result["diff"] = {
            "before": before_text or "",
            "after": after_text,
            "before_header": path,
            "after_header": path,
        }
        if not module.check_mode:
            directory = os.path.dirname(path)
            backup = module.params["backup_path"]
            if before_text is not None and backup:
                shutil.copy2(path, backup)
                result["backup"] = backup
            elif backup and os.path.exists(backup):
                os.unlink(backup)
            fd, tmp = tempfile.mkstemp(dir=directory, prefix=".daemon.json.")
            with os.fdopen(fd, "w") as handle:
                handle.write(after_text)
            os.chmod(tmp, 0o644)
            module.atomic_move(tmp, path)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
