"""Factories: the world a test stands in, made with the shop's use cases as the app makes it.

A factory calls one use case, signed in as the staff member the test names, so the rows it
writes (and the audit trail they leave) are those the same act through the pages would leave.
The feature under test still goes through HTTP; the world around it need not.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

import sqlalchemy as sa
from flask_login import login_user

from shop.clock import business_today
from shop.extensions import db
from shop.models import User
from shop.stock import lots
from tests.conftest import Api


def in_days(days: int) -> str:
    """The ISO date `days` from the business day today."""
    return (business_today() + timedelta(days=days)).isoformat()


@contextmanager
def acting_as(user: Api) -> Iterator[User]:
    """A request of `user`'s app with the person that client signed in as signed in, for a use case to run in."""
    with user.client.application.test_request_context():
        person = db.session.scalar(sa.select(User).where(User.username == user.username))
        login_user(person)
        yield person


def receive(user: Api, product_id: int, household_id: int, quantity: int, days: int = 180, **terms) -> int:
    """Receive a lot at `user`'s counter (or `counter_id`), best before in `days`, on consignment unless told."""
    with acting_as(user) as person:
        settlement = lots.settlement_terms(
            terms.pop("mode", "consignment"),
            terms.pop("share_bp", None),
            terms.pop("purchase_price_fen", None),
            lots.default_share_bp(),
        )
        lot = lots.receive_lot(
            product_id=product_id,
            household_id=household_id,
            quantity=quantity,
            best_before=date.fromisoformat(in_days(days)),
            terms=settlement,
            received_by=person,
            today=business_today(),
            counter_id=terms.pop("counter_id", None),
        )
        assert not terms, f"receive() does not know {sorted(terms)}"
        return lot.id


def sale(goods: dict, key: str = "till-1-0001", **overrides) -> dict:
    """The JSON body of a cash sale at the counter: 500 g of shrimp and two jars of paste, unless overridden."""
    body = {
        "idempotency_key": key,
        "payment_method": "cash",
        "lines": [{"product_id": goods["shrimp"], "quantity": 500}, {"product_id": goods["paste"], "quantity": 2}],
    }
    return {**body, **overrides}
