"""Reconcile planning: only containers whose spec changed are touched."""

import pytest
from ansible.module_utils.labstack_containers import (
    build_specs,
    is_change,
    labels_for,
    plan,
    spec_hash,
    spec_problems,
)

APP = {
    "name": "workbench",
    "image": "labstack/workbench:abc",
    "container_port": 8888,
    "home_container": "/home/{user}",
    "command": ["jupyter", "notebook", "--NotebookApp.base_url={base_path}"],
    "env": {"HOME": "{home}", "USER": "{user}"},
}
SETTINGS = {"home_root": "/srv/labstack/home/", "network": "labstack", "url_prefix": "/user"}
USERS = [
    {"name": "alice", "uid": 2001},
    {"name": "bob", "uid": 2002, "gid": 2100, "groups": [2300, 2200]},
    {"name": "Jane.Doe", "uid": 2003, "data": [{"src": "/data/p", "dest": "/data/p"}]},
]
PORTS = {"alice": 20000, "bob": 20001, "Jane.Doe": 20002}


def specs():
    result = build_specs(USERS, APP, PORTS, SETTINGS)
    for spec in result:
        spec["hash"] = spec_hash(spec, "sha256:img")
    return result


def observed_from(spec_list, status="running"):
    return [
        {
            "name": s["name"],
            "id": "id-" + s["name"],
            "status": status,
            "labels": labels_for(s, s["hash"]),
        }
        for s in spec_list
    ]


def test_specs_carry_identity_paths_and_the_users_base_path():
    alice, bob, jane = specs()
    assert alice["name"] == "workbench-alice"
    assert (alice["uid"], alice["gid"]) == (2001, 2001)
    assert (bob["uid"], bob["gid"], bob["groups"]) == (2002, 2100, [2200, 2300])
    assert jane["home_host"] == "/srv/labstack/home/Jane.Doe"
    assert jane["home_container"] == "/home/Jane.Doe"
    assert jane["env"] == {"HOME": "/home/Jane.Doe", "USER": "Jane.Doe"}
    assert jane["command"][-1] == "--NotebookApp.base_url=/user/Jane.Doe/"
    assert jane["mounts"] == [{"src": "/data/p", "dest": "/data/p", "mode": "ro"}]
    assert jane["name"].startswith("workbench-jane-doe--")


def test_labels_follow_the_design():
    spec = specs()[0]
    labels = labels_for(spec, spec["hash"])
    assert labels["labstack.managed"] == "true"
    assert labels["labstack.user"] == "alice"
    assert labels["labstack.app"] == "workbench"
    assert labels["labstack.port"] == "20000"
    assert labels["labstack.spec-hash"] == spec["hash"]


def test_a_rerun_with_nothing_changed_plans_nothing():
    desired = specs()
    actions = plan(desired, observed_from(desired), "workbench")
    assert [a["action"] for a in actions] == ["ok", "ok", "ok"]
    assert not any(is_change(a) for a in actions)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("uid", 3001),
        ("port", 20009),
        ("mounts", [{"src": "/x", "dest": "/x", "mode": "rw"}]),
        ("image", "labstack/workbench:def"),
        ("env", {"HOME": "/elsewhere"}),
    ],
)
def test_a_change_to_one_user_recreates_only_that_user(field, value):
    before = specs()
    after = specs()
    after[1][field] = value
    after[1]["hash"] = spec_hash(after[1], "sha256:img")
    actions = plan(after, observed_from(before), "workbench")
    assert [(a["user"], a["action"]) for a in actions] == [
        ("alice", "ok"),
        ("bob", "recreate"),
        ("Jane.Doe", "ok"),
    ]


def test_a_rebuilt_image_under_the_same_tag_changes_the_hash():
    spec = specs()[0]
    assert spec_hash(spec, "sha256:one") != spec_hash(spec, "sha256:two")


def test_missing_stopped_stuck_and_foreign_containers():
    desired = specs()
    observed = observed_from(desired)
    observed[0]["status"] = "exited"
    observed[1]["status"] = "removing"
    observed[2]["labels"] = {}
    actions = {a["user"]: a["action"] for a in plan(desired, observed, "workbench")}
    assert actions == {"alice": "start", "bob": "repair", "Jane.Doe": "conflict"}
    assert [a["action"] for a in plan(desired, [], "workbench")] == ["create"] * 3


def test_dead_containers_are_repaired_too():
    desired = specs()
    observed = observed_from(desired, status="dead")
    assert {a["action"] for a in plan(desired, observed, "workbench")} == {"repair"}


def test_users_who_left_lose_their_container_not_their_home():
    desired = specs()
    actions = plan(desired[:2], observed_from(desired), "workbench")
    removed = [a for a in actions if a["action"] == "remove"]
    assert removed == [
        {
            "action": "remove",
            "name": desired[2]["name"],
            "user": "Jane.Doe",
            "reason": "user is no longer in the inventory (home directory kept)",
        }
    ]
    assert not [
        a
        for a in plan(desired[:2], observed_from(desired), "workbench", prune=False)
        if a["action"] == "remove"
    ]


def test_a_container_under_an_old_name_is_replaced_not_kept_beside_the_new_one():
    # The escaping of Jane.Doe changed: her old container still holds her port, so it is
    # replaced by the new one (created first, then the old removed), never left to be pruned
    # after a create that Docker refuses ("port is already allocated").
    desired = specs()
    observed = observed_from(desired)
    observed[2]["name"] = "workbench-jane-doe--jykingjmne"
    actions = plan(desired, observed, "workbench")
    assert [a["action"] for a in actions] == ["ok", "ok", "recreate"]
    assert actions[2]["old_name"] == "workbench-jane-doe--jykingjmne"
    assert actions[2]["name"] == desired[2]["name"]
    observed[2]["status"] = "removing"
    assert plan(desired, observed, "workbench")[2]["action"] == "repair"


def test_other_apps_and_foreign_containers_are_never_pruned():
    desired = specs()
    others = observed_from(desired)
    for item in others:
        item["labels"]["labstack.app"] = "rstudio"
    foreign = {"name": "postgres", "id": "x", "status": "running", "labels": {}}
    actions = plan([], others + [foreign], "workbench")
    assert actions == []


def test_restart_requested_for_one_user_only():
    desired = specs()
    actions = plan(desired, observed_from(desired), "workbench", restart=["bob"])
    assert [a["action"] for a in actions] == ["ok", "restart", "ok"]


def test_mount_paths_that_docker_would_refuse_are_found_before_any_change():
    alice, _, jane = specs()
    assert spec_problems(alice) == []
    assert spec_problems(jane) == []
    jane["mounts"].append({"src": "/tmp/x", "dest": "/home/Jane.Doe/", "mode": "ro"})
    jane["mounts"].append({"src": "/data/q", "dest": "/data/p", "mode": "ro"})
    assert spec_problems(jane) == [
        "mount /tmp/x -> /home/Jane.Doe uses the same path as the home directory",
        "mount /data/q -> /data/p uses the same path as mount /data/p -> /data/p",
    ]
