#!/usr/bin/python
"""Ansible module: what the next layers need to know about a lab host, read-only."""

DOCUMENTATION = r"""
---
module: lab_host_facts
short_description: Read the listening ports and labstack containers of a lab host
description:
  - Returns the TCP ports listening on the host (from /proc/net/tcp and tcp6), the host ports
    every container publishes (running, stopped or created; a stopped container claims its
    ports again when it starts) and, for every container labelled C(labstack.managed=true), its
    user, app, port and state. Read-only.
  - The ports feed M(lab_ports); the container labels rebuild a lost port ledger.
options:
  app:
    description: Only report containers of this app (label C(labstack.app)).
    type: str
  docker_host:
    description: Docker daemon address.
    type: str
    default: unix:///var/run/docker.sock
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
- name: Read the host's listening ports and labstack containers
  lab_host_facts:
    app: workbench
  register: __facts
"""

RETURN = r"""
listening_ports:
  description: >-
    TCP ports in LISTEN state on the host, plus the host ports any container publishes or will
    publish when it starts.
  returned: success
  type: list
  elements: int
  sample: [22, 8080, 20000]
label_ports:
  description: User to port, read from the labels of the app's containers.
  returned: success
  type: dict
  sample: {"alice": 20000}
containers:
  description: The labstack containers, with name, id, user, app, port and status.
  returned: success
  type: list
  elements: dict
"""

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.labstack_docker import DOCKER_HOST_OPTION, DockerException, connect
from ansible.module_utils.labstack_sockets import host_listening_ports, published_ports


def main():
    module = AnsibleModule(
        argument_spec=dict(
            app=dict(type="str"),
            docker_host=DOCKER_HOST_OPTION,
        ),
        supports_check_mode=True,
    )
    client = connect(module)

    def bindings_of(container_id):
        try:
            detail = client.api.inspect_container(container_id)
        except DockerException:
            return {}  # removed since the list call
        return (detail.get("HostConfig") or {}).get("PortBindings")

    try:
        everything = client.api.containers(all=True)
        published = published_ports(everything, bindings_of)
    except DockerException as exc:
        module.fail_json(msg="Docker could not list the containers: %s" % exc)
    found = [
        item for item in everything if (item.get("Labels") or {}).get("labstack.managed") == "true"
    ]
    containers = []
    label_ports = {}
    for item in found:
        labels = item.get("Labels") or {}
        if module.params["app"] and labels.get("labstack.app") != module.params["app"]:
            continue
        entry = {
            "name": item["Names"][0].lstrip("/"),
            "id": item["Id"],
            "user": labels.get("labstack.user"),
            "app": labels.get("labstack.app"),
            "port": labels.get("labstack.port"),
            "status": item.get("State"),
        }
        containers.append(entry)
        if entry["user"] and (entry["port"] or "").isdigit():
            label_ports[entry["user"]] = int(entry["port"])
    module.exit_json(
        changed=False,
        listening_ports=sorted(set(host_listening_ports()) | published),
        label_ports=label_ports,
        containers=containers,
    )


if __name__ == "__main__":
    main()
