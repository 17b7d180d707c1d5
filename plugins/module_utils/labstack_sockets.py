"""Which TCP ports are listening on a host, read from /proc/net/tcp and /proc/net/tcp6."""

TCP_LISTEN = "0A"


def listening_ports(text):
    """Ports in LISTEN state in the text of /proc/net/tcp or /proc/net/tcp6.

    Each line after the header: `sl local_address rem_address st ...`, where local_address is
    HEXIP:HEXPORT and st is the hex TCP state (0A = LISTEN).
    """
    ports = set()
    for line in text.splitlines()[1:]:
        fields = line.split()
        if len(fields) < 4 or fields[3] != TCP_LISTEN:
            continue
        _, _, port_hex = fields[1].rpartition(":")
        try:
            ports.add(int(port_hex, 16))
        except ValueError:
            continue
    return ports


def host_listening_ports(proc="/proc"):
    ports = set()
    for name in ("tcp", "tcp6"):
        try:
            with open("%s/net/%s" % (proc, name)) as handle:
                ports |= listening_ports(handle.read())
        except OSError:
            continue  # no IPv6 on this host
    return sorted(ports)


def _host_ports(spec):
    """Ports named by a HostPort value: "20000", "20000-20005", or "" (Docker picks one)."""
    low, _, high = str(spec or "").partition("-")
    if not low.isdigit():
        return set()
    high = high if high.isdigit() else low
    return set(range(int(low), int(high) + 1))


def published_ports(listed, bindings_of):
    """Host ports that containers publish or will publish when they start.

    A running container's ports need not be listening (userland-proxy off: iptables only), and
    a stopped or created one holds its ports only on paper until it starts, when Docker fails
    with "port is already allocated" if the ledger gave them away. `listed` are items of the
    list API (all=True); `bindings_of(id)` returns HostConfig.PortBindings of a container that
    is not running (one inspect each: the list API shows no ports for those).
    """
    ports = set()
    for item in listed:
        if item.get("State") == "running":
            ports.update(p["PublicPort"] for p in item.get("Ports") or [] if p.get("PublicPort"))
            continue
        for binds in (bindings_of(item["Id"]) or {}).values():
            for bind in binds or []:
                ports |= _host_ports(bind.get("HostPort"))
    return ports
