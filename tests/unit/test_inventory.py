"""Preflight validation: each bad entry is named with the rule it breaks."""

import copy

import pytest
from ansible.module_utils.labstack_inventory import validate

GOOD = {
    "users": [
        {"name": "alice", "uid": 2001},
        {"name": "bob", "uid": 2002, "gid": 2100, "groups": [2200]},
        {"name": "Jane.Doe", "uid": 2003, "data": [{"src": "/d", "dest": "/d", "mode": "rw"}]},
    ],
    "app_name": "workbench",
    "port_range": {"start": 20000, "end": 20999},
    "portal_port": 8080,
    "shared_mounts": [],
    "home_root": "/srv/labstack/home",
    "url_prefix": "/user",
    "services": [
        {"name": "Adminer", "path": "/adminer/", "upstream": "adminer:8080", "description": "DB"}
    ],
    "bind_address": "127.0.0.1",
    "portal_bind_address": "::",
}


def with_changes(**changes):
    config = copy.deepcopy(GOOD)
    config.update(changes)
    return config


def test_the_demo_inventory_is_valid():
    assert validate(GOOD) == []


def test_duplicate_uid_names_both_users():
    users = copy.deepcopy(GOOD["users"])
    users[2]["uid"] = 2001
    assert validate(with_changes(users=users)) == [
        "lab_users[2] 'Jane.Doe': uid 2001 already used by 'alice'"
    ]


def test_the_case_file_names_are_all_accepted_together():
    names = ["_x", "Bob", "bob", "Jane.Doe@uni.edu"]
    users = [{"name": n, "uid": 3000 + i} for i, n in enumerate(names)]
    assert validate(with_changes(users=users)) == []


@pytest.mark.parametrize(
    ("user", "message"),
    [
        ({"name": "a b", "uid": 3000}, "lab_users[3] 'a b': user name may contain only"),
        ({"name": "alice", "uid": 3000}, "lab_users[3] 'alice': name already used by lab_users[0]"),
        ({"name": "root2", "uid": 0}, "lab_users[3] 'root2': uid 0 is outside 1000-65533"),
        ({"name": "x", "uid": "1001"}, "lab_users[3] 'x': uid must be an integer, got '1001'"),
        ({"name": "x", "uid": 3000, "gid": 10}, "lab_users[3] 'x': gid 10 is outside"),
        ({"name": "x", "uid": 3000, "groups": ["staff"]}, "groups must be a list of numeric gids"),
        ({"name": "x", "uid": 3000, "shell": "/bin/sh"}, "unknown key(s) shell"),
        ({"name": "x"}, "lab_users[3] 'x': uid must be an integer, got None"),
        ("bob", "lab_users[3]: must be a mapping"),
        (
            {"name": "x", "uid": 3000, "data": [{"src": "rel", "dest": "/d"}]},
            "lab_users[3] 'x' data[0]: src must be an absolute path",
        ),
        (
            {"name": "x", "uid": 3000, "data": [{"src": "/a", "dest": "/d", "mode": "rwx"}]},
            "mode must be one of ro, rw",
        ),
    ],
)
def test_bad_users_are_named_with_the_rule(user, message):
    errors = validate(with_changes(users=GOOD["users"] + [user]))
    assert len(errors) == 1, errors
    assert message in errors[0]


def test_all_problems_are_reported_at_once():
    users = [{"name": "a", "uid": 5}, {"name": "a", "uid": 2001}, {"name": "-x", "uid": 2002}]
    errors = validate(
        with_changes(users=users, port_range={"start": 9, "end": 20}, portal_port=20500)
    )
    assert len(errors) == 4, errors


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"port_range": {"start": 21000, "end": 20000}}, "lab_port_range: must satisfy"),
        ({"port_range": {"start": 20000, "end": 20001}}, "holds 2 ports but there are 3 users"),
        ({"port_range": "20000-20999"}, "lab_port_range: must be a mapping {start: N, end: M}"),
        ({"port_range": {"start": 1}}, "lab_port_range: must be a mapping"),
        ({"users": []}, "lab_users: is empty; that would remove every user's container"),
        (
            {"shared_mounts": [{"src": "/var/run/docker.sock", "dest": "/s"}]},
            "lab_shared_mounts[0]: src /var/run/docker.sock would expose the host itself",
        ),
        (
            {"shared_mounts": [{"src": "/a", "dest": "/d"}, {"src": "/b", "dest": "/d/"}]},
            "lab_shared_mounts[1]: dest /d is already used by lab_shared_mounts[0]",
        ),
        (
            {"shared_mounts": [{"src": "/ref", "dest": "/d"}]},
            "lab_users[2] 'Jane.Doe' data[0]: dest /d is already used by lab_shared_mounts[0]",
        ),
        ({"portal_port": 20500}, "portal_port: 20500 lies inside lab_port_range"),
        ({"portal_port": "http"}, "portal_port: must be a port number"),
        ({"app_name": "Work Bench"}, "user_containers_app.name 'Work Bench'"),
        ({"app_name": "labstack"}, "reserved"),
        ({"home_root": "/"}, "lab_home_root: must be an absolute directory other than /"),
        ({"users": {"alice": 1}}, "lab_users: must be a list"),
        ({"shared_mounts": [{"src": "/a", "dest": "x"}]}, "lab_shared_mounts[0]: dest must be"),
    ],
)
def test_bad_settings_are_named(changes, message):
    errors = validate(with_changes(**changes))
    assert any(message in e for e in errors), errors


