"""The docker_engine role's per-family choices, checked by rendering (no target host needed).

Only Debian 12 can run for real here (Molecule). The other families' variable files, task file
selection, repository definitions and templates are rendered with Ansible's own templating, with
the facts each distribution reports, so a typo or a wrong URL for Ubuntu or EL fails here.
"""

import os
import re
import subprocess

import pytest
import yaml
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

ROLE = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "roles",
    "docker_engine",
)
LOADER = DataLoader()

# Facts as each distribution reports them (ansible_facts subset): distribution, version,
# release, family. The major version is the part before the first dot.
HOSTS = {
    "debian11": ("Debian", "11", "bullseye", "Debian"),
    "debian12": ("Debian", "12", "bookworm", "Debian"),
    "ubuntu2004": ("Ubuntu", "20.04", "focal", "Debian"),
    "ubuntu2204": ("Ubuntu", "22.04", "jammy", "Debian"),
    "ubuntu2404": ("Ubuntu", "24.04", "noble", "Debian"),
    "centos7": ("CentOS", "7.9", "Core", "RedHat"),
    "rhel8": ("RedHat", "8.10", "Ootpa", "RedHat"),
    "rocky8": ("Rocky", "8.10", "Green Obsidian", "RedHat"),
    "alma8": ("AlmaLinux", "8.10", "Cerulean Leopard", "RedHat"),
    "rhel9": ("RedHat", "9.4", "Plow", "RedHat"),
    "rocky9": ("Rocky", "9.4", "Blue Onyx", "RedHat"),
    "alma9": ("AlmaLinux", "9.4", "Seafoam Ocelot", "RedHat"),
}
# Hosts the role must refuse although their family has variables.
UNSUPPORTED = {
    "fedora40": ("Fedora", "40", "", "RedHat"),
    "amazon2": ("Amazon", "2", "", "RedHat"),
    "ubuntu1804": ("Ubuntu", "18.04", "bionic", "Debian"),
    "debian10": ("Debian", "10", "buster", "Debian"),
    "mint21": ("Linux Mint", "21.3", "virginia", "Debian"),
}
ANSIBLE_CORE = "2.19.14"


def trust(value):
    """Mark loaded YAML as templates, as Ansible does for role files it loads itself."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: trust(v) for k, v in value.items()}
    if isinstance(value, list):
        return [trust(v) for v in value]
    return value


def load(relative):
    return LOADER.load_from_file(os.path.join(ROLE, relative))


def facts(host):
    distribution, version, release, family = {**HOSTS, **UNSUPPORTED}[host]
    return {
        "distribution": distribution,
        "distribution_major_version": version.split(".")[0],
        "distribution_version": version,
        "distribution_release": release,
        "os_family": family,
        "architecture": "x86_64",
        "service_mgr": "systemd",
        "pkg_mgr": "apt" if family == "Debian" else "dnf",
        "python": {"executable": "/usr/bin/python3"},
        "packages": {},
    }


def var_files(host_facts):
    """The files tasks/main.yml loads: the family's, then the first distribution-specific one."""
    files = []
    family = "vars/%s.yml" % host_facts["os_family"]
    if os.path.exists(os.path.join(ROLE, family)):
        files.append(family)
    for name in (
        "%s-%s.yml" % (host_facts["distribution"], host_facts["distribution_major_version"]),
        "%s.yml" % host_facts["distribution"],
    ):
        if os.path.exists(os.path.join(ROLE, "vars", name)):
            files.append("vars/" + name)
            break
    return files


def role_vars(host, ansible_core=ANSIBLE_CORE, packages=None, **overrides):
    host_facts = facts(host)
    host_facts["packages"] = {name: [{"name": name}] for name in packages or []}
    variables = dict(load("defaults/main.yml"))
    variables.update(load("vars/main.yml"))
    for path in var_files(host_facts):
        variables.update(load(path))
    variables.update(overrides)
    variables = trust(variables)
    variables["ansible_facts"] = host_facts
    variables["ansible_managed"] = "Ansible managed"
    variables["inventory_hostname"] = "labsrv-" + host
    variables["ansible_version"] = {"full": ansible_core}
    return variables


