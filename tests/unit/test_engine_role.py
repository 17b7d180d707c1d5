"""The docker_engine role's per-family choices, checked by rendering (no target host needed).

Only Debian 12 can run for real here (Molecule). The other families' variable files, task file
selection, repository definitions and templates are rendered with Ansible's own templating, with
the facts each distribution reports, so a typo or a wrong URL for Ubuntu or EL fails here.
"""

import os

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

# Facts as each distribution reports them (ansible_facts subset).
HOSTS = {
    "debian11": ("Debian", "11", "bullseye", "Debian"),
    "debian12": ("Debian", "12", "bookworm", "Debian"),
    "ubuntu2004": ("Ubuntu", "20", "focal", "Debian"),
    "ubuntu2204": ("Ubuntu", "22", "jammy", "Debian"),
    "ubuntu2404": ("Ubuntu", "24", "noble", "Debian"),
    "centos7": ("CentOS", "7", "Core", "RedHat"),
    "rhel8": ("RedHat", "8", "Ootpa", "RedHat"),
    "rocky9": ("Rocky", "9", "Blue Onyx", "RedHat"),
    "alma9": ("AlmaLinux", "9", "Seafoam Ocelot", "RedHat"),
}


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
    distribution, major, release, family = HOSTS[host]
    return {
        "distribution": distribution,
        "distribution_major_version": major,
        "distribution_version": major,
        "distribution_release": release,
        "os_family": family,
        "architecture": "x86_64",
        "service_mgr": "systemd",
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


def role_vars(host, **overrides):
    host_facts = facts(host)
    variables = dict(load("defaults/main.yml"))
    for path in var_files(host_facts):
        variables.update(load(path))
    variables.update(overrides)
    variables = trust(variables)
    variables["ansible_facts"] = host_facts
    variables["ansible_managed"] = "Ansible managed"
    return variables


def render(host, expression, **overrides):
    return Templar(loader=LOADER, variables=role_vars(host, **overrides)).template(
        trust(expression)
    )


def task(path, name):
    for item in load(path):
        if item["name"] == name:
            return item
        for inner in item.get("block", []):
            if inner["name"] == name:
                return inner
    raise KeyError(name)


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
