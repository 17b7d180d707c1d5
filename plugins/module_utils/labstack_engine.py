"""Decisions about a Docker Engine host, as pure functions (no Ansible, no Docker needed).

Used by the docker_engine role's modules (lab_engine_preflight, lab_daemon_config,
lab_docker_unit, lab_optional_sysctl, lab_engine_report) and tested in tests/unit/test_engine.py.
"""

import copy
import difflib
import ipaddress
import json
import re
import shlex

# --- daemon.json -----------------------------------------------------------------------------


def merge_options(defaults, overrides):
    """Merge ``overrides`` over ``defaults`` recursively; a ``None`` value deletes the key.

    Dicts merge key by key (so ``log-opts: {max-size: 50m}`` keeps the default ``max-file``);
    lists and scalars replace. ``None`` lets the admin drop a safe default on purpose.
    """
    merged = copy.deepcopy(defaults or {})
    for key, value in (overrides or {}).items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_options(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


# The drivers that rotate their own files and so take max-size/max-file.
_LOG_DRIVERS_WITH_ROTATION = ("json-file", "local")
# Built-in drivers that refuse max-size/max-file ("unknown log opt"); a log plugin may take them.
_LOG_DRIVERS_WITHOUT_ROTATION = (
    "awslogs",
    "etwlogs",
    "fluentd",
    "gcplogs",
    "gelf",
    "journald",
    "logentries",
    "none",
    "splunk",
    "syslog",
)
_ROTATION_OPTS = ("max-size", "max-file")


def daemon_config(defaults, options):
    """The daemon configuration to write: ``options`` merged over ``defaults``.

    The default log-opts (max-size, max-file) are json-file's and local's: any other driver
    refuses them and dockerd does not start. So when the admin picks another driver, the
    default log-opts are dropped and only the admin's own log-opts (if any) are kept.
    """
    merged = merge_options(defaults, options)
    driver = merged.get("log-driver", "json-file")
    if driver not in _LOG_DRIVERS_WITH_ROTATION:
        own = (options or {}).get("log-opts")
        if isinstance(own, dict) and any(v is not None for v in own.values()):
            merged["log-opts"] = {k: copy.deepcopy(v) for k, v in own.items() if v is not None}
        else:
            merged.pop("log-opts", None)
    return merged


def render_daemon_json(config):
    """The exact bytes written to daemon.json: stable key order, two-space indent, final newline."""
    return json.dumps(config, indent=2, sort_keys=True) + "\n"


def parse_daemon_json(text):
    """Parse an existing daemon.json; empty or missing (None) means no options."""
    if text is None or not text.strip():
        return {}
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("daemon.json must hold a JSON object, not %s" % type(value).__name__)
    return value


# Value types dockerd accepts for the keys labstack sets or the admin commonly sets. A wrong
# type makes dockerd refuse to start, so it is caught here, before anything is restarted.
_KEY_TYPES = {
    "storage-driver": str,
    "data-root": str,
    "live-restore": bool,
    "log-driver": str,
    "log-opts": dict,
    "log-level": str,
    "hosts": list,
    "default-address-pools": list,
    "storage-opts": list,
    "exec-opts": list,
    "dns": list,
    "registry-mirrors": list,
    "insecure-registries": list,
    "debug": bool,
    "iptables": bool,
    "ip-forward": bool,
    "userland-proxy": bool,
    "max-concurrent-downloads": int,
    "max-concurrent-uploads": int,
    "shutdown-timeout": int,
    "mtu": int,
    "bip": str,
    "default-ulimits": dict,
    "labels": list,
    "host-gateway-ips": list,
    "firewall-backend": str,
    "allow-direct-routing": bool,
    "ip-forward-no-drop": bool,
}

# daemon.json keys dockerd 20.10-29 knows (dockerd refuses any other key at start). A close
# misspelling is refused with a suggestion; anything else only warned about, so options of a
# newer Docker are not blocked.
KNOWN_DAEMON_KEYS = frozenset(
    [
        "allow-direct-routing",
        "allow-nondistributable-artifacts",
        "api-cors-header",
        "apparmor-profile",
        "authorization-plugins",
        "bip",
        "bip6",
        "bridge",
        "bridge-accept-fwmark",
        "builder",
        "cdi-spec-dirs",
        "cgroup-parent",
        "containerd",
        "containerd-namespace",
        "containerd-plugin-namespace",
        "cpu-rt-period",
        "cpu-rt-runtime",
        "cri-containerd",
        "data-root",
        "debug",
        "default-address-pools",
        "default-cgroupns-mode",
        "default-gateway",
        "default-gateway-v6",
        "default-ipc-mode",
        "default-network-opts",
        "default-runtime",
        "default-shm-size",
        "default-ulimits",
        "dns",
        "dns-opts",
        "dns-search",
        "exec-opts",
        "exec-root",
        "experimental",
        "features",
        "firewall-backend",
        "fixed-cidr",
        "fixed-cidr-v6",
        "group",
        "host-gateway-ip",
        "host-gateway-ips",
        "hosts",
        "icc",
        "init",
        "init-path",
        "insecure-registries",
        "ip",
        "ip-forward",
        "ip-forward-no-drop",
        "ip-masq",
        "ip6tables",
        "iptables",
        "ipv6",
        "labels",
        "live-restore",
        "log-driver",
        "log-format",
        "log-level",
        "log-opts",
        "max-concurrent-downloads",
        "max-concurrent-uploads",
        "max-download-attempts",
        "metrics-addr",
        "min-api-version",
        "mtu",
        "network-control-plane-mtu",
        "network-diagnostic-port",
        "no-new-privileges",
        "node-generic-resources",
        "nri-opts",
        "oom-score-adjust",
        "pidfile",
        "proxies",
        "raw-logs",
        "registry-mirrors",
        "runtimes",
        "seccomp-profile",
        "selinux-enabled",
        "shutdown-timeout",
        "storage-driver",
        "storage-opts",
        "swarm-default-advertise-addr",
        "tls",
        "tlscacert",
        "tlscert",
        "tlskey",
        "tlsverify",
        "userland-proxy",
        "userland-proxy-path",
        "userns-remap",
    ]
)


def _close_key(key):
    match = difflib.get_close_matches(key, sorted(KNOWN_DAEMON_KEYS), n=1, cutoff=0.8)
    return match[0] if match else None


def daemon_config_warnings(config):
    """Settings dockerd accepts but the admin should hear about."""
    warnings = [
        "daemon option %r is unknown to labstack (dockerd 20.10-29 refuses unknown options; "
        "newer releases may know it)" % key
        for key in sorted(config)
        if key not in KNOWN_DAEMON_KEYS and not _close_key(key)
    ]
    if config.get("live-restore") is not True:
        warnings.append(
            "live-restore is off: every Docker restart (this role's, a package update's) stops "
            "every user's container"
        )
    return warnings + log_rotation_warnings(config)


JOURNALD_SOCKET = "/run/systemd/journal/socket"
SYSLOG_SOCKET = "/dev/log"


def log_driver_host_problems(config, exists):
    """A log driver this host cannot serve: dockerd starts with it, then every new container
    fails ("failed to initialize logging driver"). `exists(path)` looks on the target."""
    driver = config.get("log-driver")
    opts = config.get("log-opts") or {}
    if driver == "journald" and not exists(JOURNALD_SOCKET):
        return [
            "log-driver: journald is not running on this host (%s is missing): dockerd would "
            "start, then refuse to create any container. Keep json-file or local, or run "
            "systemd-journald first" % JOURNALD_SOCKET
        ]
    if driver == "syslog" and "syslog-address" not in opts and not exists(SYSLOG_SOCKET):
        return [
            "log-driver: syslog needs a syslog daemon at %s (missing here) or a "
            "log-opts.syslog-address; otherwise every new container would fail to start"
            % SYSLOG_SOCKET
        ]
    return []


def validate_daemon_config(config):
    """Problems in the daemon configuration itself, one message per bad key."""
    problems = []
    for key in sorted(config):
        suggestion = _close_key(key) if key not in KNOWN_DAEMON_KEYS else None
        if suggestion:
            problems.append(
                "%s: not a dockerd option (did you mean %s?); dockerd would refuse to start"
                % (key, suggestion)
            )
    for key, expected in sorted(_KEY_TYPES.items()):
        if key not in config:
            continue
        value = config[key]
        # bool is an int in Python; dockerd does not take true for a number.
        wrong = not isinstance(value, expected) or (expected is int and isinstance(value, bool))
        if wrong:
            problems.append(
                "%s: dockerd expects a %s, got %r" % (key, _JSON_NAMES[expected], value)
            )
    log_opts = config.get("log-opts")
    if isinstance(log_opts, dict):
        for opt, value in sorted(log_opts.items()):
            if not isinstance(value, str):
                problems.append(
                    'log-opts.%s: dockerd takes log options as strings only (write "%s")'
                    % (opt, json.dumps(value).strip('"'))
                )
        problems.extend(_log_opts_problems(config.get("log-driver", "json-file"), log_opts))
    for i, pool in enumerate(config.get("default-address-pools") or []):
        if not (isinstance(pool, dict) and "base" in pool and "size" in pool):
            problems.append(
                "default-address-pools[%d]: each pool needs base and size, got %r" % (i, pool)
            )
            continue
        problems.extend("default-address-pools[%d]: %s" % (i, p) for p in _pool_problems(pool))
    data_root = config.get("data-root")
    if isinstance(data_root, str) and not data_root.startswith("/"):
        problems.append("data-root: must be an absolute path, got %r" % data_root)
    return problems


_JSON_NAMES = {str: "string", bool: "boolean", dict: "object", list: "list", int: "number"}

# dockerd reads sizes with go-units: a number, an optional unit (k, m, g, ...), optional i/b.
_SIZE_RE = re.compile(r"^(\d+(\.\d+)*) ?([kKmMgGtTpP])?[iI]?[bB]?$")


def _log_opts_problems(driver, log_opts):
    """max-size/max-file in a form dockerd refuses at start, or with a driver that refuses them."""
    problems = []
    if driver in _LOG_DRIVERS_WITHOUT_ROTATION:
        for opt in _ROTATION_OPTS:
            if opt in log_opts:
                problems.append(
                    "log-opts.%s: log-driver %s does not take it (only json-file and local "
                    "rotate logs); dockerd would refuse to start" % (opt, driver)
                )
        return problems
    size = log_opts.get("max-size")
    if isinstance(size, str):
        match = _SIZE_RE.match(size)
        if not match or float(match.group(1)) <= 0:
            problems.append(
                'log-opts.max-size: %r is not a positive size (write e.g. "10m", "1g")' % size
            )
    files = log_opts.get("max-file")
    if isinstance(files, str) and not (files.isdigit() and int(files) >= 1):
        problems.append(
            'log-opts.max-file: %r is not a whole number of files, 1 or more (write e.g. "3")'
            % files
        )
    return problems


# Options a running dockerd takes on SIGHUP ("systemctl reload docker") without a restart
# (dockerd reference, "Configuration reload behavior"). Any other change needs a restart.
RELOADABLE_KEYS = frozenset(
    [
        "authorization-plugins",
        "debug",
        "default-runtime",
        "features",
        "insecure-registries",
        "labels",
        "live-restore",
        "max-concurrent-downloads",
        "max-concurrent-uploads",
        "max-download-attempts",
        "registry-mirrors",
        "runtimes",
        "shutdown-timeout",
    ]
)


def changed_keys(before, after):
    """The top-level daemon.json keys whose value differs between two configurations."""
    before, after = before or {}, after or {}
    return sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))


