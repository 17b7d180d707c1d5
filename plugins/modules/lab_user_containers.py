#!/usr/bin/python
"""Ansible module: reconcile one container per lab user in a single call."""

DOCUMENTATION = r"""
---
module: lab_user_containers
short_description: Reconcile every lab user's container in one call
description:
  - Builds one container spec per user from an app profile, compares each with the running
    container's C(labstack.spec-hash) label, and creates, starts, recreates or removes only
    the containers that differ. Users whose spec did not change keep their container (same id).
  - Creates each user's host home directory owned by the user's uid:gid when it is missing.
    Never deletes a home directory, a volume or any host data; a container whose user left
    the inventory is removed, its home directory kept.
  - One Docker SDK session for all users; a rerun costs one list call, not one task per user.
  - A recreate creates the new container under a temporary name first, so a change Docker
    refuses leaves the old container running. A user whose home directory belongs to another
    uid, or whose mount source is missing, is left as they are and reported; every other user
    is still reconciled, then the task fails naming them.
options:
  users:
    description: Lab users (name, uid, optional gid, groups and data mounts).
    type: list
    elements: dict
    required: true
  app:
    description: The app profile (name, image, container_port, command, env, ...).
    type: dict
    required: true
  ports:
    description: Host port of every user, from M(lab_ports).
    type: dict
    required: true
  home_root:
    description: Directory holding one home directory per user (the user's real name).
    type: path
    required: true
  bind_address:
    description: Host address the published ports bind to.
    type: str
    default: 127.0.0.1
  network:
    description: Docker network the containers join (the portal reaches them on it).
    type: str
    required: true
  shared_mounts:
    description: Host directories mounted into every user's container (src, dest, mode).
    type: list
    elements: dict
    default: []
  url_prefix:
    description: URL path prefix of the per-user routes; a user's base path is C(<prefix>/<name>/).
    type: str
    default: /user
  prune:
    description: Remove containers of this app whose user is no longer listed.
    type: bool
    default: true
  restart:
    description: Users whose up-to-date container should be restarted anyway.
    type: list
    elements: str
    default: []
  only:
    description:
      - Act on these users only (restart-user.yml); everyone else is left as they are and
        nothing is pruned. Empty means every user.
    type: list
    elements: str
    default: []
  lock_timeout:
    description:
      - Seconds to wait for another labstack run that is reconciling this host's containers
        (lock C(/run/lock/labstack-reconcile.lock)), before failing with its pid.
    type: int
    default: 600
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
- name: Reconcile the workbench containers
  lab_user_containers:
    users: "{{ lab_users }}"
    app: "{{ user_containers_app }}"
    ports: "{{ __ports.ports }}"
    home_root: /srv/labstack/home
    network: labstack
"""

