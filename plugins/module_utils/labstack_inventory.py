"""Inventory validation: every rule the preflight enforces before anything is changed.

`validate` returns a list of messages, each naming the bad entry and the rule it breaks, e.g.
"lab_users[2] 'bob': uid 1001 already used by 'alice'". An empty list means the run may go on.
"""

import ipaddress
import re

from ansible.module_utils.labstack_names import (
    APP_RE,
    container_name,
    escape_username,
    username_problem,
)
from ansible.module_utils.labstack_ports import validate_range

UID_MIN = 1000
UID_MAX = 65533  # 65534 is "nobody", 65535 is reserved
MOUNT_MODES = ("ro", "rw")
# "labstack-portal" etc. must never be a user's container name.
RESERVED_APPS = ("labstack",)
USER_KEYS = {"name", "uid", "gid", "groups", "data", "comment", "email", "full_name"}


def _is_int(value):
    return isinstance(value, int) and not isinstance(value, bool)


def _check_keys(where, entry, allowed, errors):
    unknown = sorted(set(entry) - allowed)
    if unknown:
        errors.append(
            "%s: unknown key(s) %s; allowed: %s"
            % (where, ", ".join(map(str, unknown)), ", ".join(sorted(allowed)))
        )


def _check_id(where, what, value, errors):
    if not _is_int(value):
        errors.append("%s: %s must be an integer, got %r" % (where, what, value))
        return False
    if not UID_MIN <= value <= UID_MAX:
        errors.append(
            "%s: %s %d is outside %d-%d (system and root ids are refused: the "
            "container would run with host privileges)" % (where, what, value, UID_MIN, UID_MAX)
        )
        return False
    return True


# Host paths that would hand a container the host itself (root via the Docker socket, kernel
# interfaces, system configuration) or Docker's own state.
FORBIDDEN_SOURCES = (
    "/",
    "/etc",
    "/proc",
    "/sys",
    "/dev",
    "/boot",
    "/root",
    "/var/lib/docker",
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/run",
    "/var/run",
)


def _check_mounts(where, mounts, errors, dests=None):
    """Check a list of mounts; `dests` (dest -> where) catches one path mounted twice."""
    if not isinstance(mounts, list):
        errors.append("%s: must be a list of {src, dest, mode}" % where)
        return
    dests = {} if dests is None else dests
    for j, mount in enumerate(mounts):
        here = "%s[%d]" % (where, j)
        if not isinstance(mount, dict):
            errors.append("%s: must be a mapping with src, dest and mode" % here)
            continue
        for key in ("src", "dest"):
            value = mount.get(key)
            if not isinstance(value, str) or not value.startswith("/") or ":" in value:
                errors.append(
                    "%s: %s must be an absolute path without ':' (got %r)" % (here, key, value)
                )
        src, dest = mount.get("src"), mount.get("dest")
        if isinstance(src, str) and (src.rstrip("/") or "/") in FORBIDDEN_SOURCES:
            errors.append(
                "%s: src %s would expose the host itself to the container; mount a data "
                "directory instead" % (here, src)
            )
        if isinstance(dest, str) and dest.startswith("/"):
            key = dest.rstrip("/") or "/"
            if key in dests:
                errors.append("%s: dest %s is already used by %s" % (here, key, dests[key]))
            else:
                dests[key] = here
        if mount.get("mode", "ro") not in MOUNT_MODES:
            errors.append(
                "%s: mode must be one of %s (got %r)"
                % (here, ", ".join(MOUNT_MODES), mount.get("mode"))
            )