def restart_needed(keys):
    """Whether changing ``keys`` needs a dockerd restart (a reload is enough otherwise)."""
    return any(key not in RELOADABLE_KEYS for key in keys)


def _pool_problems(pool):
    try:
        network = ipaddress.ip_network(str(pool["base"]), strict=False)
    except ValueError:
        return ["base %r is not a network in CIDR notation" % (pool["base"],)]
    size = pool["size"]
    if isinstance(size, bool) or not isinstance(size, int):
        return ["size must be a prefix length (a number), got %r" % (size,)]
    if not network.prefixlen <= size <= network.max_prefixlen:
        return [
            "size /%d does not fit in base %s (it must be between /%d and /%d)"
            % (size, network, network.prefixlen, network.max_prefixlen)
        ]
    return []


def log_rotation_warnings(config):
    """Warn when the logs of containers can fill the disk."""
    driver = config.get("log-driver", "json-file")
    opts = config.get("log-opts") or {}
    if driver == "json-file" and "max-size" not in opts:
        return ["log-driver json-file without log-opts.max-size: container logs grow without end"]
    return []


# --- the unit's command line vs. daemon.json -------------------------------------------------

# dockerd flag (long name, without dashes) -> daemon.json key, where they differ.
_FLAG_TO_KEY = {
    "host": "hosts",
    "graph": "data-root",
    "label": "labels",
    "storage-opt": "storage-opts",
    "log-opt": "log-opts",
    "exec-opt": "exec-opts",
    "dns-opt": "dns-opts",
    "default-ulimit": "default-ulimits",
    "insecure-registry": "insecure-registries",
    "registry-mirror": "registry-mirrors",
    "authorization-plugin": "authorization-plugins",
    "add-runtime": "runtimes",
    "default-address-pool": "default-address-pools",
    "node-generic-resource": "node-generic-resources",
    "allow-nondistributable-artifacts": "allow-nondistributable-artifacts",
    "tlsverify": "tlsverify",
}
_SHORT_FLAGS = {
    "H": "host",
    "D": "debug",
    "l": "log-level",
    "g": "graph",
    "s": "storage-driver",
    "p": "pidfile",
    "G": "group",
    "b": "bridge",
}