RETURN = r"""
containers:
  description: Per user, the container name, id, host port, base path and action taken.
  returned: success
  type: dict
  sample:
    alice: {name: workbench-alice, id: 3f2c..., port: 20000, base_path: /user/alice/, action: ok}
actions:
  description: Every action other than "ok", with its reason.
  returned: success
  type: list
  elements: dict
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.labstack_containers import (
    build_specs,
    is_change,
    labels_for,
    plan,
    spec_hash,
    spec_problems,
)
from ansible.module_utils.labstack_docker import DOCKER_HOST_OPTION, DockerException, connect
from ansible.module_utils.labstack_locks import LockBusy, hold
from ansible.module_utils.labstack_repair import RepairError, UnsafeRepair, repair

try:
    from docker.errors import APIError, ImageNotFound, NotFound
except ImportError:  # connect() reports the missing SDK
    APIError = ImageNotFound = NotFound = Exception


class Reconciler:
    def __init__(self, module, client):
        self.module = module
        self.client = client

    def image_id(self, ref):
        try:
            return self.client.api.inspect_image(ref)["Id"]
        except ImageNotFound:
            self.module.fail_json(
                msg="image %s is not on this host. Run the lab_images role (site.yml) to build "
                "or pull it, or fix the app's image in the inventory." % ref
            )

    def observed(self, app, names):
        """Containers of this app plus any container holding one of the wanted names.

        Two list calls in all, whatever the number of users. The name filter matches
        substrings, so results are kept only for exact names or the app's own label.
        """
        wanted = set(names)
        found = {}
        queries = [{"label": "labstack.app=%s" % app}]
        if names:
            queries.append({"name": sorted(wanted)})
        for flt in queries:
            for item in self.client.api.containers(all=True, filters=flt):
                name = item["Names"][0].lstrip("/")
                labels = item.get("Labels") or {}
                if name in wanted or labels.get("labstack.app") == app:
                    found[name] = {
                        "name": name,
                        "id": item["Id"],
                        "status": item["State"],
                        "labels": labels,
                    }
        return list(found.values())

    def host_problems(self, spec):
        """Why this user's container must not be (re)created now, read from the host."""
        problems = []
        path = spec["home_host"]
        if os.path.isdir(path):
            st = os.stat(path)
            if (st.st_uid, st.st_gid) != (spec["uid"], spec["gid"]):
                problems.append(
                    "home directory %s belongs to %d:%d, not %d:%d; the container could not "
                    "write to it. If the uid/gid change is intended, run: chown -R %d:%d %s"
                    % (
                        path,
                        st.st_uid,
                        st.st_gid,
                        spec["uid"],
                        spec["gid"],
                        spec["uid"],
                        spec["gid"],
                        path,
                    )
                )
        for mount in spec["mounts"]:
            if not os.path.exists(mount["src"]):
                problems.append(
                    "mount source %s does not exist on the host (Docker would create an empty "
                    "directory in its place); create it or fix the path" % mount["src"]
                )
        return problems

    def ensure_home(self, spec):
        """Create a missing home directory owned by the user; never touch an existing one."""
        path = spec["home_host"]
        if os.path.isdir(path):
            return False
        if not self.module.check_mode:
            parent = os.path.dirname(path)
            if not os.path.isdir(parent):
                os.makedirs(parent, 0o755)
            os.mkdir(path, 0o750)
            os.chown(path, spec["uid"], spec["gid"])
            os.chmod(path, 0o750)
        return True

    def create(self, spec, digest, name=None, start=True):
        binds = {spec["home_host"]: {"bind": spec["home_container"], "mode": "rw"}}
        for mount in spec["mounts"]:
            binds[mount["src"]] = {"bind": mount["dest"], "mode": mount["mode"]}
        kwargs = dict(
            image=spec["image"],
            command=spec["command"],
            name=name or spec["name"],
            hostname=spec["name"][:63],
            environment=spec["env"],
            labels=labels_for(spec, digest),
            ports={"%d/tcp" % spec["container_port"]: (spec["bind_address"], spec["port"])},
            volumes=binds,
            working_dir=spec["home_container"],
            network=spec["network"],
            restart_policy={"Name": spec["restart_policy"]},
            init=True,
            detach=True,
        )
        if spec["run_as_user"]:
            kwargs["user"] = "%d:%d" % (spec["uid"], spec["gid"])
        if spec["groups"]:
            kwargs["group_add"] = [str(g) for g in spec["groups"]]
        if spec.get("memory"):
            kwargs["mem_limit"] = spec["memory"]
        if spec.get("cpus"):
            kwargs["nano_cpus"] = int(float(spec["cpus"]) * 1e9)
        container = self.client.containers.create(**kwargs)
        if start:
            container.start()
        return container.id

    def replace(self, spec, kind, old_name=None):
        """Recreate a user's container so that a refused create leaves the old one running.

        The new container is created (not started) under a temporary name first: Docker checks
        mounts, ports and options at create time. Only then is the old one removed (or, when
        stuck, repaired) and the new one renamed and started.
        """
        name = spec["name"]
        old_name = old_name or name
        staging = name + ".new"  # "." never occurs in the names labstack generates
        self.remove(staging)
        try:
            new_id = self.create(spec, spec["hash"], name=staging, start=False)
        except (APIError, DockerException) as exc:
            raise RefusedChange(
                "Docker refused the new container for %s (%s); the old one was left as it "
                "was. Fix the inventory entry and rerun." % (spec["user"], exc)
            ) from exc
        done = []
        if kind == "repair":
            done = [step for r in self.repair(old_name) for step in r["done"]]
        else:
            self.remove(old_name)
        self.client.api.rename(new_id, name)
        self.client.api.start(new_id)
        return new_id, done

    def repair(self, name):
        """A dead/removing container: release its blockers and remove it (playbooks/repair.yml's
        code, for this one container only), so that it can be recreated."""
        try:
            return repair(self.client, name)["repaired"]
        except (UnsafeRepair, RepairError) as exc:
            self.module.fail_json(
                msg="cannot repair container %s: %s No other container was touched." % (name, exc)
            )

    def remove(self, name):
        try:
            # v=False: anonymous volumes are kept too; user data is never deleted here.
            self.client.api.remove_container(name, force=True, v=False)
        except NotFound:
            pass
        except APIError as exc:
            self.module.fail_json(
                msg="cannot remove container %s: %s. Diagnose it with "
                "`ansible-playbook playbooks/doctor.yml -e container=%s` and clear it with "
                "playbooks/repair.yml; no other container was touched." % (name, exc, name)
            )


