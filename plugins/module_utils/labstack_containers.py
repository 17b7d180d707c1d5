"""Per-user container reconciliation: what to do with each user's container.

Pure functions: `spec_hash` fingerprints everything that must trigger a recreate; `plan`
compares the desired specs with what Docker reports and returns one action per container. The
module lab_user_containers executes the plan with the Docker SDK. A rerun that changes nothing
plans only "ok" actions, so no container is touched and `changed` is false.
"""

import hashlib
import json

from ansible.module_utils.labstack_names import container_name

LABEL_MANAGED = "labstack.managed"
LABEL_USER = "labstack.user"
LABEL_APP = "labstack.app"
LABEL_HASH = "labstack.spec-hash"
LABEL_PORT = "labstack.port"

# Docker states in which a container can neither run nor be removed normally.
STUCK_STATES = ("dead", "removing")

# Fields of a spec that define the container. Anything else (e.g. comments) never recreates.
SPEC_FIELDS = (
    "name",
    "user",
    "app",
    "image",
    "uid",
    "gid",
    "groups",
    "home_host",
    "home_container",
    "port",
    "container_port",
    "bind_address",
    "network",
    "env",
    "command",
    "mounts",
    "restart_policy",
    "memory",
    "cpus",
    "labels",
    "run_as_user",
)


def spec_hash(spec, image_id):
    """Stable fingerprint of a spec plus the image id it resolves to (12 hex chars)."""
    material = {key: spec.get(key) for key in SPEC_FIELDS}
    material["image_id"] = image_id
    blob = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:12]


def labels_for(spec, digest):
    labels = dict(spec.get("labels") or {})
    labels.update(
        {
            LABEL_MANAGED: "true",
            LABEL_USER: spec["user"],
            LABEL_APP: spec["app"],
            LABEL_HASH: digest,
            LABEL_PORT: str(spec["port"]),
        }
    )
    return labels


def plan(desired, observed, app, prune=True, restart=()):
    """Decide one action per container.

    desired   list of specs, each with "name", "user" and "hash" (from spec_hash)
    observed  list of {"name", "id", "status", "labels"} for containers named like `desired`
              or labelled labstack.app == app
    Returns a list of {"action", "name", "user", "reason"}; actions are
      ok, start, restart, create, recreate, repair (stuck: repair, then create),
      remove (user left the inventory), conflict (a foreign container holds the name).
    A recreate or repair of a container found under another name carries "old_name".
    """
    by_name = {c["name"]: c for c in observed}
    wanted = {spec["name"] for spec in desired}
    # A user's container under another name (the naming scheme or the user's escaping changed)
    # is replaced, not kept beside the new one: it still holds the user's port.
    renamed = {}
    for current in sorted(observed, key=lambda c: c["name"]):
        labels = current.get("labels") or {}
        if (
            current["name"] not in wanted
            and labels.get(LABEL_MANAGED) == "true"
            and labels.get(LABEL_APP) == app
            and labels.get(LABEL_USER)
        ):
            renamed.setdefault(labels[LABEL_USER], current)
    restart = set(restart)
    actions = []
    for spec in desired:
        name, user = spec["name"], spec["user"]
        current = by_name.get(name)
        labels = (current or {}).get("labels") or {}

        def act(action, reason, name=name, user=user, **extra):
            actions.append(
                dict({"action": action, "name": name, "user": user, "reason": reason}, **extra)
            )

        if current is None and user in renamed:
            old = renamed[user]
            kind = "repair" if old["status"] in STUCK_STATES else "recreate"
            act(kind, "renamed from %s" % old["name"], old_name=old["name"])
        elif current is None:
            act("create", "no container yet")
        elif labels.get(LABEL_MANAGED) != "true":
            act("conflict", "a container not created by labstack already has this name")
        elif current["status"] in STUCK_STATES:
            act("repair", "container is %s and cannot be reused" % current["status"])
        elif labels.get(LABEL_HASH) != spec["hash"]:
            act("recreate", "spec changed (%s -> %s)" % (labels.get(LABEL_HASH), spec["hash"]))
        elif current["status"] != "running":
            act("start", "container is %s" % current["status"])
        elif user in restart:
            act("restart", "restart requested")
        else:
            act("ok", "up to date")
    if prune:
        replaced = {a["old_name"] for a in actions if a.get("old_name")}
        for current in sorted(observed, key=lambda c: c["name"]):
            labels = current.get("labels") or {}
            if (
                current["name"] not in wanted
                and current["name"] not in replaced
                and labels.get(LABEL_MANAGED) == "true"
                and labels.get(LABEL_APP) == app
            ):
                actions.append(
                    {
                        "action": "remove",
                        "name": current["name"],
                        "user": labels.get(LABEL_USER),
                        "reason": "user is no longer in the inventory (home directory kept)",
                    }
                )
    return actions