def dockerd_flag_keys(argv):
    """The daemon.json keys that dockerd's command-line flags set, with the flag as written.

    ``argv`` is the dockerd command line (``ExecStart``). Returns ``{key: flag-as-written}``.
    """
    keys = {}
    for arg in argv[1:]:
        if arg.startswith("--"):
            name = arg[2:].split("=", 1)[0]
        elif arg.startswith("-") and len(arg) >= 2 and arg[1] in _SHORT_FLAGS:
            name = _SHORT_FLAGS[arg[1]]
        else:
            continue
        key = _FLAG_TO_KEY.get(name, name)
        keys.setdefault(key, arg)
    return keys


def flag_conflicts(config, argv):
    """Keys set both in daemon.json and on dockerd's command line: dockerd refuses to start.

    Returns one message per key, naming the key and the flag (``hosts`` vs ``-H fd://``).
    """
    problems = []
    flags = dockerd_flag_keys(argv)
    for key in sorted(config):
        if key in flags:
            flag = flags[key]
            # Show the flag with its value: "-H fd://" reads better than "-H".
            index = argv.index(flag)
            shown = flag
            if "=" not in flag and index + 1 < len(argv) and not argv[index + 1].startswith("-"):
                shown = "%s %s" % (flag, argv[index + 1])
            problems.append(
                "%s: set in daemon.json and as the flag %r on dockerd's command line; dockerd "
                "refuses to start with both. Remove %s from docker_engine_daemon_options, or "
                "override ExecStart in a drop-in" % (key, shown, key)
            )
    return problems


