"""The port ledger's rules, one test each, plus the file handling and the lock."""

import datetime
import multiprocessing
import os

import pytest
import yaml
from ansible.module_utils.labstack_ports import (
    PortError,
    allocate,
    dump_ledger,
    empty_ledger,
    load_ledger,
    locked,
    write_ledger,
)
from module_runner import result_of, run_module, start_module

NOW = datetime.datetime(2026, 12, 3, 12, 0, 0)
RANGE = (20000, 20009)


def run(ledger, users, busy=(), **kwargs):
    kwargs.setdefault("now", NOW)
    return allocate(ledger, users, RANGE, busy, **kwargs)


def test_new_users_get_the_lowest_free_ports_in_inventory_order():
    ledger, events = run(empty_ledger(), ["alice", "bob", "Jane.Doe"])
    assert ledger["assigned"] == {"alice": 20000, "bob": 20001, "Jane.Doe": 20002}
    assert events == ["assign 20000 to alice", "assign 20001 to bob", "assign 20002 to Jane.Doe"]


def test_stable_a_user_keeps_their_port_when_others_come_and_go():
    first, _ = run(empty_ledger(), ["alice", "bob", "carol"])
    second, _ = run(first, ["zoe", "carol", "alice"])  # bob left, zoe came, order changed
    assert second["assigned"]["alice"] == 20000
    assert second["assigned"]["carol"] == 20002
    again, events = run(second, ["zoe", "carol", "alice"])
    assert again == second
    assert events == []


def test_unique_no_port_is_given_to_two_users():
    ledger, _ = run(empty_ledger(), ["u%d" % i for i in range(10)])
    ports = list(ledger["assigned"].values())
    assert len(ports) == len(set(ports)) == 10


def test_free_a_port_someone_listens_on_is_skipped():
    ledger, _ = run(empty_ledger(), ["alice", "bob"], busy={20000, 20002})
    assert ledger["assigned"] == {"alice": 20001, "bob": 20003}


def test_a_users_own_container_does_not_make_their_port_busy():
    ledger, _ = run(empty_ledger(), ["alice"])
    again, events = run(ledger, ["alice"], busy={20000}, recovered={"alice": 20000})
    assert again["assigned"] == {"alice": 20000}
    assert events == []


def test_a_foreign_listener_on_a_users_port_moves_the_user_and_says_why():
    ledger, _ = run(empty_ledger(), ["alice"])
    moved, events = run(ledger, ["alice"], busy={20000})
    assert moved["assigned"] == {"alice": 20001}
    assert events == ["move alice off 20000 (in use)", "assign 20001 to alice"]


def test_bounded_only_ports_from_the_range_and_a_shrunk_range_moves_users():
    ledger = {"version": 1, "assigned": {"alice": 30000}, "released": []}
    moved, events = run(ledger, ["alice"])
    assert moved["assigned"] == {"alice": 20000}
    assert "outside 20000-20009" in events[0]
    big, _ = run(empty_ledger(), ["u%d" % i for i in range(10)])
    assert all(RANGE[0] <= p <= RANGE[1] for p in big["assigned"].values())


def test_exhausted_range_names_the_range_and_the_count():
    with pytest.raises(PortError) as err:
        run(empty_ledger(), ["u%d" % i for i in range(12)])
    message = str(err.value)
    assert "20000-20009" in message
    assert "12 new user(s)" in message
    assert "lab_port_range" in message


def test_quarantined_a_freed_port_is_not_given_to_someone_else_on_the_next_run():
    first, _ = run(empty_ledger(), ["alice", "bob"])
    second, events = run(first, ["alice", "carol"])  # bob left
    assert "release 20001 from bob (quarantined 7 days)" in events
    assert second["assigned"]["carol"] == 20002  # not bob's 20001
    assert second["released"] == [
        {"user": "bob", "port": 20001, "released": "2026-12-03T12:00:00Z"}
    ]


def test_a_returning_user_gets_their_quarantined_port_back():
    first, _ = run(empty_ledger(), ["alice", "bob"])
    gone, _ = run(first, ["alice"])
    back, events = run(gone, ["alice", "bob"])
    assert back["assigned"]["bob"] == 20001
    assert back["released"] == []
    assert events == ["return 20001 to bob"]


def test_the_quarantine_ends():
    first, _ = run(empty_ledger(), ["alice", "bob"])
    gone, _ = run(first, ["alice"])
    later = NOW + datetime.timedelta(days=8)
    reused, _ = run(gone, ["alice", "carol"], now=later)
    assert reused["assigned"]["carol"] == 20001
    assert reused["released"] == []


def test_recoverable_a_lost_ledger_is_rebuilt_from_container_labels():
    recovered = {"alice": 20005, "bob": 20003}
    ledger, events = run(
        empty_ledger(), ["alice", "bob", "carol"], busy={20003, 20005}, recovered=recovered
    )
    assert ledger["assigned"] == {"alice": 20005, "bob": 20003, "carol": 20000}
    assert "recover 20005 for alice from its container label" in events


