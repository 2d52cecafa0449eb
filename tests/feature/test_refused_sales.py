"""Queued sales the server refused, settled on record: POST /api/counter/refused-sales and the manager's page."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from shop.clock import business_today, midnight_utc
from shop.extensions import db
from shop.models import Counter, RefusedSale, Sale
from tests.factories import receive

URL = "/api/counter/refused-sales"


def rung_up(minutes_ago: int = 30) -> str:
    """An instant earlier today, as the till writes it (toISOString): UTC, milliseconds, Z."""
    # Never before today's midnight in Hainan, so a run just after it still rings up today.
    start_of_today = midnight_utc(business_today()).replace(tzinfo=UTC)
    moment = max(datetime.now(UTC) - timedelta(minutes=minutes_ago), start_of_today)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def settlement(goods, **changes) -> dict:
    """A cash sale of 1 jin of shrimp (¥68.00, ¥100.00 handed over) refused as sold out, the money returned."""
    body = {
        "idempotency_key": "refused-0001",
        "lines": [{"product_id": goods["shrimp"], "quantity": 500}],
        "payment_method": "cash",
        "taken_fen": 6800,
        "tendered_fen": 10000,
        "refused_error": "Only 0 g of 虾干 on sale here.",
        "rung_up_at": rung_up(),
        "outcome": "returned",
        "note": "",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not ...}


def records(app) -> list[RefusedSale]:
    with app.app_context():
        found = list(db.session.scalars(sa.select(RefusedSale).order_by(RefusedSale.id)))
        db.session.expunge_all()
        return found


def test_a_dismissed_sale_is_recorded_with_what_was_sold_the_money_and_who_settled_it(app, goods, clerk):
    body = settlement(goods, note="退回现金 100 元")
    response = clerk.post(URL, json=body)
    assert response.status_code == 201, response.get_json()
    answer = response.get_json()
    assert answer["outcome"] == "returned" and answer["rung_up_on"] == business_today().isoformat()
    (record,) = records(app)
    assert record.idempotency_key == "refused-0001"
    assert record.taken_fen == 6800 and record.tendered_fen == 10000 and record.payment_method.value == "cash"
    assert '"quantity": 500' in record.lines and record.refused_error == "Only 0 g of 虾干 on sale here."
    assert record.note == "退回现金 100 元" and record.resold_key is None
    with app.app_context():
        assert db.session.get(RefusedSale, record.id).settled_by.username == "clerk"
        assert db.session.get(Counter, record.counter_id).code == "LC-JN"
        # Written off or returned, nothing was sold: no sale appears.
        assert db.session.scalar(sa.select(sa.func.count(Sale.id))) == 0


def test_a_sale_sold_again_names_its_new_sale_and_the_page_links_it(app, goods, clerk, admin):
    receive(clerk, goods["shrimp"], goods["wang"], 1000, days=90)
    resale = {
        "idempotency_key": "resale-0001",
        "payment_method": "cash",
        "lines": [{"product_id": goods["shrimp"], "quantity": 250}],
    }
    body = settlement(goods, outcome="resold", resold_key="resale-0001", tendered_fen=..., note="少称了半斤")
    assert clerk.post(URL, json=body).status_code == 201
    admin.get("/lang/en")
    page = admin.get("/admin/counter/refused").get_data(as_text=True)
    assert "the new sale has not reached the server" in page  # the settlement may arrive first
    sale = clerk.post("/api/counter/sales", json=resale).get_json()
    page = admin.get("/admin/counter/refused").get_data(as_text=True)
    assert f"as sale {sale['number']}" in page and f'href="/admin/counter/sales/{sale["id"]}"' in page
    assert "Sold again" in page and "少称了半斤" in page and "¥68.00" in page


def test_the_same_settlement_sent_twice_records_once_and_another_body_under_its_key_is_409(app, goods, clerk):
    body = settlement(goods)
    first = clerk.post(URL, json=body)
    again = clerk.post(URL, json=body)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    other = clerk.post(URL, json={**body, "outcome": "written_off"})
    assert other.status_code == 409 and other.get_json()["error"]["code"] == "idempotency_key_reused"
    assert len(records(app)) == 1
    assert records(app)[0].outcome.value == "returned"


@pytest.mark.parametrize(
    "changes",
    [
        {"lines": ...},
        {"lines": []},
        {"payment_method": ...},
        {"refused_error": ...},
        {"rung_up_at": ...},
        {"outcome": ...},
        {"idempotency_key": ...},
        {"note": "虾" * 201},
        {"note": "a\x00b"},
        {"note": "line\nbreak"},
        {"refused_error": "\x1b[31mred"},
        {"refused_error": "x" * 301},
        {"taken_fen": -1},
        {"tendered_fen": -100},
        {"taken_fen": "6800"},
        {"payment_method": "bitcoin"},
        {"payment_method": "CASH"},
        {"outcome": "lost"},
        {"outcome": "resold"},  # without the new sale's key
        {"resold_key": "resale-0001"},  # returned money names no new sale
        {"outcome": "resold", "resold_key": "refused-0001"},  # its own key
        {"payment_method": "card"},  # cash handed over for a card payment
        {"rung_up_at": "2026-12-03T11:00:00"},  # no offset: which clock?
        {"rung_up_at": "9999-12-31T23:59:59-12:00"},
        {"rung_up_at": (datetime.now(UTC) + timedelta(days=1)).isoformat()},
        {"lines": [{"product_id": 1, "quantity": 0}]},
        {"counter_id": 0},
        {"extra": 1},
    ],
)
def test_a_bad_settlement_is_422_and_records_nothing(app, goods, clerk, changes):
    response = clerk.post(URL, json=settlement(goods, **changes))
    assert response.status_code == 422, response.get_json()
    assert records(app) == []


def test_a_settlement_for_a_sale_the_server_recorded_is_refused(app, goods, clerk):
    receive(clerk, goods["shrimp"], goods["wang"], 1000, days=90)
    sold = {
        "idempotency_key": "refused-0001",
        "payment_method": "cash",
        "lines": [{"product_id": goods["shrimp"], "quantity": 500}],
    }
    assert clerk.post("/api/counter/sales", json=sold).status_code == 201
    response = clerk.post(URL, json=settlement(goods))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "sale_recorded"
    assert records(app) == []


def test_the_settlement_needs_a_signed_in_clerk_and_the_csrf_token(app, goods, api, clerk, as_role):
    assert api.post(URL, json=settlement(goods), csrf=False).status_code in (400, 401)
    assert clerk.post(URL, json=settlement(goods), csrf=False).status_code == 400
    assert as_role("officer").post(URL, json=settlement(goods)).status_code == 403
    assert as_role("county").post(URL, json=settlement(goods)).status_code == 403
    assert records(app) == []


def test_a_clerk_settles_only_at_their_own_counter_and_the_manager_at_any(app, goods, clerk, admin):
    with app.app_context():
        other = db.session.scalars(sa.select(Counter.id).where(Counter.code == "BL-01")).one()
    assert clerk.post(URL, json=settlement(goods, counter_id=other)).status_code == 403
    assert records(app) == []
    assert admin.post(URL, json=settlement(goods, counter_id=other)).status_code == 201
    assert records(app)[0].counter_id == other


def test_only_the_manager_sees_the_page_per_counter_and_day_with_numbers_masked(app, goods, clerk, admin, as_role):
    note = "退给买家，电话 13812345678"
    assert clerk.post(URL, json=settlement(goods, outcome="written_off", note=note)).status_code == 201
    assert clerk.get("/admin/counter/refused").status_code == 403
    admin.get("/lang/en")
    page = admin.get("/admin/counter/refused").get_data(as_text=True)
    assert "Written off" in page and "¥68.00" in page and "Only 0 g of 虾干 on sale here." in page
    assert "138****5678" in page and "13812345678" not in page
    assert ">clerk<" in page or "clerk<br>" in page
    # Another counter, another day: nothing there.
    with app.app_context():
        other = db.session.scalars(sa.select(Counter.id).where(Counter.code == "BL-01")).one()
    assert "Written off" not in admin.get(f"/admin/counter/refused?counter={other}").get_data(as_text=True)
    yesterday = (business_today() - timedelta(days=1)).isoformat()
    first = db_first_counter(app)
    assert "Written off" not in admin.get(f"/admin/counter/refused?counter={first}&day={yesterday}").get_data(
        as_text=True
    )
    for bad in ("2026-13-45", "x", "<script>", "99999-01-01"):
        assert admin.get(f"/admin/counter/refused?day={bad}").status_code == 404
    # The cash-up page links to it for the manager, with today's count; a clerk is not shown the link.
    sales_page = admin.get(f"/admin/counter/sales?counter={first}").get_data(as_text=True)
    assert 'href="/admin/counter/refused"' in sales_page
    assert 'href="/admin/counter/refused"' not in clerk.get("/admin/counter/sales").get_data(as_text=True)


def db_first_counter(app) -> int:
    with app.app_context():
        return db.session.scalars(sa.select(Counter.id).where(Counter.code == "LC-JN")).one()


def test_the_records_are_append_only(app, goods, clerk):
    assert clerk.post(URL, json=settlement(goods)).status_code == 201
    with app.app_context(), pytest.raises(sa.exc.DatabaseError):
        with db.engine.begin() as conn:
            conn.execute(sa.text("UPDATE refused_sale SET taken_fen = 0"))