def split_unit_sections(text):
    """[(section, key, value)] of a systemd unit file, with continuation lines joined."""
    entries = []
    section = None
    pending = ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if pending:
            line = pending + " " + line.lstrip()
            pending = ""
        if line.endswith("\\"):
            pending = line[:-1].rstrip()
            continue
        stripped = line.strip()
        if not stripped or stripped[0] in "#;":
            continue
        if stripped.startswith("[") and stripped.endswith("]"):
            section = stripped[1:-1]
            continue
        if "=" in stripped:
            key, value = stripped.split("=", 1)
            entries.append((section, key.strip(), value.strip()))
    return entries


def parse_environment_file(text):
    """KEY=VALUE pairs of a systemd EnvironmentFile (e.g. /etc/default/docker)."""
    env = {}
    for raw in (text or "").splitlines():
        line = raw.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip()
        if key.startswith("export "):
            key = key[len("export ") :].strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        env[key] = value
    return env


def environment_files(unit_texts):
    """The EnvironmentFile= paths of the unit, as (path, optional)."""
    files = []
    for text in unit_texts:
        for section, key, value in split_unit_sections(text):
            if section == "Service" and key == "EnvironmentFile":
                if not value:
                    files = []
                    continue
                files.append((value.lstrip("-"), value.startswith("-")))
    return files


