"""MongoDB (FerretDB locally) through the project's client and its indexes."""

import pymongo
import pytest

from oms.stores import mongo

pytestmark = pytest.mark.integration


def test_unique_order_id_rejects_a_second_insert_and_keeps_the_first(settings):
    mongo.ensure_indexes()
    orders = mongo.db()["orders"]
    orders.insert_one({"order_id": "SMOKE-1", "upload_id": "u1", "row_number": 2})

    with pytest.raises(pymongo.errors.BulkWriteError) as raised:
        orders.insert_many(
            [{"order_id": "SMOKE-1", "upload_id": "u2"}, {"order_id": "SMOKE-2"}],
            ordered=False,
        )

    codes = [error["code"] for error in raised.value.details["writeErrors"]]
    assert codes == [11000]
    assert raised.value.details["nInserted"] == 1
    assert orders.find_one({"order_id": "SMOKE-1"})["upload_id"] == "u1"
    assert orders.count_documents({"order_id": {"$in": ["SMOKE-1", "SMOKE-2"]}}) == 2
