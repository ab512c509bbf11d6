"""The IMS client against the real reference IMS: answers, cache, and failures that must
become Unavailable (so the chunk retries) rather than invalid rows."""

import dataclasses

import pytest
import requests

from oms.config import configure
from oms.errors import Unavailable
from oms.stores import ims
from tests.conftest import IMS_SERVICE_KEY
from tests.pipeline.rows import HUBS, SKUS

# IMS writes (fault injection included) need the service key: see ims/auth.py.
IMS_KEY = {"X-Service-Key": IMS_SERVICE_KEY}

pytestmark = pytest.mark.integration


@pytest.fixture
def client_settings(ims_service, settings):
    """Settings for the client under test (configured in this process); the IMS fault is
    cleared afterwards."""

    def use(**changes):
        configure(dataclasses.replace(settings, **changes))
        ims.cache.clear()

    yield use
    configure(settings)
    ims.cache.clear()
    requests.delete(
        f"{ims_service}/v1/faults/validate", headers=IMS_KEY, timeout=5
    ).raise_for_status()


def _fault(url: str, **fault) -> None:
    requests.put(
        f"{url}/v1/faults/validate", json=fault, headers=IMS_KEY, timeout=5
    ).raise_for_status()


def test_known_and_unknown_pairs(client_settings):
    client_settings(ims_cache_ttl_s=0)

    answers = ims.validate_pairs({(SKUS[0], HUBS[0]), ("SKU-NOPE", HUBS[1]), (SKUS[1], "HUB-NOPE")})

    assert answers[(SKUS[0], HUBS[0])].valid
    assert answers[("SKU-NOPE", HUBS[1])] == ims.PairCheck(sku_exists=False, hub_exists=True)
    assert answers[(SKUS[1], "HUB-NOPE")] == ims.PairCheck(sku_exists=True, hub_exists=False)


def test_cached_pairs_are_not_asked_again_within_the_ttl(client_settings, ims_service):
    client_settings(ims_cache_ttl_s=300)
    pair = (SKUS[2], HUBS[2])
    first = ims.validate_pairs({pair})
    _fault(ims_service, status=500, count=5)  # IMS would fail if asked

    again = ims.validate_pairs({pair})

    assert again == first
    with pytest.raises(Unavailable):
        ims.validate_pairs({pair, (SKUS[3], HUBS[3])})  # an uncached pair is asked


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_are_unavailable(client_settings, ims_service, status):
    client_settings(ims_cache_ttl_s=0)
    _fault(ims_service, status=status, count=1)

    with pytest.raises(Unavailable, match=str(status)):
        ims.validate_pairs({(SKUS[0], HUBS[0])})


def test_a_slow_ims_times_out_as_unavailable(client_settings, ims_service):
    client_settings(ims_cache_ttl_s=0, ims_timeout_s=0.5)
    _fault(ims_service, status=500, count=1, delay_s=2)

    with pytest.raises(Unavailable, match="unreachable"):
        ims.validate_pairs({(SKUS[0], HUBS[0])})


def test_a_closed_port_is_unavailable(client_settings):
    client_settings(ims_cache_ttl_s=0, ims_url="http://127.0.0.1:9")

    with pytest.raises(Unavailable, match="unreachable"):
        ims.validate_pairs({(SKUS[0], HUBS[0])})