def _expand(word, env):
    """systemd's expansion: a word that is exactly $VAR splits into words; ${VAR} does not."""
    match = re.fullmatch(r"\$([A-Za-z_][A-Za-z0-9_]*)", word)
    if match:
        return env.get(match.group(1), "").split()
    expanded = re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}", lambda m: env.get(m.group(1), ""), word)
    return [expanded]


def effective_exec_start(unit_texts, env=None):
    """The ExecStart command line systemd runs, given the unit file then its drop-ins in order.

    An empty ``ExecStart=`` resets the list (how drop-ins replace the command). ``$VAR`` and
    ``${VAR}`` are expanded from ``env`` (the unit's EnvironmentFile), since flags hidden in
    ``DOCKER_OPTS`` conflict with daemon.json just the same. Returns the argv of the last
    command, or ``[]`` when there is none.
    """
    commands = []
    for text in unit_texts:
        for section, key, value in split_unit_sections(text):
            if section != "Service" or key != "ExecStart":
                continue
            if not value:
                commands = []
            else:
                commands.append(value)
    if not commands:
        return []
    command = commands[-1].lstrip("-@+!:")
    argv = []
    for word in shlex.split(command):
        argv.extend(_expand(word, env or {}))
    return argv


def effective_setting(unit_texts, section, key):
    """The last value of ``section.key`` over the unit and its drop-ins (None if unset/reset)."""
    value = None
    for text in unit_texts:
        for sec, k, v in split_unit_sections(text):
            if sec == section and k == key:
                value = v or None
    return value


# --- mount propagation -----------------------------------------------------------------------

_MOUNTFLAGS_RE = re.compile(r"^\s*MountFlags\s*=\s*(\S*)\s*$")


def strip_mountflags_slave(text):
    """Remove ``MountFlags=slave`` lines from a drop-in.

    Returns ``(new_text, removed, empty)``: ``removed`` is True when a line went, ``empty`` is
    True when nothing but section headers and comments remain (then the file can go).
    """
    kept = []
    removed = False
    for line in text.splitlines(keepends=True):
        match = _MOUNTFLAGS_RE.match(line)
        if match and match.group(1) == "slave":
            removed = True
            continue
        kept.append(line)
    new_text = "".join(kept)
    meaningful = [
        line
        for line in new_text.splitlines()
        if line.strip() and line.strip()[0] not in "#;[" and line.strip()
    ]
    return new_text, removed, not meaningful


def effective_setting_source(units, section, key):
    """``(value, path)`` of the last ``section.key`` over ``[(path, text)]`` in systemd's order.

    ``(None, None)`` when it is unset or reset by an empty assignment.
    """
    value, source = None, None
    for path, text in units:
        for sec, k, v in split_unit_sections(text):
            if sec == section and k == key:
                value, source = (v or None), (path if v else None)
    return value, source


# MountFlags that give dockerd a mount namespace of its own (container mounts hidden from the
# host, rshared volumes broken, 'docker exec' broken after a live-restore restart).
_PRIVATE_MOUNT_FLAGS = ("slave", "private")


def propagation_problems(mount_flags, live_restore, source=None):
    """Refuse an effective MountFlags=slave/private that is left after the role's own edits.

    The role overrides a vendor unit's slave with its 50- drop-in and removes slave from the
    admin's drop-ins, so what is left is set where the role may not edit (``source``: a drop-in
    under /run or /usr/lib sorting after the role's). Refused whether or not live-restore is on.
    """
    if mount_flags not in _PRIVATE_MOUNT_FLAGS:
        return []
    where = "set in %s, which labstack may not edit" % source if source else "set in the unit"
    return [
        "MountFlags=%s would stay in effect for dockerd (%s): it gives dockerd its own mount "
        "namespace, hides container mounts from the host (the 'device or resource busy' "
        "removals), breaks rshared volumes and, with live-restore%s, 'docker exec' into "
        "surviving containers after a daemon restart. Remove the MountFlags line from %s (or "
        "give that drop-in a name that sorts before 50-labstack-mount-propagation.conf), "
        "then rerun"
        % (
            mount_flags,
            where,
            " (on here)" if live_restore else "",
            source or "the docker unit",
        )
    ]


# --- kernel and sysctl -----------------------------------------------------------------------


