"""User names → container names: injective, DNS-safe, readable; bad names rejected."""

import os
import re

import pytest
from ansible.module_utils.labstack_names import (
    container_name,
    escape_username,
    username_problem,
)

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "usernames.txt")
CASE_RE = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
DNS_LABEL_RE = re.compile(r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$")


# The bug reports' own file, where a checkout has it beside the repository (CI does).
SHARED_CASES = os.path.join(
    os.path.dirname(__file__), "..", "..", "..", "shared", "cases", "usernames.txt"
)


def case_names(path=FIXTURE):
    with open(path) as handle:
        return [line.rstrip("\n") for line in handle if line.strip() and not line.startswith("#")]


def test_case_file_names_are_accepted_with_distinct_valid_names():
    names = case_names()
    assert names == ["_x", "Bob", "bob", "Jane.Doe@uni.edu"]
    escaped = {name: escape_username(name) for name in names}
    for name, esc in escaped.items():
        assert CASE_RE.match(esc), (name, esc)
        assert DNS_LABEL_RE.match(container_name("workbench", name)), name
    assert len(set(escaped.values())) == len(names)


def test_case_file_names_get_these_container_names():
    # Pinned so that a change to the escaping (which renames containers) is a deliberate one.
    assert {name: container_name("workbench", name) for name in case_names()} == {
        "_x": "workbench-x--uapeps2m5qewgm3w",
        "Bob": "workbench-bob--zwp3dykiztmeils2",
        "bob": "workbench-bob",
        "Jane.Doe@uni.edu": "workbench-jane-doe-uni-edu--ui2pducpfzjsanxp",
    }


@pytest.mark.skipif(not os.path.exists(SHARED_CASES), reason="no shared/cases beside this checkout")
def test_the_fixture_is_the_bug_reports_file():
    assert case_names() == case_names(SHARED_CASES)


def test_bob_and_Bob_never_share_a_container():
    assert container_name("workbench", "bob") == "workbench-bob"
    assert container_name("workbench", "Bob") != "workbench-bob"
    assert container_name("workbench", "Bob").startswith("workbench-bob--")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("alice", "alice"),
        ("a1-b2", "a1-b2"),
        ("007", "007"),
    ],
)
def test_plain_dns_names_are_kept_as_they_are(name, expected):
    assert escape_username(name) == expected


@pytest.mark.parametrize(
    ("name", "slug"),
    [
        ("Jane.Doe", "jane-doe"),
        ("Jane.Doe@uni.edu", "jane-doe-uni-edu"),
        ("_x", "x"),
        ("a--b", "a-b"),
        ("trailing-", "trailing"),
    ],
)
def test_other_names_keep_a_readable_slug_plus_a_hash(name, slug):
    escaped = escape_username(name)
    assert escaped.startswith(slug + "--")
    assert re.match(r"^[a-z2-7]{16}$", escaped.split("--", 1)[1])


def test_a_name_made_only_of_symbols_still_gets_a_valid_name():
    escaped = escape_username("_")
    assert DNS_LABEL_RE.match(escaped)
    assert escaped != escape_username("__")


def test_a_name_without_letters_cannot_take_a_plain_users_name():
    # Once "_" escaped to its bare hash, a user literally named that hash got the same
    # container name. Every escaped name carries the "--" a plain name cannot have.
    bare_hash = escape_username("_").split("--", 1)[1]
    assert escape_username(bare_hash) == bare_hash
    assert escape_username("_") != bare_hash
    assert escape_username("_").startswith("u--")


@pytest.mark.parametrize(
    "pair",
    [
        # Found by a birthday search in 77 s against the old 10-character (50-bit) hash.
        ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_3149318", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa_43524423"),
    ],
)
def test_names_that_met_under_the_short_hash_stay_apart(pair):
    assert escape_username(pair[0]) != escape_username(pair[1])


def test_an_unchanged_name_cannot_collide_with_an_escaped_one():
    # "bob--xxxx" as a literal user name is escaped too (it contains "--"), so it can never
    # equal the escaped form of "Bob".
    fake = escape_username("Bob")
    assert escape_username(fake) != fake


def test_long_names_stay_within_a_dns_label():
    name = "a" * 64
    full = container_name("workbench", name)
    assert len(full) <= 63
    assert DNS_LABEL_RE.match(full)
    assert escape_username("a" * 63) != escape_username("a" * 64)


def test_escaping_is_injective_over_many_similar_names():
    names = [
        a + b + c
        for a in ("a", "A", "_", "0")
        for b in ("", ".", "-", "@", "_", "B", "b")
        for c in ("", "x", "X", ".", "-")
    ]
    names = sorted({n for n in names if username_problem(n) is None})
    escaped = [escape_username(n) for n in names]
    assert len(set(escaped)) == len(names)


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("", "empty"),
        ("-rf", "may contain only"),
        (".hidden", "may contain only"),
        ("a/b", "may contain only"),
        ("a b", "may contain only"),
        ("ünï", "may contain only"),
        ("x" * 65, "longer than 64"),
        (None, "empty or not a string"),
        (42, "empty or not a string"),
    ],
)
def test_bad_names_are_rejected_with_the_rule(name, problem):
    assert problem in username_problem(name)
    with pytest.raises(ValueError, match="user name"):
        escape_username(name)


def test_app_name_is_checked():
    with pytest.raises(ValueError, match="app name"):
        container_name("Work Bench", "alice")