def check(path, name, host, **overrides):
    """(passed, message) of an assert task, rendered for ``host``."""
    spec = task(path, name)["ansible.builtin.assert"]
    task_vars = spec and task(path, name).get("vars", {})
    variables = role_vars(host, **overrides)
    variables.update(trust(task_vars))
    templar = Templar(loader=LOADER, variables=variables)
    that = spec["that"] if isinstance(spec["that"], list) else [spec["that"]]
    ok = all(templar.template(trust_as_template("{{ %s }}" % cond)) for cond in that)
    return ok, " ".join(templar.template(trust(spec["fail_msg"])).split())


def render(host, expression, **overrides):
    return Templar(loader=LOADER, variables=role_vars(host, **overrides)).template(
        trust(expression)
    )


def flat(items):
    for item in items:
        yield item
        yield from flat(item.get("block", []))


def task(path, name):
    for item in flat(load(path)):
        if item["name"] == name:
            return item
    raise KeyError(name)


def names(path):
    return [item["name"] for item in flat(load(path))]


def source(host, wanted="auto"):
    expression = task("tasks/preflight.yml", "Decide where Docker's packages come from")[
        "ansible.builtin.set_fact"
    ]["__docker_engine_source"]
    return render(host, expression, docker_engine_install_source=wanted).strip()


def refused(host, wanted):
    check = task(
        "tasks/preflight.yml",
        "Refuse distribution packages where the distribution has no usable Docker Engine",
    )["ansible.builtin.assert"]
    variables = role_vars(host, docker_engine_install_source=wanted)
    variables["__docker_engine_source"] = source(host, wanted)
    templar = Templar(loader=LOADER, variables=variables)
    ok = templar.template(trust_as_template("{{ %s }}" % check["that"]))
    return (not ok), (templar.template(trust(check["fail_msg"])) if not ok else "")


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_every_supported_host_has_variables_and_a_setup_file(host):
    host_facts = facts(host)
    assert var_files(host_facts), host
    setup = os.path.join(ROLE, "tasks", "setup-%s.yml" % host_facts["os_family"])
    assert os.path.exists(setup)


@pytest.mark.parametrize(("distribution", "family"), [("Alpine", "Alpine"), ("SLES", "Suse")])
def test_unsupported_os_has_no_variables_so_preflight_fails(distribution, family):
    host_facts = dict(facts("debian12"), distribution=distribution, os_family=family)
    assert var_files(host_facts) == []
    check = task(
        "tasks/preflight.yml", "Refuse an operating system this role cannot install Docker on"
    )
    assert check["ansible.builtin.assert"]["that"] == "__docker_engine_default_source is defined"


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("debian12", "distro"),
        ("ubuntu2404", "distro"),
        ("centos7", "upstream"),
        ("rocky9", "upstream"),
    ],
)
def test_auto_source_per_family(host, expected):
    assert source(host) == expected


@pytest.mark.parametrize("host", ["centos7", "rhel8", "rocky9", "alma9"])
def test_redhat_family_refuses_distro_packages_with_a_reason(host):
    is_refused, message = refused(host, "distro")
    assert is_refused
    assert "docker_engine_install_source: upstream" in message
    assert refused(host, "upstream") == (False, "")
    if host == "centos7":
        assert "MountFlags=slave" in message and "1.13.1" in message


@pytest.mark.parametrize("host", ["debian11", "debian12", "ubuntu2204"])
def test_debian_family_accepts_both_sources(host):
    assert refused(host, "distro") == (False, "")
    assert refused(host, "upstream") == (False, "")
    assert "docker.io" in role_vars(host)["__docker_engine_distro_packages"]


@pytest.mark.parametrize(
    ("host", "uri", "suite"),
    [
        ("debian12", "https://download.docker.com/linux/debian", "bookworm"),
        ("debian11", "https://download.docker.com/linux/debian", "bullseye"),
        ("ubuntu2004", "https://download.docker.com/linux/ubuntu", "focal"),
        ("ubuntu2404", "https://download.docker.com/linux/ubuntu", "noble"),
    ],
)
def test_debian_upstream_repository_is_signed_by_its_own_keyring(host, uri, suite):
    repo = render(
        host,
        task("tasks/setup-Debian.yml", "Add Docker's repository, trusted for its own key only")[
            "ansible.builtin.deb822_repository"
        ],
    )
    key = render(
        host,
        task("tasks/setup-Debian.yml", "Fetch Docker's repository signing key")[
            "ansible.builtin.get_url"
        ],
    )
    assert repo["uris"] == [uri]
    assert repo["suites"] == [suite]
    assert repo["components"] == ["stable"]
    assert repo["architectures"] == ["amd64"]
    assert repo["signed_by"] == "/etc/apt/keyrings/docker.asc" == key["dest"]
    assert key["url"] == uri + "/gpg"
    assert key["mode"] == "0644"