def kernel_version(release):
    """(major, minor) of a kernel release string like '3.10.0-1160.el7.x86_64'."""
    match = re.match(r"(\d+)\.(\d+)", release or "")
    if not match:
        raise ValueError("not a kernel release: %r" % release)
    return int(match.group(1)), int(match.group(2))


def kernel_warnings(release, may_detach_exists):
    """Warn on the EBUSY-prone combination: kernel < 3.19 without fs.may_detach_mounts."""
    if kernel_version(release) < (3, 19) and not may_detach_exists:
        return [
            "kernel %s is older than 3.19 and has no fs.may_detach_mounts: removing a container "
            "whose mounts leaked into another mount namespace fails with 'device or resource "
            "busy'. Update the kernel (EL7: 3.10.0-693 or later has the sysctl)." % release
        ]
    return []


def plan_sysctl(exists, current, wanted, writable):
    """What to do about an optional sysctl, decided by whether its /proc file exists.

    Returns a dict: ``state`` (absent | set | already | read-only), ``write`` (set the live
    value now), ``persist`` (keep it in sysctl.d) and ``warning`` (or None).
    """
    if not exists:
        return {"state": "absent", "write": False, "persist": False, "warning": None}
    if current is not None and str(current).strip() == str(wanted):
        state = "already"
        write = False
    elif not writable:
        return {
            "state": "read-only",
            "write": False,
            "persist": False,
            "warning": "the sysctl exists but is read-only here (value %s, wanted %s); "
            "leaving it and carrying on: set it on the host that owns it" % (current, wanted),
        }
    else:
        state = "set"
        write = True
    return {"state": state, "write": write, "persist": True, "warning": None}


# --- storage ---------------------------------------------------------------------------------


def parse_mountinfo(text):
    """[(mount_point, fstype, source, options)] from /proc/self/mountinfo."""
    mounts = []
    for line in text.splitlines():
        if " - " not in line:
            continue
        left, right = line.split(" - ", 1)
        left_fields = left.split()
        right_fields = right.split()
        if len(left_fields) < 5 or len(right_fields) < 2:
            continue
        point = _unescape_mount(left_fields[4])
        options = left_fields[5] if len(left_fields) > 5 else ""
        mounts.append((point, right_fields[0], _unescape_mount(right_fields[1]), options))
    return mounts


def _unescape_mount(field):
    return re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field)


def mount_of(mounts, path):
    """The mount (last-mounted wins) that holds ``path``: (mount_point, fstype, source, opts)."""
    best = None
    path = path.rstrip("/") or "/"
    for mount in mounts:
        point = mount[0].rstrip("/") or "/"
        inside = point in (path, "/") or path.startswith(point + "/")
        if inside and (best is None or len(point) >= len(best[0].rstrip("/") or "/")):
            best = mount
    return best


def parse_xfs_ftype(xfs_info_text):
    """The ftype (0 or 1) from ``xfs_info`` output, None if it is not shown."""
    match = re.search(r"ftype=(\d)", xfs_info_text or "")
    return int(match.group(1)) if match else None


# Filesystems overlay2 works on as an upper layer (with d_type).
_OVERLAY2_OK = ("ext4", "ext3", "btrfs", "tmpfs")


def backing_fs_problems(data_root, fstype, xfs_ftype=None, storage_driver="overlay2"):
    """Why overlay2 cannot keep its layers on ``fstype`` (with how to fix it), or [] if it can."""
    if storage_driver != "overlay2":
        return []
    fix = (
        "Put data-root on an ext4 file system or on xfs made with 'mkfs.xfs -n ftype=1', "
        "then set docker_engine_daemon_options['data-root'] to it"
    )
    if fstype == "xfs":
        if xfs_ftype == 1:
            return []
        if xfs_ftype is None:
            return [
                "%s is on xfs and its ftype could not be read (install xfsprogs for "
                "xfs_info): overlay2 needs ftype=1 (d_type). %s" % (data_root, fix)
            ]
        return [
            "%s is on xfs made with ftype=0: no d_type support, overlay2 would corrupt or "
            "refuse its layers. The ftype cannot be changed in place. %s" % (data_root, fix)
        ]
    if fstype == "overlay":
        return [
            "%s is itself on overlayfs (a container's root file system): overlay2 cannot "
            "stack on it. Mount a volume or a real file system at %s" % (data_root, data_root)
        ]
    if fstype in ("nfs", "nfs4", "cifs", "smb3", "fuse.sshfs", "aufs", "ecryptfs"):
        return [
            "%s is on %s, which overlay2 cannot use as its backing file system. %s"
            % (data_root, fstype, fix)
        ]
    return []