RECONCILE_LOCK = "/run/lock/labstack-reconcile.lock"


class RefusedChange(Exception):
    """Docker refused a change for one user; nothing of theirs was removed."""


def main():
    module = AnsibleModule(
        argument_spec=dict(
            users=dict(type="list", elements="dict", required=True),
            app=dict(type="dict", required=True),
            ports=dict(type="dict", required=True),
            home_root=dict(type="path", required=True),
            bind_address=dict(type="str", default="127.0.0.1"),
            network=dict(type="str", required=True),
            shared_mounts=dict(type="list", elements="dict", default=[]),
            url_prefix=dict(type="str", default="/user"),
            prune=dict(type="bool", default=True),
            restart=dict(type="list", elements="str", default=[]),
            only=dict(type="list", elements="str", default=[]),
            lock_timeout=dict(type="int", default=600),
            docker_host=DOCKER_HOST_OPTION,
        ),
        supports_check_mode=True,
    )
    p = module.params
    client = connect(module)

    settings = dict(
        home_root=p["home_root"],
        bind_address=p["bind_address"],
        network=p["network"],
        shared_mounts=p["shared_mounts"],
        url_prefix=p["url_prefix"],
    )
    try:
        specs = build_specs(p["users"], p["app"], p["ports"], settings)
    except (KeyError, ValueError) as exc:
        module.fail_json(
            msg="cannot build container specs: %s. Run the preflight "
            "(site.yml does) to find the bad inventory entry." % exc
        )
    # Two runs at once (two admins, a cron job) would both create or replace the same
    # containers; the second waits, then finds everything up to date.
    if not module.check_mode:
        try:
            module.reconcile_lock = hold(RECONCILE_LOCK, timeout=p["lock_timeout"])
        except (LockBusy, OSError) as exc:
            module.fail_json(msg="cannot reconcile the users' containers now: %s" % exc)
    rec = Reconciler(module, client)
    image_ids = {}
    for spec in specs:
        if spec["image"] not in image_ids:
            image_ids[spec["image"]] = rec.image_id(spec["image"])
        spec["hash"] = spec_hash(spec, image_ids[spec["image"]])

    observed = rec.observed(p["app"]["name"], [s["name"] for s in specs])
    actions = plan(specs, observed, p["app"]["name"], prune=p["prune"], restart=p["restart"])
    conflicts = [a for a in actions if a["action"] == "conflict"]
    if conflicts:
        module.fail_json(
            msg="container name(s) %s are taken by containers labstack did not create. Rename "
            "or remove them yourself (labstack never removes foreign containers), then rerun."
            % ", ".join(a["name"] for a in conflicts),
            actions=conflicts,
        )

    if p["only"]:
        # restart-user.yml: act on the named users only; everyone else is left as they are,
        # even if the inventory is half-edited.
        actions = [a for a in actions if a["user"] in p["only"] and a["action"] != "remove"]
        for action in actions:
            if action["action"] == "create":
                # A new user needs a port recorded in the ledger, which only site.yml writes.
                action["action"] = "blocked"
                action["reason"] = "has no container yet; add new users with site.yml"

    by_user = {s["user"]: s for s in specs}
    blocked = {a["user"]: [a["reason"]] for a in actions if a["action"] == "blocked"}
    for action in actions:
        if action["action"] in ("create", "recreate", "repair", "start"):
            problems = spec_problems(by_user[action["user"]]) + rec.host_problems(
                by_user[action["user"]]
            )
            if problems:
                blocked[action["user"]] = problems
                action["action"], action["reason"] = "blocked", "; ".join(problems)

    ids = {c["name"]: c["id"] for c in observed}
    homes_created = []
    for spec in specs:
        acting = spec["user"] not in blocked and (not p["only"] or spec["user"] in p["only"])
        if acting and rec.ensure_home(spec):
            homes_created.append(spec["home_host"])
    refused = []
    for action in actions:
        if module.check_mode or action["action"] in ("ok", "blocked"):
            continue
        name, kind = action["name"], action["action"]
        try:
            if kind == "remove":
                rec.remove(name)
                ids.pop(name, None)
            elif kind == "start":
                client.api.start(name)
            elif kind == "restart":
                client.api.restart(name, timeout=10)
            elif kind == "create":
                ids[name] = rec.create(by_user[action["user"]], by_user[action["user"]]["hash"])
            else:  # recreate, repair
                ids[name], done = rec.replace(by_user[action["user"]], kind, action.get("old_name"))
                ids.pop(action.get("old_name"), None)
                if done:
                    action["repair"] = done
        except RefusedChange as exc:
            action["action"], action["reason"] = "refused", str(exc)
            refused.append(str(exc))
        except (APIError, DockerException) as exc:
            action["action"], action["reason"] = "refused", str(exc)
            refused.append("Docker refused to %s %s: %s" % (kind, name, exc))

    changes = [a for a in actions if is_change(a)]
    containers = {
        s["user"]: {
            "name": s["name"],
            "id": ids.get(s["name"]),
            "port": s["port"],
            "base_path": s["base_path"],
            "strip_prefix": s["strip_prefix"],
            "health_path": s["health_path"],
            "container_port": s["container_port"],
            "home": s["home_host"],
            "uid": s["uid"],
            "gid": s["gid"],
            "action": next((a["action"] for a in actions if a["name"] == s["name"]), "untouched"),
        }
        for s in specs
    }
    before = sorted("%s %s" % (c["name"], c["labels"].get("labstack.spec-hash")) for c in observed)
    after = sorted("%s %s" % (s["name"], s["hash"]) for s in specs)
    result = dict(
        changed=bool([a for a in changes if a["action"] not in ("blocked", "refused")])
        or bool(homes_created),
        containers=containers,
        actions=changes,
        homes_created=homes_created,
        diff={"before": "\n".join(before) + "\n", "after": "\n".join(after) + "\n"},
    )
    if blocked or refused:
        lines = ["%s: %s" % (user, "; ".join(problems)) for user, problems in blocked.items()]
        module.fail_json(
            msg="%d user(s) were left as they were; every other user was reconciled:\n- %s"
            % (len(lines) + len(refused), "\n- ".join(lines + refused)),
            **result,
        )
    module.exit_json(**result)


if __name__ == "__main__":
    main()
