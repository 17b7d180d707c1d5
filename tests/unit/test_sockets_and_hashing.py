"""Listening ports from /proc/net/tcp, and build-context hashes."""

import os

from ansible.module_utils.labstack_hashing import tree_hash
from ansible.module_utils.labstack_sockets import listening_ports, published_ports

PROC_NET_TCP = """\
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1
   1: 00000000:4E20 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1
   2: 0100007F:4E21 0100007F:C350 01 00000000:00000000 00:00000000 00000000     0        0 3 1
"""
PROC_NET_TCP6 = """\
  sl  local_address                         remote_address                        st
   0: 00000000000000000000000000000000:0016 00000000000000000000000000000000:0000 0A
"""


def test_only_listening_sockets_count():
    assert listening_ports(PROC_NET_TCP) == {8080, 20000}  # 20001 is an established peer
    assert listening_ports(PROC_NET_TCP6) == {22}
    assert listening_ports("header only\n") == set()


def test_tree_hash_changes_with_content_names_and_the_executable_bit(tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM base\n")
    first = tree_hash(str(tmp_path))
    assert first == tree_hash(str(tmp_path))
    assert tree_hash(str(tmp_path), extra="other-base") != first
    (tmp_path / "Dockerfile").write_text("FROM base\nRUN true\n")
    second = tree_hash(str(tmp_path))
    assert second != first
    os.chmod(tmp_path / "Dockerfile", 0o755)
    assert tree_hash(str(tmp_path)) != second


def test_published_ports_count_stopped_and_proxyless_containers():
    listed = [
        # running with userland-proxy off: published, yet nothing listens on the host
        {"Id": "run", "State": "running", "Ports": [{"PrivatePort": 80, "PublicPort": 20003}]},
        {"Id": "run-unpublished", "State": "running", "Ports": [{"PrivatePort": 5432}]},
        {"Id": "stopped", "State": "exited", "Ports": []},
        {"Id": "created", "State": "created", "Ports": []},
        {"Id": "random", "State": "exited", "Ports": []},
    ]
    bindings = {
        "stopped": {"8888/tcp": [{"HostIp": "127.0.0.1", "HostPort": "20005"}]},
        "created": {"53/udp": [{"HostIp": "", "HostPort": "20010-20012"}]},
        "random": {"80/tcp": [{"HostIp": "", "HostPort": ""}]},
    }
    assert published_ports(listed, bindings.get) == {20003, 20005, 20010, 20011, 20012}
