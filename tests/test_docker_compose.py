"""docker-compose.yml cannot run here (no Docker engine); check what can be checked:
the Compose schema (Debian's docker-compose validates without an engine) and what the
file says about OMS."""

import copy
import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from devstack.install import docker_compose
from oms.config import VARIABLES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_TEXT = (ROOT / "docker-compose.yml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
#: Variables the file interpolates (``${NAME}``, ``${NAME:-default}``).
INTERPOLATED = sorted(set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE_TEXT)))
OMS_SERVICES = ["api", "worker", "express", "beat", "finalizer", "flower"]


def test_every_oms_service_sets_only_variables_the_config_module_reads():
    known = {variable for variable, _, _ in VARIABLES.values()}
    for name in OMS_SERVICES:
        environment = COMPOSE["services"][name]["environment"]
        unknown = set(environment) - known
        assert not unknown, f"{name} sets variables oms.config does not read: {unknown}"


def test_oms_services_point_every_external_system_at_a_compose_service():
    services = set(COMPOSE["services"])
    env = COMPOSE["services"]["api"]["environment"]
    for variable, host in [
        ("OMS_AWS_ENDPOINT_URL", "localstack"),
        ("OMS_MONGO_URI", "mongo"),
        ("OMS_KAFKA_BOOTSTRAP", "kafka"),
        ("OMS_REDIS_URL", "redis"),
        ("OMS_IMS_URL", "ims"),
    ]:
        assert host in env[variable]
        assert host in services


def test_images_are_the_production_like_ones():
    images = {name: spec.get("image") for name, spec in COMPOSE["services"].items()}
    assert images["mongo"] == "mongo:7"
    assert images["kafka"].startswith("apache/kafka:")
    assert images["localstack"].startswith("localstack/localstack")
    assert images["redis"].startswith("redis:")


def test_every_command_module_of_the_image_exists():
    for name in ["api", "ims"]:
        command = COMPOSE["services"][name]["command"]
        module = command[-1].split(":")[0]
        assert (ROOT / (module.replace(".", "/") + ".py")).exists(), f"{name}: {module}"


@pytest.fixture(scope="module")
def compose_cli() -> Path:
    return docker_compose()


def compose_config(cli: Path, path: Path) -> subprocess.CompletedProcess:
    """``docker-compose -f <path> config -q`` in a clean environment: only PATH, HOME and
    a harmless value for each variable the file interpolates (so nothing warns)."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/"),
        **dict.fromkeys(INTERPOLATED, "compose-check"),
    }
    return subprocess.run(
        [str(cli), "-f", str(path), "config", "-q"],
        cwd=path.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_file_is_valid_against_the_compose_schema(compose_cli):
    result = compose_config(compose_cli, ROOT / "docker-compose.yml")

    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    assert result.stdout == ""


def test_a_faithful_copy_of_the_file_is_accepted_too(compose_cli, tmp_path):
    """The control for the next test: a re-serialised copy passes, so what is rejected
    there is the breakage, not the copying."""
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(COMPOSE))

    result = compose_config(compose_cli, path)

    assert (result.returncode, result.stderr) == (0, "")


def _unknown_key(spec: dict) -> None:
    spec["services"]["api"]["restart_policy"] = "always"


def _wrong_type(spec: dict) -> None:
    spec["services"]["redis"]["ports"] = 6379


@pytest.mark.parametrize(
    "breakage, complaint",
    [
        (_unknown_key, "Unsupported config option for services.api: 'restart_policy'"),
        (_wrong_type, "services.redis.ports contains an invalid type"),
    ],
    ids=["unknown-key", "wrong-type"],
)
def test_the_schema_check_rejects_a_broken_file(compose_cli, tmp_path, breakage, complaint):
    spec = copy.deepcopy(COMPOSE)
    breakage(spec)
    path = tmp_path / "docker-compose.yml"
    path.write_text(yaml.safe_dump(spec))

    result = compose_config(compose_cli, path)

    assert result.returncode != 0
    assert complaint in result.stderr
