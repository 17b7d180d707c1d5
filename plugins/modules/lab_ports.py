#!/usr/bin/python
"""Ansible module: allocate stable host ports to lab users from a ledger file."""

DOCUMENTATION = r"""
---
module: lab_ports
short_description: Give each lab user a stable, conflict-free host port from a ledger
description:
  - Reads the port ledger (a YAML file kept with the inventory), assigns a port to every user
    that has none, keeps existing assignments, quarantines ports of users that left, and writes
    the ledger back under an exclusive lock so concurrent runs cannot hand out a port twice.
  - Run it where the inventory lives (delegated to localhost); pass the ports that are
    listening on the target host from M(lab_host_facts).
options:
  ledger:
    description: Path of the ledger file. Created when missing.
    type: path
    required: true
  users:
    description: User names that need a port, in inventory order.
    type: list
    elements: str
    required: true
  range_start:
    description: First port of the range (inclusive).
    type: int
    required: true
  range_end:
    description: Last port of the range (inclusive).
    type: int
    required: true
  busy:
    description: Ports something listens on at the target host.
    type: list
    elements: int
    default: []
  recovered:
    description:
      - Ports read from labstack container labels (user to port). A user's own container does
        not make their port busy, and a lost ledger is rebuilt from these.
    type: dict
    default: {}
  quarantine_days:
    description: How long a released port stays reserved for the user who had it.
    type: int
    default: 7
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
- name: Allocate ports for the lab users
  lab_ports:
    ledger: "{{ inventory_dir }}/port-ledger.yml"
    users: "{{ lab_users | map(attribute='name') }}"
    range_start: 20000
    range_end: 20999
    busy: "{{ __facts.listening_ports }}"
  delegate_to: localhost
"""

RETURN = r"""
ports:
  description: The port of every requested user.
  returned: success
  type: dict
  sample: {"alice": 20000, "Jane.Doe": 20001}
events:
  description: What changed, one line per assignment, release or move.
  returned: success
  type: list
  elements: str
  sample: ["assign 20001 to Jane.Doe"]
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.labstack_ports import (
    PortError,
    allocate,
    dump_ledger,
    load_ledger,
    locked,
    same_ledger,
    write_ledger,
)

try:
    import yaml
except ImportError:  # pragma: no cover - PyYAML ships with every Ansible controller
    yaml = None


def main():
    module = AnsibleModule(
        argument_spec=dict(
            ledger=dict(type="path", required=True),
            users=dict(type="list", elements="str", required=True),
            range_start=dict(type="int", required=True),
            range_end=dict(type="int", required=True),
            busy=dict(type="list", elements="int", default=[]),
            recovered=dict(type="dict", default={}),
            quarantine_days=dict(type="int", default=7),
        ),
        supports_check_mode=True,
    )
    if yaml is None:
        module.fail_json(msg="PyYAML is missing; run lab_ports on the Ansible controller")
    params = module.params
    path = params["ledger"]
    recovered = {str(k): int(v) for k, v in params["recovered"].items()}
    try:
        with locked(path):
            current = load_ledger(path, yaml.safe_load)
            new, events = allocate(
                current,
                params["users"],
                (params["range_start"], params["range_end"]),
                params["busy"],
                recovered=recovered,
                quarantine_days=params["quarantine_days"],
            )
            changed = not same_ledger(current, new) or not os.path.exists(path)
            if changed and not module.check_mode:
                write_ledger(path, new)
    except PortError as exc:
        module.fail_json(msg=str(exc))
    except OSError as exc:
        module.fail_json(msg="cannot use the port ledger %s: %s" % (path, exc))
    module.exit_json(
        changed=changed,
        ports={u: new["assigned"][u] for u in params["users"]},
        events=events,
        diff={
            "before": dump_ledger(current),
            "after": dump_ledger(new),
            "before_header": path,
            "after_header": path,
        },
    )


if __name__ == "__main__":
    main()
