#!/usr/bin/python
"""Ansible module: set a kernel parameter only where the running kernel has it."""

DOCUMENTATION = r"""
---
module: lab_optional_sysctl
short_description: Set a sysctl that only some kernels have, decided by its /proc file
description:
  - Decides by whether C(<proc_sys>/<name with dots as slashes>) exists, never by the
    distribution. Absent means nothing to do (reported ok, never changed).
  - Present and different from I(value) sets the live value; present but read-only (a
    container, a locked-down host) gives a warning and carries on.
  - Persisting the value (sysctl.d) is left to the caller, told by the C(persist) return value.
options:
  name:
    description: The sysctl, e.g. C(fs.may_detach_mounts).
    type: str
    required: true
  value:
    description: The wanted value.
    type: str
    required: true
  proc_sys:
    description: Where the sysctl files are; a fixture directory in tests.
    type: path
    default: /proc/sys
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
- name: Let the kernel detach mounts held by other namespaces, where it can
  lab_optional_sysctl:
    name: fs.may_detach_mounts
    value: "1"
"""

RETURN = r"""
state:
  description: C(absent) (kernel lacks it), C(already), C(set) or C(read-only).
  returned: always
  type: str
  sample: absent
persist:
  description: Whether the value should be kept in sysctl.d (the sysctl exists and is writable).
  returned: always
  type: bool
  sample: false
proc_file:
  description: The /proc file that decided.
  returned: always
  type: str
  sample: /proc/sys/fs/may_detach_mounts
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.labstack_engine import plan_sysctl


def main():
    module = AnsibleModule(
        argument_spec=dict(
            name=dict(type="str", required=True),
            value=dict(type="str", required=True),
            proc_sys=dict(type="path", default="/proc/sys"),
        ),
        supports_check_mode=True,
    )
    name, value = module.params["name"], module.params["value"]
    path = os.path.join(module.params["proc_sys"], *name.split("."))
    exists = os.path.exists(path)
    current = None
    if exists:
        with open(path) as handle:
            current = handle.read().strip()
    plan = plan_sysctl(exists, current, value, writable=exists and os.access(path, os.W_OK))
    if plan["write"] and not module.check_mode:
        try:
            with open(path, "w") as handle:
                handle.write(value + "\n")
        except OSError as exc:
            # os.access says yes for root even on a read-only /proc/sys: trust the write.
            plan = plan_sysctl(exists, current, value, writable=False)
            plan["warning"] = "%s (%s)" % (plan["warning"], exc)
    if plan["warning"]:
        module.warn("%s: %s" % (name, plan["warning"]))
    after = value if plan["write"] else current
    module.exit_json(
        changed=plan["write"],
        state=plan["state"],
        persist=plan["persist"],
        proc_file=path,
        diff={"before": "%s = %s\n" % (name, current), "after": "%s = %s\n" % (name, after)}
        if exists
        else {},
    )


if __name__ == "__main__":
    main()
