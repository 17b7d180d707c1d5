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
