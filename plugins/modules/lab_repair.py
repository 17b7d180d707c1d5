#!/usr/bin/python
"""Ansible module: release what keeps a container from being removed, then remove it."""

DOCUMENTATION = r"""
---
module: lab_repair
short_description: Clear stuck containers (dead, removing) without a reboot
description:
  - Runs the same diagnosis as M(lab_doctor), then for every dead or removing container (or the
    one named) releases each blocker and removes the container. A holder's private copy is
    lazily unmounted inside the holder's mount namespace (setns), stray host mounts are lazily
    unmounted, immutable and append-only attributes are cleared only under the container's own
    layer directories; then the container is removed without its volumes.
  - Never deletes named volumes or bind-mounted host data, never restarts dockerd, never acts on
    another container. Refuses a running container.
  - When a blocker cannot be released safely (the holder is PID 1, runs inside the
    container's root filesystem, or lives in another user namespace), fails before changing
    anything, naming the process and the safe options.
  - After each unmount it reads that namespace's mount table again and fails (naming the pid,
    the path and the safe option) if the mount is still there; a pid reused by another process
    is never acted on.
  - When a step fails, the result (and the message) still lists what was already done, and the
    containers repaired before the failure.
  - A second run finds nothing to repair and reports no change.
options:
  container:
    description:
      - Repair only this container, whatever its state except running. Resolved as Docker
        does - an exact name, else an exact full id, else an id prefix that exactly one
        container's id starts with (an ambiguous prefix fails before anything is changed).
    type: str
  list_only:
    description:
      - Only list the dead or removing containers, each with the reason a repair would refuse
        it (C(refused)); changes nothing and never fails on an unsafe blocker.
    type: bool
    default: false
  docker_host:
    description: Docker daemon address.
    type: str
    default: unix:///var/run/docker.sock
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
- name: Repair every dead or removing container
  lab_repair:

- name: Repair one container
  lab_repair:
    container: workbench-alice
"""

RETURN = r"""
repaired:
  description: Per container, the planned steps and the steps actually done.
  returned: success
  type: list
  elements: dict
  sample:
    - name: workbench-alice
      state: removing
      plan: ["cleared the i attribute of /var/lib/docker/overlay2/e93a.../diff/pinned", "..."]
      done: ["cleared the i attribute of /var/lib/docker/overlay2/e93a.../diff/pinned", "..."]
candidates:
  description: With list_only, the dead or removing containers (name, id, state, refused).
  returned: when list_only
  type: list
  elements: dict
done:
  description: On a failed step, the steps of the failing container already done.
  returned: failure
  type: list
  elements: str
message:
  description: One line summing up the run.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.labstack_docker import DOCKER_HOST_OPTION, DockerException, connect
from ansible.module_utils.labstack_repair import RepairError, UnsafeRepair, list_stuck, repair


def main():
    module = AnsibleModule(
        argument_spec=dict(
            container=dict(type="str"),
            docker_host=DOCKER_HOST_OPTION,
            list_only=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    p = module.params
    client = connect(module)
    if p["list_only"]:
        try:
            candidates = list_stuck(client)
        except DockerException as exc:
            module.fail_json(msg="Docker did not answer the listing: %s" % exc)
        module.exit_json(
            changed=False,
            candidates=candidates,
            repaired=[],
            message="%d dead or removing container(s)." % len(candidates),
        )
    try:
        result = repair(client, p["container"], check_mode=module.check_mode)
    except UnsafeRepair as exc:
        module.fail_json(msg=str(exc), changed=False)
    except RepairError as exc:
        module.fail_json(
            msg=str(exc),
            changed=bool(exc.done or exc.repaired),
            done=exc.done,
            repaired=exc.repaired,
        )
    except DockerException as exc:
        module.fail_json(msg="Docker refused the repair: %s" % exc)
    before = "".join("%s %s\n" % (r["name"], r["state"]) for r in result["repaired"])
    module.exit_json(
        changed=result["changed"],
        repaired=result["repaired"],
        message=result["message"],
        diff={"before": before, "after": ""},
    )


if __name__ == "__main__":
    main()
