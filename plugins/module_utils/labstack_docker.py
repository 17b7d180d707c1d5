"""One way for every labstack module to reach Docker, with errors that say what to do."""

try:
    import docker
    from docker.errors import DockerException
except ImportError:  # reported by connect(), where the module can fail cleanly
    docker = None
    DockerException = Exception

DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
DOCKER_HOST_OPTION = dict(type="str", default=DEFAULT_DOCKER_HOST)


def connect(module):
    """A DockerClient for module.params['docker_host'], or fail_json with the next step."""
    if docker is None:
        module.fail_json(
            msg="the Docker SDK for Python is missing on the target; "
            "the docker_engine role installs it (python3-docker)"
        )
    host = module.params["docker_host"]
    try:
        client = docker.DockerClient(base_url=host)
        client.api.ping()
    except DockerException as exc:
        module.fail_json(
            msg="cannot reach Docker at %s: %s. Is dockerd running? Run site.yml (the "
            "docker_engine layer starts it) or start it yourself." % (host, exc)
        )
    return client