def test_two_labels_claiming_one_port_do_not_both_get_it():
    ledger, _ = run(empty_ledger(), ["alice"])
    result, _ = run(ledger, ["alice", "bob"], recovered={"bob": 20000})
    assert result["assigned"]["alice"] == 20000
    assert result["assigned"]["bob"] != 20000


@pytest.mark.parametrize(("start", "end"), [(20010, 20000), (80, 90), (60000, 70000), ("a", 1)])
def test_bad_ranges_are_refused(start, end):
    with pytest.raises(PortError, match="port range"):
        allocate(empty_ledger(), ["alice"], (start, end), set())


def test_ledger_file_round_trip_is_deterministic_and_quotes_names(tmp_path):
    ledger, _ = run(empty_ledger(), ["alice", "Jane.Doe@uni.edu", "o'brien"])
    gone, _ = run(ledger, ["alice", "Jane.Doe@uni.edu"])
    path = str(tmp_path / "port-ledger.yml")
    write_ledger(path, gone)
    with open(path) as handle:
        text = handle.read()
    assert text == dump_ledger(gone)
    assert text.startswith("# labstack port ledger")
    assert load_ledger(path, yaml.safe_load) == gone
    assert oct(os.stat(path).st_mode & 0o777) == "0o644"


def test_missing_ledger_is_empty_and_garbage_is_refused(tmp_path):
    assert load_ledger(str(tmp_path / "none.yml"), yaml.safe_load) == empty_ledger()
    bad = tmp_path / "bad.yml"
    bad.write_text("- just\n- a list\n")
    with pytest.raises(PortError, match="not a labstack port ledger"):
        load_ledger(str(bad), yaml.safe_load)


def _allocate_one(args):
    path, user = args
    with locked(path):
        ledger = load_ledger(path, yaml.safe_load)
        new, _ = allocate(ledger, list(ledger["assigned"]) + [user], (20000, 20999), set())
        write_ledger(path, new)
    return new["assigned"][user]


def test_concurrent_runs_cannot_double_allocate(tmp_path):
    path = str(tmp_path / "port-ledger.yml")
    users = ["user%02d" % i for i in range(24)]
    with multiprocessing.Pool(8) as pool:
        ports = pool.map(_allocate_one, [(path, u) for u in users])
    assert len(set(ports)) == len(users)
    final = load_ledger(path, yaml.safe_load)
    assert sorted(final["assigned"]) == sorted(users)
    assert sorted(final["assigned"].values()) == sorted(ports)


# The module itself, run as Ansible runs it: check mode, diff, and its own use of the lock.


def ports_params(path, users, **extra):
    return dict(
        {"ledger": str(path), "users": users, "range_start": 20000, "range_end": 20099}, **extra
    )


def test_the_module_in_check_mode_reports_the_change_and_writes_nothing(tmp_path):
    ledger = tmp_path / "port-ledger.yml"
    result = run_module(tmp_path, "lab_ports", ports_params(ledger, ["alice", "bob"]), check=True)
    assert result["changed"] is True
    assert result["ports"] == {"alice": 20000, "bob": 20001}
    assert not ledger.exists()
    assert "assigned: {}" in result["diff"]["before"]
    assert "'alice': 20000" in result["diff"]["after"]
    assert "'bob': 20001" in result["diff"]["after"]


def test_the_module_writes_once_then_reports_no_change(tmp_path):
    ledger = tmp_path / "port-ledger.yml"
    first = run_module(tmp_path, "lab_ports", ports_params(ledger, ["alice"], busy=[20000]))
    assert first["changed"] is True
    assert first["ports"] == {"alice": 20001}  # 20000 is busy on the host
    written = ledger.read_text()
    second = run_module(tmp_path, "lab_ports", ports_params(ledger, ["alice"], busy=[20000]))
    assert second["changed"] is False
    assert second["diff"]["before"] == second["diff"]["after"]
    assert ledger.read_text() == written


def test_a_broken_ledger_fails_with_what_to_do(tmp_path):
    ledger = tmp_path / "port-ledger.yml"
    ledger.write_text("- not\n- a ledger\n")
    result = run_module(tmp_path, "lab_ports", ports_params(ledger, ["alice"]))
    assert result["failed"] is True
    assert "is not a labstack port ledger; move it away and rerun" in result["msg"]
    assert ledger.read_text() == "- not\n- a ledger\n"


def test_concurrent_module_runs_cannot_double_allocate(tmp_path):
    # Twelve runs of the module itself, each adding its own user to one shared ledger.
    ledger = tmp_path / "port-ledger.yml"
    users = ["user%02d" % i for i in range(12)]
    procs = [start_module(tmp_path, "lab_ports", ports_params(ledger, [u]), tag=u) for u in users]
    results = [result_of(p) for p in procs]
    ports = [r["ports"][u] for r, u in zip(results, users)]
    assert len(set(ports)) == len(users), ports
    final = load_ledger(str(ledger), yaml.safe_load)
    # Every run kept the others' entries: only one user is asked for each time, so the others
    # are released to quarantine, never handed out twice.
    held = dict(final["assigned"])
    held.update({r["user"]: r["port"] for r in final["released"]})
    assert held == dict(zip(users, ports))