def spec_problems(spec):
    """Why Docker would refuse this spec, found before anything is removed (pure)."""
    problems = []
    seen = {spec["home_container"]: "the home directory"}
    for mount in spec["mounts"]:
        dest = mount["dest"].rstrip("/") or "/"
        if dest in seen:
            problems.append(
                "mount %s -> %s uses the same path as %s" % (mount["src"], dest, seen[dest])
            )
        else:
            seen[dest] = "mount %s -> %s" % (mount["src"], dest)
    return problems


def is_change(action):
    return action["action"] not in ("ok", "conflict")


def _fill(value, context):
    """Substitute {user}, {home}, {base_path}, {uid}, {gid} in strings of a profile value."""
    if isinstance(value, str):
        return value.format(**context)
    if isinstance(value, list):
        return [_fill(v, context) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, context) for k, v in value.items()}
    return value


def build_specs(users, app, ports, settings):
    """Turn inventory users plus an app profile into container specs (pure).

    users     [{"name", "uid", "gid"?, "groups"?, "data"?: [{"src", "dest", "mode"}]}]
    app       {"name", "image", "container_port", "run_as_user", "home_container",
               "command", "env", "restart_policy", "memory"?, "cpus"?}
    ports     {user: host port}
    settings  {"home_root", "bind_address", "network", "shared_mounts"?, "url_prefix"}
    """
    specs = []
    for user in users:
        name = user["name"]
        uid = int(user["uid"])
        gid = int(user.get("gid") if user.get("gid") is not None else uid)
        context = {
            "user": name,
            "uid": uid,
            "gid": gid,
            "base_path": "%s/%s/" % (settings.get("url_prefix", "/user").rstrip("/"), name),
        }
        context["home"] = _fill(app.get("home_container", "/home/{user}"), context)
        mounts = [
            {"src": m["src"], "dest": m["dest"], "mode": m.get("mode", "ro")}
            for m in list(settings.get("shared_mounts") or []) + list(user.get("data") or [])
        ]
        specs.append(
            {
                "name": container_name(app["name"], name),
                "user": name,
                "app": app["name"],
                "image": app["image"],
                "uid": uid,
                "gid": gid,
                "groups": sorted(int(g) for g in user.get("groups") or []),
                "run_as_user": bool(app.get("run_as_user", True)),
                "home_host": "%s/%s" % (settings["home_root"].rstrip("/"), name),
                "home_container": context["home"],
                "port": int(ports[name]),
                "container_port": int(app["container_port"]),
                "bind_address": settings.get("bind_address", "127.0.0.1"),
                "network": settings["network"],
                "env": _fill(dict(app.get("env") or {}), context),
                "command": _fill(list(app.get("command") or []), context) or None,
                "mounts": mounts,
                "restart_policy": app.get("restart_policy", "unless-stopped"),
                "memory": app.get("memory"),
                "cpus": app.get("cpus"),
                "labels": dict(app.get("labels") or {}),
                "base_path": context["base_path"],
                # How the portal routes to the app; these do not change the container.
                "strip_prefix": bool(app.get("strip_prefix", False)),
                "health_path": app.get("health_path", ""),
            }
        )
    return specs
