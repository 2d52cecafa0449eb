"""Many tills at once: stock is never oversold and a sale sent twice at once is recorded once."""

import sqlalchemy as sa

from shop.extensions import db
from shop.models import Draw, Lot, Sale, StockMovement
from tests.concurrency import run_together
from tests.factories import receive


def test_thirty_buyers_racing_for_ten_packs_buy_exactly_ten(app, goods, as_role):
    clerk = as_role("clerk")
    first = receive(clerk, goods["paste"], goods["wang"], 4, days=20)
    second = receive(clerk, goods["paste"], goods["fu"], 6, days=40)
    tills = [as_role("clerk") if i % 2 else as_role("admin") for i in range(30)]
    for till in tills:
        till.refresh_token()

    def buy(till, n):
        body = {
            "idempotency_key": f"race-{n:04d}",
            "payment_method": "cash",
            "lines": [{"product_id": goods["paste"], "quantity": 1}],
        }
        return lambda: till.post("/api/counter/sales", json=body)

    responses = run_together([buy(till, n) for n, till in enumerate(tills)])
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] * 10 + [409] * 20
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Sale.id))) == 10
        assert db.session.scalar(sa.select(sa.func.sum(Draw.quantity))) == 10
        assert [db.session.get(Lot, i).qty_on_hand for i in (first, second)] == [0, 0]
        # The sooner lot sold out before the later one was touched.
        assert db.session.scalar(sa.select(sa.func.sum(Draw.quantity)).where(Draw.lot_id == first)) == 4


def test_a_sale_resent_five_times_at_once_is_recorded_once(app, goods, as_role):
    clerk = as_role("clerk")
    lot_id = receive(clerk, goods["shrimp"], goods["wang"], 2000)
    clerk.refresh_token()
    body = {
        "idempotency_key": "till-7-resent",
        "payment_method": "alipay_qr",
        "lines": [{"product_id": goods["shrimp"], "quantity": 250}],
    }
    # Five tabs of one session, as a flaky network would resend: share the cookie, not the client.
    tabs = []
    for _ in range(5):
        tab = app.test_client()
        tab.set_cookie("session", clerk.client.get_cookie("session").value)
        tabs.append(tab)
    headers = {"X-CSRFToken": clerk.token}
    responses = run_together([lambda t=t: t.post("/api/counter/sales", json=body, headers=headers) for t in tabs])
    assert sorted(r.status_code for r in responses) == [200] * 4 + [201]
    assert len({r.get_json()["id"] for r in responses}) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Sale.id))) == 1
        assert db.session.get(Lot, lot_id).qty_on_hand == 1750
        assert db.session.scalar(sa.select(sa.func.count(StockMovement.id)).where(StockMovement.kind == "sale")) == 1