@pytest.mark.parametrize(
    ("host", "tree"),
    [("centos7", "centos"), ("rocky9", "centos"), ("alma9", "centos"), ("rhel8", "rhel")],
)
def test_redhat_upstream_repository_checks_signatures(host, tree):
    repo = render(
        host,
        task("tasks/setup-RedHat.yml", "Add Docker's repository, with signature checks")[
            "ansible.builtin.yum_repository"
        ],
    )
    assert (
        repo["baseurl"]
        == "https://download.docker.com/linux/%s/$releasever/$basearch/stable" % tree
    )
    assert repo["gpgkey"] == "https://download.docker.com/linux/%s/gpg" % tree
    assert repo["gpgcheck"] is True
    assert repo["name"] == "docker-ce-stable"
    packages = role_vars(host)["__docker_engine_upstream_packages"]
    assert "docker-ce" in packages and "containerd.io" in packages


def test_templates_render_with_a_managed_header():
    dropin = "templates/etc/systemd/system/docker.service.d/50-labstack-mount-propagation.conf.j2"
    sysctl = "templates/etc/sysctl.d/90-labstack-docker.conf.j2"
    for path, line in ((dropin, "MountFlags=shared"), (sysctl, "fs.may_detach_mounts = 1")):
        with open(os.path.join(ROLE, path)) as handle:
            text = render("rocky9", handle.read())
        assert text.startswith("#\n# Ansible managed\n#\n")
        assert line in text.splitlines()
        assert "MountFlags=slave\n" not in text


def test_argument_specs_cover_every_public_default():
    specs = load("meta/argument_specs.yml")["argument_specs"]["main"]["options"]
    defaults = load("defaults/main.yml")
    assert sorted(specs) == sorted(defaults)
    for name, value in defaults.items():
        assert specs[name]["default"] == value, name


@pytest.mark.parametrize("family", ["Debian", "RedHat"])
def test_nothing_is_removed_before_dockers_repository_answers(family):
    """Switching to docker-ce must not remove the running engine when the repo is unreachable."""
    with open(os.path.join(ROLE, "tasks", "setup-%s.yml" % family)) as handle:
        tasks = yaml.safe_load(handle)
    flat = []
    for item in tasks:
        flat.extend(item.get("block", [item]))
    names = [t["name"] for t in flat]
    assert names.index("Read Docker's repository") < names.index(
        "Remove distribution packages that conflict with docker-ce"
    )


def test_switching_engines_needs_the_admins_consent():
    with open(os.path.join(ROLE, "tasks", "main.yml")) as handle:
        main = yaml.safe_load(handle)
    names = [t["name"] for t in main]
    assert names.index(
        "Refuse to replace a running distribution engine without the admin's consent"
    ) < names.index("Install Docker Engine")
    with open(os.path.join(ROLE, "defaults", "main.yml")) as handle:
        assert yaml.safe_load(handle)["docker_engine_allow_engine_switch"] is False


# --- supported releases (item 6) -------------------------------------------------------------

MATRIX = "Refuse a distribution or release this role is not made for"


@pytest.mark.parametrize("host", sorted(HOSTS))
def test_every_supported_release_passes_the_matrix(host):
    assert check("tasks/preflight.yml", MATRIX, host)[0]


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("fedora40", "Fedora 40"),
        ("amazon2", "Amazon 2"),
        ("ubuntu1804", "Ubuntu 18.04"),
        ("debian10", "Debian 10"),
        ("mint21", "Linux Mint 21.3"),
    ],
)
def test_unsupported_releases_fail_with_a_clear_message(host, shown):
    ok, message = check("tasks/preflight.yml", MATRIX, host)
    assert not ok
    assert "labsrv-%s runs %s, which docker_engine does not support" % (host, shown) in message
    assert (
        "Supported: Debian 11/12, Ubuntu 20.04/22.04/24.04, CentOS 7, RedHat 8/9, Rocky 8/9, "
        "AlmaLinux 8/9." in message
    )
    assert "Nothing was changed" in message


