#!/usr/bin/python
"""Ansible module: why containers cannot be removed, read-only."""

DOCUMENTATION = r"""
---
module: lab_doctor
short_description: Diagnose containers that cannot be removed (read-only)
description:
  - Reads the mount table of every process (/proc/<pid>/mountinfo, or /proc/<pid>/mounts) and,
    for every container or one named container, reports holders (processes in other mount
    namespaces with a private copy of the container's mounts, also under a prefix such as
    /host/root and with a non-default data root), stray mounts in the host's namespace under the
    layer of a container that is not running, and pinned files (immutable or append-only
    attributes) in the container's own layer; plus its state and last removal error.
  - A slave copy whose master is a peer group of the host's own mount (or a shared copy in
    that peer group) is listed but not reported as a blocker, because it receives the host's
    unmount. A slave of another namespace's group blocks, and so does any copy still present
    once the container stopped and the host's mount is gone.
  - Pinned files are looked for in the layers of containers that are not running, and in the
    named container's whatever its state.
  - A holder in another user namespace than PID 1's is flagged as unsafe (its copies are locked
    and cannot be unmounted from outside); the next step is to stop that process.
  - Never changes anything; C(changed) is always false.
options:
  container:
    description:
      - Only diagnose this container. Resolved as Docker does - an exact name, else an exact full
        id, else an id prefix that exactly one container's id starts with (an ambiguous prefix
        fails, listing the containers). Default is every container.
    type: str
  docker_host:
    description: Docker daemon address.
    type: str
    default: unix:///var/run/docker.sock
  max_layer_entries:
    description: Stop looking for pinned files in one container's layer after this many entries.
    type: int
    default: 200000
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
- name: Diagnose every container
  lab_doctor:
  register: __doctor

- name: Diagnose one container
  lab_doctor:
    container: workbench-alice
"""

RETURN = r"""
affected:
  description: Reports of the containers that are stuck (dead, removing) or have a blocker.
  returned: success
  type: list
  elements: dict
  sample:
    - name: workbench-alice
      state: removing
      blockers: {holder: 0, stray mount: 0, pinned file: 1}
      pinned_files: [{path: /var/lib/docker/overlay2/e93a.../diff/pinned, attributes: i}]
      next_step: "Run: ansible-playbook playbooks/repair.yml -e container=workbench-alice"
lines:
  description: The diagnosis as text, one line per fact, as the playbook prints it.
  returned: success
  type: list
  elements: str
scan:
  description: Data root, reference namespace, numbers of namespaces, processes and containers.
  returned: success
  type: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.labstack_docker import DOCKER_HOST_OPTION, DockerException, connect
from ansible.module_utils.labstack_doctor import AmbiguousContainer, diagnose, format_report


def main():
    module = AnsibleModule(
        argument_spec=dict(
            container=dict(type="str"),
            docker_host=DOCKER_HOST_OPTION,
            max_layer_entries=dict(type="int", default=200000),
        ),
        supports_check_mode=True,
    )
    p = module.params
    client = connect(module)
    try:
        reports, scan = diagnose(client, p["container"], max_entries=p["max_layer_entries"])
    except AmbiguousContainer as exc:
        module.fail_json(msg=str(exc))
    except DockerException as exc:
        module.fail_json(msg="Docker did not answer the diagnosis: %s" % exc)
    affected = [r for r in reports if r["affected"]]
    if p["container"] and not reports:
        lines = ["No container named %s on this host: nothing to diagnose." % p["container"]]
    elif not affected:
        lines = [
            "No stuck or blocked container%s (%d checked, %d processes in %d mount namespaces)."
            % (
                " named %s" % p["container"] if p["container"] else "",
                scan["containers"],
                scan["processes"],
                scan["namespaces"],
            )
        ]
    else:
        lines = []
        for report in affected:
            lines.extend(format_report(report))
    for name in scan["truncated_layers"]:
        module.warn(
            "stopped looking for pinned files in the layer of %s after %d entries"
            % (name, p["max_layer_entries"])
        )
    module.exit_json(changed=False, affected=affected, lines=lines, scan=scan)


if __name__ == "__main__":
    main()
