from decimal import Decimal

import pytest

from oms.orders.money import from_cents, to_cents


@pytest.mark.parametrize("text", ["0.00", "0.01", "19.99", "1234567890123.45", "7"])
def test_cents_round_trip_exactly(text):
    assert from_cents(to_cents(Decimal(text))) == Decimal(text)


def test_sub_cent_amounts_are_refused_rather_than_rounded():
    with pytest.raises(ValueError, match="two decimals"):
        to_cents(Decimal("1.005"))