def test_the_matrix_is_checked_first():
    assert names("tasks/preflight.yml")[0] == MATRIX


# --- EL7/EL8 need an older ansible-core (item 1) ---------------------------------------------

OLD_EL = "Refuse EL7/EL8 when this ansible-core cannot manage them"


@pytest.mark.parametrize(
    ("host", "shown"),
    [
        ("centos7", "CentOS 7.9"),
        ("rhel8", "RedHat 8.10"),
        ("rocky8", "Rocky 8.10"),
        ("alma8", "AlmaLinux 8.10"),
    ],
)
def test_el7_and_el8_are_refused_by_ansible_core_2_19(host, shown):
    ok, message = check("tasks/preflight.yml", OLD_EL, host)
    assert not ok
    assert message.startswith(
        "labsrv-%s runs %s, which ansible-core %s cannot" % (host, shown, ANSIBLE_CORE)
    )
    assert "Manage this host from an ansible-core <= 2.16 controller" in message
    assert check("tasks/preflight.yml", OLD_EL, host, ansible_core="2.16.14")[0]
    assert check("tasks/preflight.yml", OLD_EL, host, ansible_core="2.17.0")[0] is False


@pytest.mark.parametrize("host", ["rhel9", "rocky9", "alma9", "debian12", "ubuntu2404"])
def test_el9_and_debian_are_managed_by_ansible_core_2_19(host):
    assert check("tasks/preflight.yml", OLD_EL, host)[0]


def test_example_el7_host_vars_point_at_an_old_controller():
    path = os.path.join(os.path.dirname(ROLE), "..", "inventory", "example", "host_vars")
    for name in os.listdir(path):
        with open(os.path.join(path, name)) as handle:
            text = handle.read()
        assert "rh-python38" not in text, name


# --- Debian upstream repository: python3-debian, one source, pinned key (item 2) --------------


def test_debian_upstream_installs_python3_debian_before_deb822_repository():
    order = names("tasks/setup-Debian.yml")
    prereq = task(
        "tasks/setup-Debian.yml", "Install what adding the repository needs (python3-debian, gpg)"
    )
    packages = render("debian12", prereq["ansible.builtin.apt"]["name"])
    assert "python3-debian" in packages and "gpg" in packages
    assert order.index(prereq["name"]) < order.index(
        "Add Docker's repository, trusted for its own key only"
    )


def test_other_docker_sources_are_removed_before_the_repository_is_added():
    order = names("tasks/setup-Debian.yml")
    find = task("tasks/setup-Debian.yml", "Find other sources for Docker's repository")[
        "ansible.builtin.find"
    ]
    assert find["paths"] == "/etc/apt/sources.list.d"
    assert find["excludes"] == ["docker.sources"]
    # The find module matches `contains` against each line from its start.
    guide = (
        "deb [arch=amd64 signed-by=/etc/apt/keyrings/docker.gpg] "
        "https://download.docker.com/linux/debian bookworm stable"
    )
    assert re.compile(find["contains"]).match(guide)
    assert not re.compile(find["contains"]).match("deb http://deb.debian.org/debian bookworm main")
    line = task("tasks/setup-Debian.yml", "Remove Docker's repository from /etc/apt/sources.list")[
        "ansible.builtin.lineinfile"
    ]
    assert re.search(line["regexp"], guide)
    for step in (
        "Remove other sources for Docker's repository",
        line and "Remove Docker's repository from /etc/apt/sources.list",
    ):
        assert order.index(step) < order.index(
            "Add Docker's repository, trusted for its own key only"
        )


DOCKER_FPR = "9DC858229FC7DD38854AE2D88D81803C0EBFCD88"


def key_check(stdout):
    spec = task("tasks/setup-Debian.yml", "Check that the key is Docker's release key")
    variables = role_vars(
        "debian12", __docker_engine_key_info={"stdout_lines": stdout.splitlines()}
    )
    variables.update(trust(spec["vars"]))
    templar = Templar(loader=LOADER, variables=variables)
    ok = templar.template(trust_as_template("{{ %s }}" % spec["ansible.builtin.assert"]["that"]))
    return ok, " ".join(templar.template(trust(spec["ansible.builtin.assert"]["fail_msg"])).split())