ADMINER = {"name": "Adminer", "path": "/adminer/", "upstream": "adminer:8080"}


@pytest.mark.parametrize(
    ("service", "message"),
    [
        (
            dict(ADMINER, path="/"),
            "lab_services[0] 'Adminer': path must look like /name/ (letters, digits, '.', '_', "
            "'~', '-', starting and ending with /), got '/'",
        ),
        (
            dict(ADMINER, path="/adminer"),
            "lab_services[0] 'Adminer': path must look like /name/",
        ),
        (  # would land inside nginx.conf as configuration
            dict(ADMINER, path="/a/ { return 200; } location /b/"),
            "lab_services[0] 'Adminer': path must look like /name/",
        ),
        (
            dict(ADMINER, path="/user/"),
            "lab_services[0] 'Adminer': path /user/ collides with the portal's own routes "
            "(/user/<name>/, /healthz); choose another",
        ),
        (
            dict(ADMINER, path="/user/db/"),
            "lab_services[0] 'Adminer': path /user/db/ collides with the portal's own routes",
        ),
        (
            dict(ADMINER, path="/healthz/"),
            "lab_services[0] 'Adminer': path /healthz/ collides with the portal's own routes",
        ),
        (
            dict(ADMINER, upstream="http://adminer:8080"),
            "lab_services[0] 'Adminer': upstream must be host:port of a container on the lab "
            "network (e.g. adminer:8080), got 'http://adminer:8080'",
        ),
        (dict(ADMINER, upstream="adminer:99999"), "lab_services[0] 'Adminer': upstream must be"),
        (dict(ADMINER, upstream="adminer"), "lab_services[0] 'Adminer': upstream must be"),
        (dict(ADMINER, name=""), "lab_services[0]: name must be a non-empty string"),
        (dict(ADMINER, url="x"), "lab_services[0] 'Adminer': unknown key(s) url; allowed:"),
    ],
)
def test_a_bad_service_is_named_with_its_rule(service, message):
    errors = validate(with_changes(services=[service]))
    assert len(errors) == 1, errors
    assert errors[0].startswith(message)


def test_two_services_cannot_share_a_path():
    wiki = {"name": "Wiki", "path": "/adminer/", "upstream": "wiki:3000"}
    assert validate(with_changes(services=[ADMINER, wiki])) == [
        "lab_services[1] 'Wiki': path /adminer/ is already used by lab_services[0] 'Adminer'"
    ]


@pytest.mark.parametrize("prefix", ["", "/", "user", "/user/", "/us er", "/u;x"])
def test_a_bad_url_prefix_is_refused(prefix):
    errors = validate(with_changes(url_prefix=prefix))
    assert any(e.startswith("lab_url_prefix: must be a URL path such as /user") for e in errors)


def test_services_are_checked_against_another_url_prefix():
    service = dict(ADMINER, path="/people/x/")
    assert validate(with_changes(url_prefix="/people", services=[service])) != []
    assert validate(with_changes(url_prefix="/people", services=[ADMINER])) == []


@pytest.mark.parametrize(
    ("key", "variable"),
    [("bind_address", "lab_bind_address"), ("portal_bind_address", "portal_bind_address")],
)
def test_a_bind_address_must_be_an_ip_address(key, variable):
    assert validate(with_changes(**{key: "localhost"})) == [
        "%s: must be an IP address to bind to (127.0.0.1 keeps it on this host), got 'localhost'"
        % variable
    ]


@pytest.mark.parametrize(("parsed", "shown"), [(7, "int 7"), (True, "bool True")])
def test_a_name_yaml_did_not_read_as_a_string_says_to_quote_it(parsed, shown):
    users = [{"name": parsed, "uid": 2001}]
    assert validate(with_changes(users=users)) == [
        "lab_users[0] %r: user name is not a string: YAML read it as %s; quote it in the "
        "inventory (name: '...')" % (parsed, shown)
    ]
