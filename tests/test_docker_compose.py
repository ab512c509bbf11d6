"""docker-compose.yml cannot run here (no Docker engine); check what can be checked."""

from pathlib import Path

import yaml

from oms.config import VARIABLES

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
OMS_SERVICES = ["api", "worker", "beat", "flower"]


def test_every_oms_service_sets_only_variables_the_config_module_reads():
    known = {variable for variable, _, _ in VARIABLES.values()}
    for name in OMS_SERVICES:
        environment = COMPOSE["services"][name]["environment"]
        unknown = set(environment) - known
        assert not unknown, f"{name} sets variables oms.config does not read: {unknown}"


def test_oms_services_point_every_external_system_at_a_compose_service():
    services = set(COMPOSE["services"])
    env = COMPOSE["services"]["api"]["environment"]
    for variable, host in [("OMS_AWS_ENDPOINT_URL", "localstack"), ("OMS_MONGO_URI", "mongo"),
                           ("OMS_KAFKA_BOOTSTRAP", "kafka"), ("OMS_REDIS_URL", "redis"),
                           ("OMS_IMS_URL", "ims")]:
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