def backing_fs_warnings(data_root, fstype):
    if fstype in _OVERLAY2_OK or fstype in ("xfs", "overlay", "nfs", "nfs4", "cifs"):
        return []
    return [
        "%s is on %s, which labstack has not checked for overlay2 (d_type); Docker will "
        "say 'Supports d_type: false' in 'docker info' if it cannot work" % (data_root, fstype)
    ]


def existing_drivers(data_root_entries):
    """Storage drivers that hold data in a data-root, from the names of its entries."""
    known = ("overlay2", "overlay", "devicemapper", "aufs", "btrfs", "zfs", "vfs", "fuse-overlayfs")
    return sorted(name for name in data_root_entries if name in known)


def storage_change_problems(current, wanted, allow_migration, resolve=None):
    """Refuse a storage-driver change or data-root move that would orphan containers/images.

    ``current``: what the host uses now: ``{"storage-driver", "data-root", "containers",
    "images"}`` (counts; None when unknown). ``wanted``: ``{"storage-driver", "data-root"}``.
    ``resolve`` (e.g. ``os.path.realpath``) maps both data-roots to what they point at: dockerd
    reports a symlinked /var/lib/docker by its target, which is no move.
    """
    if not current:
        return []
    held = (current.get("containers") or 0) + (current.get("images") or 0)
    if held == 0:
        return []
    changes = []
    old_driver, new_driver = current.get("storage-driver"), wanted.get("storage-driver")
    if old_driver and new_driver and old_driver != new_driver:
        changes.append("storage-driver %s -> %s" % (old_driver, new_driver))
    old_root = (current.get("data-root") or "").rstrip("/")
    new_root = (wanted.get("data-root") or "").rstrip("/")
    same = old_root == new_root
    if resolve and old_root and new_root and not same:
        same = resolve(old_root).rstrip("/") == resolve(new_root).rstrip("/")
    if old_root and new_root and not same:
        changes.append("data-root %s -> %s" % (old_root, new_root))
    if not changes or allow_migration:
        return []
    return [
        "%s would orphan %s container(s) and %s image(s): Docker would start empty and the "
        "old ones would stay on disk, invisible. Migrate first (see the docker_engine README, "
        "'Changing the storage driver or data-root'), then rerun with "
        "docker_engine_allow_storage_migration: true"
        % (" and ".join(changes), current.get("containers") or 0, current.get("images") or 0)
    ]


# --- the report ------------------------------------------------------------------------------


def build_report(info, mount_flags, same_mount_ns, sysctl_state, manager, *, data_root_kind=None):
    """A short summary for the admin and the later layers, from ``docker info`` and our checks.

    data_root_kind: the propagation of the mount holding data-root in dockerd's namespace
    (shared, slave, private, unbindable), when it could be read."""
    info = info or {}
    if mount_flags == "slave":
        propagation = "slave"
    elif same_mount_ns is False:
        propagation = "private namespace (%s)" % (mount_flags or "unknown")
    elif data_root_kind in ("slave", "private", "unbindable"):
        # In the host's namespace, yet the data-root's mount does not share: typical for a
        # server that is itself a container. Copies of container mounts then do not follow.
        propagation = "%s (host mount namespace, but the data-root's mount is %s)" % (
            data_root_kind,
            data_root_kind,
        )
    else:
        propagation = "shared (host mount namespace)"
    return {
        "engine_version": info.get("ServerVersion"),
        "storage_driver": info.get("Driver"),
        "backing_filesystem": dict(info.get("DriverStatus") or []).get("Backing Filesystem"),
        "supports_d_type": dict(info.get("DriverStatus") or []).get("Supports d_type"),
        "data_root": info.get("DockerRootDir"),
        "live_restore": info.get("LiveRestoreEnabled"),
        "logging_driver": info.get("LoggingDriver"),
        "mount_propagation": propagation,
        "may_detach_mounts": sysctl_state,
        "service_manager": manager,
    }