# A URL path segment nginx and browsers take literally: no spaces, quotes, ";", "{" or "$" that
# would end up inside the proxy configuration.
_SEGMENT = r"[A-Za-z0-9._~-]+"
SERVICE_PATH_RE = re.compile(r"^/(?:%s/)+$" % _SEGMENT)
URL_PREFIX_RE = re.compile(r"^(?:/%s)+$" % _SEGMENT)
# host:port of a container on the lab network (Docker DNS name) or an address.
UPSTREAM_RE = re.compile(
    r"^(?P<host>[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?):(?P<port>\d{1,5})$"
)
RESERVED_PATHS = ("/healthz/",)
SERVICE_KEYS = {"name", "path", "upstream", "description", "strip_prefix"}


def _name_problem(name):
    """username_problem, plus the hint YAML needs: 007 or yes unquoted are not strings."""
    if name is not None and not isinstance(name, str):
        return "is not a string: YAML read it as %s %r; quote it in the inventory (name: '...')" % (
            type(name).__name__,
            name,
        )
    return username_problem(name)


def validate_url_prefix(prefix):
    if not isinstance(prefix, str) or not URL_PREFIX_RE.match(prefix):
        return [
            "lab_url_prefix: must be a URL path such as /user (letters, digits, '.', '_', '~', "
            "'-'; no trailing /), got %r" % (prefix,)
        ]
    return []


def validate_services(services, url_prefix="/user"):
    """lab_services: [{name, path, upstream, description}], each path its own."""
    if not isinstance(services, list):
        return ["lab_services: must be a list of {name, path, upstream, description}"]
    errors = []
    paths = {}
    prefix = (url_prefix if isinstance(url_prefix, str) else "/user").rstrip("/") + "/"
    for i, service in enumerate(services):
        where = "lab_services[%d]" % i
        if not isinstance(service, dict):
            errors.append("%s: must be a mapping with name, path and upstream" % where)
            continue
        name = service.get("name")
        if not isinstance(name, str) or not name.strip():
            errors.append("%s: name must be a non-empty string (shown on the entry page)" % where)
        else:
            where = "%s '%s'" % (where, name)
        _check_keys(where, service, SERVICE_KEYS, errors)
        path = service.get("path")
        if not isinstance(path, str) or not SERVICE_PATH_RE.match(path):
            errors.append(
                "%s: path must look like /name/ (letters, digits, '.', '_', '~', '-', starting "
                "and ending with /), got %r" % (where, path)
            )
        elif path in RESERVED_PATHS or path.startswith(prefix) or prefix.startswith(path):
            errors.append(
                "%s: path %s collides with the portal's own routes (%s<name>/, /healthz); "
                "choose another" % (where, path, prefix)
            )
        elif path in paths:
            errors.append("%s: path %s is already used by %s" % (where, path, paths[path]))
        else:
            paths[path] = where
        upstream = service.get("upstream")
        match = UPSTREAM_RE.match(upstream) if isinstance(upstream, str) else None
        if not match or not 1 <= int(match.group("port")) <= 65535:
            errors.append(
                "%s: upstream must be host:port of a container on the lab network (e.g. "
                "adminer:8080), got %r" % (where, upstream)
            )
        description = service.get("description", "")
        if not isinstance(description, str):
            errors.append("%s: description must be a string" % where)
        if not isinstance(service.get("strip_prefix", True), bool):
            errors.append("%s: strip_prefix must be true or false" % where)
    return errors


def validate_bind_address(variable, address):
    try:
        ipaddress.ip_address(address if isinstance(address, str) else "")
    except ValueError:
        return [
            "%s: must be an IP address to bind to (127.0.0.1 keeps it on this host), got %r"
            % (variable, address)
        ]
    return []