def test_the_pinned_fingerprint_is_dockers():
    assert role_vars("debian12")["__docker_engine_upstream_fingerprint"] == (
        "9DC8 5822 9FC7 DD38 854A E2D8 8D81 803C 0EBF CD88".replace(" ", "")
    )


def test_a_key_with_dockers_fingerprint_is_accepted():
    colons = (
        "pub:-:4096:1:8D81803C0EBFCD88:1487788586:::-:::scESA::::::23::0:\n"
        "fpr:::::::::%s:\n"
        "uid:-::::1487792064::B5A08F01796E7F521861B449372D1FF271F2DD50::"
        "Docker Release (CE deb) <docker@docker.com>::::::::::0:\n" % DOCKER_FPR
    )
    assert key_check(colons)[0]


def test_another_key_is_refused(tmp_path):
    """A real key made with gpg here: its fingerprint is not Docker's, so it is refused."""
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    env = dict(os.environ, GNUPGHOME=str(home))
    subprocess.run(
        [
            "gpg",
            "--batch",
            "--passphrase",
            "",
            "--quick-gen-key",
            "lstest <lstest@example.org>",
            "ed25519",
            "sign",
            "1d",
        ],
        env=env,
        check=True,
        capture_output=True,
    )
    armored = subprocess.run(
        ["gpg", "--armor", "--export"], env=env, check=True, capture_output=True
    ).stdout
    (tmp_path / "docker.asc").write_bytes(armored)
    shown = subprocess.run(
        ["gpg", "--batch", "--with-colons", "--show-keys", str(tmp_path / "docker.asc")],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    ok, message = key_check(shown)
    assert not ok
    assert "is not Docker's release key %s" % DOCKER_FPR in message
    # The gpg command the role runs is the one used here.
    cmd = task("tasks/setup-Debian.yml", "Read the fingerprint of the key")[
        "ansible.builtin.command"
    ]
    assert (
        render("debian12", cmd)
        == "gpg --batch --with-colons --show-keys /etc/apt/keyrings/docker.asc"
    )


@pytest.mark.parametrize("host", ["centos7", "rhel8", "rocky9"])
def test_redhat_imports_the_pinned_key_before_the_repository(host):
    key = render(
        host,
        task(
            "tasks/setup-RedHat.yml", "Import Docker's release key after checking its fingerprint"
        )["ansible.builtin.rpm_key"],
    )
    assert key["fingerprint"] == DOCKER_FPR
    assert key["key"].startswith("https://download.docker.com/linux/") and key["key"].endswith(
        "/gpg"
    )
    order = names("tasks/setup-RedHat.yml")
    assert order.index("Import Docker's release key after checking its fingerprint") < order.index(
        "Install docker-ce from Docker's repository"
    )


# --- removing conflicting packages (item 5) --------------------------------------------------


def switch(host, packages, allow=False):
    facts_task = task(
        "tasks/engine-switch.yml", "List the installed packages that conflict with docker-ce"
    )
    computed = render(host, facts_task["ansible.builtin.set_fact"], packages=packages)
    ok, message = check(
        "tasks/engine-switch.yml",
        "Refuse to swap the distribution's Docker for docker-ce unless allowed",
        host,
        packages=packages,
        docker_engine_allow_engine_switch=allow,
        **computed,
    )
    return computed, ok, message


def test_el9_with_podman_removes_only_runc_and_needs_no_consent():
    computed, ok, _ = switch("rocky9", ["podman", "runc", "containerd", "buildah", "podman-docker"])
    assert computed["__docker_engine_installed_conflicts"] == ["podman-docker", "runc"]
    assert computed["__docker_engine_installed_engines"] == []
    assert ok


def test_centos7_docker_needs_consent_and_names_it():
    computed, ok, message = switch("centos7", ["docker", "docker-client", "docker-common", "runc"])
    assert computed["__docker_engine_installed_conflicts"] == [
        "docker",
        "docker-client",
        "docker-common",
        "runc",
    ]
    assert not ok and "runs the distribution's Docker (docker)" in message
    assert switch("centos7", ["docker"], allow=True)[1]


def test_ubuntu_compose_v2_is_a_conflict_and_docker_io_needs_consent():
    computed, ok, message = switch(
        "ubuntu2404", ["docker.io", "docker-compose-v2", "containerd", "runc"]
    )
    assert computed["__docker_engine_installed_conflicts"] == [
        "docker.io",
        "docker-compose-v2",
        "containerd",
        "runc",
    ]
    assert not ok and "(docker.io)" in message
    computed, ok, _ = switch("ubuntu2404", ["containerd", "runc"])
    assert ok and computed["__docker_engine_installed_engines"] == []


@pytest.mark.parametrize("family", ["Debian", "RedHat"])
def test_only_installed_conflicts_are_removed(family):
    remove = task(
        "tasks/setup-%s.yml" % family, "Remove distribution packages that conflict with docker-ce"
    )
    module = remove.get("ansible.builtin.apt") or remove["ansible.builtin.package"]
    assert module["name"] == "{{ __docker_engine_installed_conflicts }}"
    assert remove["when"] == "__docker_engine_installed_conflicts | length > 0"


# --- Docker SDK for Python on the RedHat family (item 12) ------------------------------------

SDK = "Refuse a host where the later layers could not talk to Docker"


@pytest.mark.parametrize(
    ("host", "package"),
    [("centos7", "python36-docker"), ("rocky9", "python3-docker"), ("rhel8", "python3-docker")],
)
def test_redhat_sdk_is_installed_or_refused(host, package):
    assert role_vars(host)["__docker_engine_sdk_package"] == package
    missing = {"__docker_engine_sdk": {"rc": 1}, "__docker_engine_sdk_available": {"rc": 1}}
    ok, message = check("tasks/preflight.yml", SDK, host, **missing)
    assert not ok
    assert (
        "the Docker SDK for Python" in message and "no package %s is available" % package in message
    )
    assert "Enable EPEL" in message
    assert check(
        "tasks/preflight.yml",
        SDK,
        host,
        __docker_engine_sdk={"rc": 0},
        __docker_engine_sdk_available={"skipped": True},
    )[0]
    assert check(
        "tasks/preflight.yml",
        SDK,
        host,
        __docker_engine_sdk={"rc": 1},
        __docker_engine_sdk_available={"rc": 0},
    )[0]
    install = render(
        host,
        task("tasks/setup-RedHat.yml", "Install docker-ce from Docker's repository")[
            "ansible.builtin.package"
        ]["name"],
        __docker_engine_install_sdk=True,
    )
    assert package in install


# --- the handler: reload first, roll back only what this run changed (items 3 and 4) ---------


def decide(**registered):
    base = {
        "__docker_engine_dropin": {"changed": False},
        "__docker_engine_unit": {"changed": False},
        "__docker_engine_daemon_json": {"changed": False},
        "__docker_engine_running": {"stdout": "true"},
        "__docker_engine_config": {"live-restore": True},
    }
    base.update(registered)
    variables = role_vars("debian12", **base)
    templar = Templar(loader=LOADER, variables=variables)
    out = {}
    for name in ("needs_restart", "reload_first", "rollback", "why"):
        value = templar.template(trust_as_template("{{ __docker_engine_%s }}" % name))
        out[name] = value.strip() if isinstance(value, str) else value
    return out


def test_live_restore_off_is_reloaded_on_before_the_restart():
    got = decide(
        __docker_engine_daemon_json={"changed": True, "restart_needed": True, "created": False},
        __docker_engine_running={"stdout": "false"},
    )
    assert str(got["needs_restart"]) == "True" and str(got["reload_first"]) == "True"


def test_only_reloadable_changes_are_reloaded_not_restarted():
    got = decide(
        __docker_engine_daemon_json={"changed": True, "restart_needed": False, "created": False}
    )
    assert str(got["needs_restart"]) == "False" and str(got["reload_first"]) == "True"


def test_a_restart_with_live_restore_already_on_needs_no_reload():
    got = decide(
        __docker_engine_daemon_json={"changed": True, "restart_needed": True, "created": False}
    )
    assert str(got["reload_first"]) == "False" and got["rollback"] == "restore"


def test_check_mode_says_why_it_would_restart():
    got = decide(
        __docker_engine_dropin={"changed": True},
        __docker_engine_daemon_json={"changed": True, "changed_keys": ["live-restore", "log-opts"]},
    )
    assert got["why"] == "daemon.json: live-restore, log-opts; the docker unit changed"
    assert decide()["why"] == ""


def test_a_drop_in_change_never_rolls_daemon_json_back():
    got = decide(__docker_engine_dropin={"changed": True})
    assert str(got["needs_restart"]) == "True" and str(got["reload_first"]) == "False"
    assert got["rollback"] == "keep"


def test_a_daemon_json_created_by_this_run_is_removed_on_rollback():
    got = decide(
        __docker_engine_daemon_json={"changed": True, "restart_needed": True, "created": True}
    )
    assert got["rollback"] == "remove"


def test_rollback_message_says_what_was_done():
    fail = task("tasks/restart.yml", "Stop here, with the reason")
    for kind, fragment, absent in (
        ("restore", "the previous file was put back and Docker restarted with it", None),
        (
            "remove",
            "there was no daemon.json before this run, so the new one was removed",
            "put back",
        ),
        ("keep", "daemon.json was not changed by this run and was left as it is", "put back"),
    ):
        variables = role_vars(
            "debian12",
            __docker_engine_rollback=kind,
            __docker_engine_reload_failed=False,
            __docker_engine_restart_systemd={
                "failed": True,
                "msg": "Unable to restart service docker",
            },
            __docker_engine_dropin={
                "changed": True,
                "dest": "/etc/systemd/system/docker.service.d/50-x.conf",
            },
            __docker_engine_unit={"changed": False, "removed": [], "edited": []},
        )
        variables.update(trust(fail["vars"]))
        message = " ".join(
            Templar(loader=LOADER, variables=variables)
            .template(trust(fail["ansible.builtin.fail"]["msg"]))
            .split()
        )
        assert fragment in message, message
        assert "Unable to restart service docker" in message
        if absent:
            assert absent not in message
    assert "50-x.conf" in message


def test_the_backup_is_forgotten_after_a_good_restart():
    forget = task(
        "tasks/restart.yml", "Forget the previous daemon.json once dockerd runs the new one"
    )
    assert forget["ansible.builtin.file"] == {
        "path": "/etc/docker/daemon.json.labstack-previous",
        "state": "absent",
    }
    order = names("tasks/restart.yml")
    assert order.index("Decide whether the restart worked") < order.index(forget["name"])


# --- validate before any change (item 8), check mode (item 13) -------------------------------


def test_unit_and_daemon_json_are_judged_in_check_mode_before_anything_is_written():
    preflight = names("tasks/preflight.yml")
    for name in (
        "Judge the docker unit as it will be with the role's drop-in",
        "Check daemon.json against dockerd's command line",
    ):
        assert name in preflight
        assert task("tasks/preflight.yml", name)["check_mode"] is True
    main = names("tasks/main.yml")
    assert main.index("Check the host before changing anything") < main.index(
        "Install Docker Engine"
    )
    planned = task("tasks/preflight.yml", "Check daemon.json against dockerd's command line")[
        "vars"
    ]["__docker_engine_planned_args"]
    fresh = render(
        "debian12",
        planned,
        __docker_engine_manager="systemd",
        __docker_engine_unit_check={"found": False, "exec_start": []},
    )
    assert fresh[:3] == ["/usr/bin/dockerd", "-H", "fd://"]
    assert render("debian12", planned, __docker_engine_manager="direct") == ["dockerd"]


def test_check_mode_on_a_fresh_host_does_not_start_a_missing_unit():
    start = task("tasks/service.yml", "Start and enable Docker with systemd")
    assert "not (ansible_check_mode and __docker_engine_unit_exists.rc != 0)" in start["when"]
    # The handler only says what it would do in check mode (nothing to restart or roll back).
    for item in load("tasks/restart.yml"):
        when = item["when"] if isinstance(item["when"], list) else [item["when"]]
        if item["name"] == "Say what would be applied (check mode)":
            assert when == ["ansible_check_mode"]
        else:
            assert when[0] == "not ansible_check_mode", item["name"]


def test_the_unused_daemon_json_template_is_gone():
    assert not os.path.exists(os.path.join(ROLE, "templates", "etc", "docker", "daemon.json.j2"))
    with open(os.path.join(ROLE, "README.md")) as handle:
        readme = handle.read()
    for name in load("defaults/main.yml"):
        assert name in readme, name
