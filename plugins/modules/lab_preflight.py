#!/usr/bin/python
"""Ansible module: validate a host's labstack inventory before anything changes."""

DOCUMENTATION = r"""
---
module: lab_preflight
short_description: Validate the lab inventory and stop before any change
description:
  - Checks user names, uids and gids, escaped container names, data mounts, the port range,
    the portal port, the URL prefix, the shared services' routes and the bind addresses. Fails
    with one line per bad entry, each naming the entry and the rule.
  - Changes nothing; safe under C(--check).
options:
  users:
    description: The lab users (C(lab_users)).
    type: raw
    required: true
  app_name:
    description: The per-user app name that prefixes container names.
    type: raw
    default: workbench
  port_range:
    description: C(lab_port_range), a mapping with start and end.
    type: raw
    required: true
  portal_port:
    description: The portal's published port.
    type: raw
    required: true
  shared_mounts:
    description: Host directories mounted into every user's container.
    type: raw
    default: []
  home_root:
    description: Directory of the users' home directories on the host.
    type: raw
    required: true
  url_prefix:
    description: C(lab_url_prefix), the path under which every user's route lives.
    type: raw
  services:
    description: C(lab_services), the shared services routed by the portal.
    type: raw
  bind_address:
    description: C(lab_bind_address), where the users' container ports are published.
    type: raw
  portal_bind_address:
    description: Where the portal listens.
    type: raw
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
- name: Validate the inventory
  lab_preflight:
    users: "{{ lab_users }}"
    port_range: "{{ lab_port_range }}"
    portal_port: "{{ portal_port }}"
    home_root: "{{ lab_home_root }}"
"""

RETURN = r"""
containers:
  description: User name to escaped container-name suffix, for the admin's information.
  returned: success
  type: dict
  sample: {"Jane.Doe": "jane-doe--q3n5x7k2ab"}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.labstack_inventory import escaped_names, validate


def main():
    # `raw` types: validation is this module's job, so bad types reach it and get a clear
    # message instead of Ansible's generic conversion error.
    module = AnsibleModule(
        argument_spec=dict(
            users=dict(type="raw", required=True),
            app_name=dict(type="raw", default="workbench"),
            port_range=dict(type="raw", required=True),
            portal_port=dict(type="raw", required=True),
            shared_mounts=dict(type="raw", default=[]),
            home_root=dict(type="raw", required=True),
            url_prefix=dict(type="raw"),
            services=dict(type="raw"),
            bind_address=dict(type="raw"),
            portal_bind_address=dict(type="raw"),
        ),
        supports_check_mode=True,
    )
    # Options left out are not validated (the module can check a partial inventory).
    errors = validate({k: v for k, v in module.params.items() if v is not None})
    if errors:
        module.fail_json(
            msg="The inventory has %d problem(s); nothing was changed. Fix them and rerun:\n- %s"
            % (len(errors), "\n- ".join(errors)),
            problems=errors,
        )
    module.exit_json(changed=False, containers=escaped_names(module.params["users"]))


if __name__ == "__main__":
    main()