def validate_users(users, app_name="workbench", shared_dests=None):
    errors = []
    if not isinstance(users, list):
        return [
            "lab_users: must be a list of users (name, uid, ...), got %s" % type(users).__name__
        ]
    if not users:
        return [
            "lab_users: is empty; that would remove every user's container. List at least one "
            "user (home directories are kept either way)."
        ]
    names = {}
    uids = {}
    escaped = {}
    for i, user in enumerate(users):
        where = "lab_users[%d]" % i
        if not isinstance(user, dict):
            errors.append("%s: must be a mapping with at least name and uid" % where)
            continue
        name = user.get("name")
        problem = _name_problem(name)
        if problem:
            errors.append("%s %r: user name %s" % (where, name, problem))
            continue
        where = "%s '%s'" % (where, name)
        _check_keys(where, user, USER_KEYS, errors)
        if name in names:
            errors.append("%s: name already used by lab_users[%d]" % (where, names[name]))
            continue
        names[name] = i
        key = container_name(app_name, name) if APP_RE.match(app_name or "") else name
        if key in escaped:
            errors.append("%s: container name %s already used by '%s'" % (where, key, escaped[key]))
        escaped[key] = name
        uid = user.get("uid")
        if _check_id(where, "uid", uid, errors):
            if uid in uids:
                errors.append("%s: uid %d already used by '%s'" % (where, uid, uids[uid]))
            else:
                uids[uid] = name
        if user.get("gid") is not None:
            _check_id(where, "gid", user["gid"], errors)
        groups = user.get("groups", [])
        if not isinstance(groups, list) or not all(_is_int(g) and g > 0 for g in groups):
            errors.append("%s: groups must be a list of numeric gids (got %r)" % (where, groups))
        if "data" in user:
            _check_mounts(where + " data", user["data"], errors, dict(shared_dests or {}))
    return errors


def validate(config):
    """Validate the whole labstack inventory of one host (a dict of its variables)."""
    errors = []
    app = config.get("app_name", "workbench")
    if app in RESERVED_APPS:
        errors.append(
            "user_containers_app.name %r: is reserved for labstack's own containers" % (app,)
        )
        app = None
    elif not isinstance(app, str) or not APP_RE.match(app):
        errors.append(
            "user_containers_app.name %r: must match %s (it prefixes every container "
            "name)" % (app, APP_RE.pattern)
        )
        app = None
    shared_dests = {}
    _check_mounts("lab_shared_mounts", config.get("shared_mounts", []), errors, shared_dests)
    users = config.get("users", [])
    errors += validate_users(users, app or "workbench", shared_dests)

    port_range = config.get("port_range")
    if not isinstance(port_range, dict) or set(port_range) != {"start", "end"}:
        errors.append(
            "lab_port_range: must be a mapping {start: N, end: M}, got %r" % (port_range,)
        )
        port_range = {}
    start, end = port_range.get("start"), port_range.get("end")
    problem = validate_range(start, end) if port_range else "invalid"
    if problem:
        if port_range:
            errors.append("lab_port_range: %s" % problem)
    elif isinstance(users, list) and end - start + 1 < len(users):
        errors.append(
            "lab_port_range: %d-%d holds %d ports but there are %d users; widen it"
            % (start, end, end - start + 1, len(users))
        )
    portal_port = config.get("portal_port")
    if not _is_int(portal_port) or not 1 <= portal_port <= 65535:
        errors.append("portal_port: must be a port number, got %r" % (portal_port,))
    elif not problem and start <= portal_port <= end:
        errors.append(
            "portal_port: %d lies inside lab_port_range %d-%d; move one of them"
            % (portal_port, start, end)
        )
    if "url_prefix" in config:
        errors += validate_url_prefix(config["url_prefix"])
    if "services" in config:
        errors += validate_services(config["services"], config.get("url_prefix", "/user"))
    for key, variable in (
        ("bind_address", "lab_bind_address"),
        ("portal_bind_address", "portal_bind_address"),
    ):
        if key in config:
            errors += validate_bind_address(variable, config[key])
    home_root = config.get("home_root")
    if not isinstance(home_root, str) or not home_root.startswith("/") or home_root == "/":
        errors.append(
            "lab_home_root: must be an absolute directory other than /, got %r" % (home_root,)
        )
    return errors


def escaped_names(users):
    """{user: escaped name} for display in the preflight summary."""
    return {u["name"]: escape_username(u["name"]) for u in users}
