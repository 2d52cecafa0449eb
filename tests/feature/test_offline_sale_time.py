"""A sale queued offline is priced and dated by the moment the till rang it up (sold_at), not when it synced."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from shop.catalog import pricing
from shop.clock import BUSINESS_TZ, business_today
from shop.extensions import db
from shop.models import LedgerEntry, ProductPrice, Sale
from shop.selling import sales
from tests.factories import receive
from tests.probes import counts

SALES = "/api/counter/sales"
HAINAN = BUSINESS_TZ


def stamp(moment: datetime) -> str:
    """An aware instant as the till writes it: RFC 3339 with the tablet's offset."""
    return moment.isoformat(timespec="milliseconds")


def now_in_hainan() -> datetime:
    return datetime.now(HAINAN)


def shrimp_sale(goods, key: str, method: str = "cash", grams: int = 500, **extra) -> dict:
    return {
        "idempotency_key": key,
        "payment_method": method,
        "lines": [{"product_id": goods["shrimp"], "quantity": grams}],
        **extra,
    }


def patch(user, url: str, body):
    """PATCH a JSON body with the session's CSRF token."""
    return user.client.patch(url, json=body, headers={"X-CSRFToken": user.token or user.refresh_token()})


def patch_price(admin, product_id: int, price_fen: int, **extra):
    response = patch(admin, f"/api/products/{product_id}", {"price_fen": price_fen, **extra})
    assert response.status_code == 200, response.get_json()
    return response.get_json()


@pytest.fixture
def lot(app, goods, clerk):
    """2 kg of shrimp from 王 on consignment at 90 %."""
    return receive(clerk, goods["shrimp"], goods["wang"], 2000)


def credits_of(app, sale_id: int) -> list[tuple[str, int]]:
    """The ledger entries a sale's draws wrote: (day, fen)."""
    with app.app_context():
        sale = db.session.get(Sale, sale_id)
        draw_ids = [d.id for line in sale.lines for d in line.draws]
        rows = db.session.execute(
            sa.select(LedgerEntry.entry_date, LedgerEntry.amount_fen).where(LedgerEntry.draw_id.in_(draw_ids))
        )
        return [(day.isoformat(), fen) for day, fen in rows]


# ---------------------------------------------------------------- a price change between ringing up and syncing


def test_a_queued_cash_sale_is_recorded_at_the_price_asked_when_the_price_rose_before_it_synced(
    app, goods, lot, clerk, admin
):
    rung_up = now_in_hainan()  # the buyer pays ¥68.00 for a jin, exactly, and the network is down
    patch_price(admin, goods["shrimp"], 7200)  # the manager raises the price before the till syncs
    response = clerk.post(
        SALES, json=shrimp_sale(goods, "till-1-queued-cash", tendered_fen=6800, sold_at=stamp(rung_up))
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert (body["total_fen"], body["change_fen"]) == (6800, 0)
    assert body["lines"][0]["amount_fen"] == 6800
    assert [d["credit_fen"] for d in body["lines"][0]["draws"]] == [6120]  # 90 % of ¥68.00
    assert [fen for _day, fen in credits_of(app, body["id"])] == [6120]
    with app.app_context():
        line = db.session.get(Sale, body["id"]).lines[0]
        assert (line.price_fen, line.price_per) == (6800, 500)
    # A sale rung up after the change pays the new price.
    later = clerk.post(SALES, json=shrimp_sale(goods, "till-1-after-rise", sold_at=stamp(now_in_hainan())))
    assert later.get_json()["total_fen"] == 7200
    assert clerk.post(SALES, json=shrimp_sale(goods, "till-1-no-moment")).get_json()["total_fen"] == 7200


def test_a_queued_wechat_sale_is_recorded_at_the_price_the_buyer_paid_when_the_price_fell(
    app, goods, lot, clerk, admin
):
    rung_up = now_in_hainan()
    patch_price(admin, goods["shrimp"], 6000)
    sent = shrimp_sale(goods, "till-1-queued-qr", method="wechat_qr", grams=1000, sold_at=stamp(rung_up))
    body = clerk.post(SALES, json=sent).get_json()
    assert body["total_fen"] == 13600  # two jin at ¥68.00, as scanned, not at ¥60.00
    assert [d["credit_fen"] for d in body["lines"][0]["draws"]] == [12240]
    assert [fen for _day, fen in credits_of(app, body["id"])] == [12240]


def test_a_price_per_change_is_history_too(app, goods, lot, clerk, admin):
    rung_up = now_in_hainan()
    patch_price(admin, goods["shrimp"], 13000, price_per=1000)  # ¥130 per kg from now
    body = clerk.post(SALES, json=shrimp_sale(goods, "till-1-per", sold_at=stamp(rung_up))).get_json()
    assert body["total_fen"] == 6800


# ---------------------------------------------------------------- 23:59 rung up, 00:05 synced


def test_a_sale_rung_up_before_midnight_and_synced_after_belongs_to_the_day_before(app, goods, lot, clerk):
    today = business_today()
    midnight = datetime.combine(today, datetime.min.time(), HAINAN)
    rung_up = midnight - timedelta(minutes=1)  # 23:59 yesterday, the tablet's own offset
    body = clerk.post(SALES, json=shrimp_sale(goods, "till-1-2359", sold_at=stamp(rung_up))).get_json()
    yesterday = (today - timedelta(days=1)).isoformat()
    assert body["sold_on"] == yesterday
    assert body["sold_at"] == rung_up.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert credits_of(app, body["id"]) == [(yesterday, 6120)]
    # Today's sales and cash-up leave it out: it was cashed up with yesterday's.
    page = clerk.client.get("/admin/counter/sales").get_data(as_text=True)
    assert body["number"] not in page
    with app.app_context():
        assert [s.id for s in sales.recent_sales(body_counter(app, body["id"]), today - timedelta(days=1))] == [
            body["id"]
        ]


def body_counter(app, sale_id: int) -> int:
    with app.app_context():
        return db.session.get(Sale, sale_id).counter_id


def test_a_sale_rung_up_at_2359_on_the_months_last_day_lands_in_that_month(
    app, goods, lot, clerk, officer, monkeypatch
):
    # The server's clock reads 00:05 on 1 December in Hainan; the tablet rang the sale up at 23:59 on 30 November.
    synced = datetime(2026, 12, 1, 0, 5, tzinfo=HAINAN)
    monkeypatch.setattr(sales, "now_utc", lambda: synced.astimezone(UTC).replace(tzinfo=None))
    monkeypatch.setattr("shop.web.api.business_today", lambda: synced.date())
    rung_up = datetime(2026, 11, 30, 23, 59, tzinfo=HAINAN)
    body = clerk.post(SALES, json=shrimp_sale(goods, "till-1-month-end", sold_at=stamp(rung_up))).get_json()
    assert body["sold_on"] == "2026-11-30"
    november = officer.get(f"/api/households/{goods['wang']}/ledger?from=2026-11-01&to=2026-11-30").get_json()
    december = officer.get(f"/api/households/{goods['wang']}/ledger?from=2026-12-01&to=2026-12-31").get_json()
    assert (november["credited_fen"], december["credited_fen"]) == (6120, 0)
    # The cash-up of 30 November counts it; 1 December's does not.
    monkeypatch.setattr("admin.counter.business_today", lambda: synced.date() - timedelta(days=1))
    assert "¥68.00" in clerk.client.get("/admin/counter/sales").get_data(as_text=True)
    monkeypatch.setattr("admin.counter.business_today", lambda: synced.date())
    assert body["number"] not in clerk.client.get("/admin/counter/sales").get_data(as_text=True)
    # Another offset for the same instant is the same moment: a UTC stamp is read the same way.
    with app.app_context():
        assert sales.as_utc(rung_up) == datetime(2026, 11, 30, 15, 59)
        assert sales.as_utc(rung_up.astimezone(ZoneInfo("America/New_York"))) == datetime(2026, 11, 30, 15, 59)


def test_the_receipt_shows_when_the_sale_was_rung_up_not_when_it_synced(app, goods, lot, clerk):
    rung_up = now_in_hainan() - timedelta(hours=3)
    body = clerk.post(SALES, json=shrimp_sale(goods, "till-1-receipt", sold_at=stamp(rung_up))).get_json()
    page = clerk.client.get(f"/admin/counter/sales/{body['id']}").get_data(as_text=True)
    assert rung_up.strftime("%Y-%m-%d %H:%M") in page


# ---------------------------------------------------------------- moments refused


@pytest.mark.parametrize(
    "offset",
    [timedelta(minutes=10), timedelta(days=1), -timedelta(hours=73), -timedelta(days=400)],
    ids=["10-minutes-ahead", "tomorrow", "73-hours-ago", "last-year"],
)
def test_a_moment_in_the_future_or_older_than_the_limit_is_refused_and_records_nothing(app, goods, lot, clerk, offset):
    before = counts(app)
    response = clerk.post(
        SALES, json=shrimp_sale(goods, "till-1-out-of-bounds", sold_at=stamp(now_in_hainan() + offset))
    )
    assert response.status_code == 422
    assert "sold_at" in response.get_json()["error"]["fields"]
    assert counts(app) == before


@pytest.mark.parametrize("offset", [timedelta(minutes=2), -timedelta(hours=71)], ids=["clock-skew", "71-hours-ago"])
def test_a_moment_within_the_bounds_is_recorded(app, goods, lot, clerk, offset):
    response = clerk.post(SALES, json=shrimp_sale(goods, "till-1-in-bounds", sold_at=stamp(now_in_hainan() + offset)))
    assert response.status_code == 201, response.get_json()


@pytest.fixture
def config_overrides() -> dict:
    return {"SOLD_AT_MAX_AGE_HOURS": 72}


def test_the_age_limit_is_a_setting(app, goods, lot, clerk):
    app.config["SOLD_AT_MAX_AGE_HOURS"] = 1
    old = stamp(now_in_hainan() - timedelta(hours=2))
    response = clerk.post(SALES, json=shrimp_sale(goods, "till-1-setting", sold_at=old))
    assert response.status_code == 422
    assert "1" in response.get_json()["error"]["fields"]["sold_at"]


@pytest.mark.parametrize(
    "sold_at",
    [
        "2026-12-03T12:00:00",  # no offset: which 12:00?
        "2026-12-03 12:00:00+08:00",
        "2026-12-03",
        "2026-13-03T12:00:00+08:00",
        "2026-12-03T24:00:00+08:00",
        "2026-12-03T12:00:00+24:00",
        "2026-12-03T12:00:00.1234567+08:00",
        "２０２６-12-03T12:00:00+08:00",
        "garbage",
        "",
        "<script>alert(1)</script>",
        "2026-12-03T12:00:00+08:00" + "0" * 100_000,
        "9" * 5000,
        1764734400,
        1764734400.5,
        True,
        [],
        {},
    ],
    ids=lambda v: repr(v)[:30],
)
def test_a_malformed_moment_is_refused_with_422_and_records_nothing(app, goods, lot, clerk, sold_at):
    before = counts(app)
    response = clerk.post(SALES, json=shrimp_sale(goods, "till-1-malformed", sold_at=sold_at))
    assert response.status_code == 422
    assert "sold_at" in response.get_json()["error"]["fields"]
    assert "<script>" not in response.get_data(as_text=True)
    assert counts(app) == before


# ---------------------------------------------------------------- replays


def test_the_same_key_and_body_replays_the_sale_and_another_moment_is_409(app, goods, lot, clerk, admin):
    body = shrimp_sale(goods, "till-1-replay", sold_at=stamp(now_in_hainan() - timedelta(minutes=20)))
    first = clerk.post(SALES, json=body)
    assert first.status_code == 201
    patch_price(admin, goods["shrimp"], 9900)  # a replay is the recorded sale, whatever the price now
    again = clerk.post(SALES, json=body)
    assert again.status_code == 200
    assert again.get_json() == first.get_json()
    moved = clerk.post(SALES, json={**body, "sold_at": stamp(now_in_hainan() - timedelta(minutes=19))})
    assert moved.status_code == 409
    assert moved.get_json()["error"]["code"] == "idempotency_key_reused"
    without = {k: v for k, v in body.items() if k != "sold_at"}
    assert clerk.post(SALES, json=without).status_code == 409
    assert counts(app)[0] == 1


def test_a_recorded_sale_replays_even_once_its_moment_is_past_the_limit(app, goods, lot, clerk):
    body = shrimp_sale(goods, "till-1-old-replay", sold_at=stamp(now_in_hainan() - timedelta(hours=2)))
    first = clerk.post(SALES, json=body)
    assert first.status_code == 201
    app.config["SOLD_AT_MAX_AGE_HOURS"] = 1  # the answer was lost, and the tablet comes back much later
    assert clerk.post(SALES, json=body).status_code == 200


def test_the_same_instant_with_another_offset_is_the_same_body(app, goods, lot, clerk):
    rung_up = now_in_hainan() - timedelta(minutes=5)
    body = shrimp_sale(goods, "till-1-offsets", sold_at=stamp(rung_up))
    assert clerk.post(SALES, json=body).status_code == 201
    as_utc = rung_up.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    assert clerk.post(SALES, json={**body, "sold_at": as_utc}).status_code == 200


# ---------------------------------------------------------------- the price history


def test_a_products_price_history_after_creation_and_two_changes(app, goods, admin, clerk):
    patch_price(admin, goods["shrimp"], 7200)
    patch(admin, f"/api/products/{goods['shrimp']}", {"name": "虾干（特级）"})  # no new price, no new row
    product = patch_price(admin, goods["shrimp"], 13000, price_per=1000)
    assert (product["name"], product["price_fen"], product["price_per"]) == ("虾干（特级）", 13000, 1000)
    prices = [(p["price_fen"], p["price_per"], p["set_by"]) for p in product["prices"]]
    assert prices == [(13000, 1000, "admin"), (7200, 500, "admin"), (6800, 500, "admin")]  # newest first
    froms = [p["valid_from"] for p in product["prices"]]
    assert froms == sorted(froms, reverse=True)
    with app.app_context():
        rows = db.session.scalars(
            sa.select(ProductPrice).where(ProductPrice.product_id == goods["shrimp"]).order_by(ProductPrice.id)
        ).all()
        assert [(r.price_fen, r.price_per) for r in rows] == [(6800, 500), (7200, 500), (13000, 1000)]
        assert pricing.prices_at(db.session, [goods["shrimp"]], rows[1].valid_from) == {goods["shrimp"]: (7200, 500)}
    # The manager's page reads the same history.
    page = admin.client.get(f"/admin/products/{goods['shrimp']}").get_data(as_text=True)
    history = page[page.index('id="prices"') :]
    assert history.index("¥130.00") < history.index("¥72.00") < history.index("¥68.00")


def test_the_price_history_is_append_only(app, goods):
    for statement in ("UPDATE product_price SET price_fen = 1", "DELETE FROM product_price"):
        with pytest.raises(sa.exc.DBAPIError), app.app_context(), db.engine.begin() as conn:
            conn.execute(sa.text(statement))
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ProductPrice.id))) == 2


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"price_fen": -1},
        {"price_fen": "7200"},
        {"price_fen": None},
        {"price_per": 0},
        {"name": "  "},
        {"active": "no"},
        {"sku": "X"},
    ],
)
def test_a_bad_product_change_is_refused_and_adds_no_price(app, goods, admin, body):
    response = patch(admin, f"/api/products/{goods['shrimp']}", body)
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(ProductPrice.id))) == 2


def test_only_the_manager_changes_a_product_and_an_unknown_one_is_404(goods, admin, clerk):
    assert patch(clerk, f"/api/products/{goods['shrimp']}", {"price_fen": 1}).status_code == 403
    assert patch(admin, "/api/products/99999", {"price_fen": 1}).status_code == 404


# ---------------------------------------------------------------- a pay-at-pickup order collected at the counter


def test_a_pickup_order_collected_after_a_price_change_is_sold_at_its_frozen_price_on_the_day_of_collection(
    app, goods, lot, clerk, admin, api
):
    placed = api.post(
        "/api/orders",
        json={
            "lines": [{"product_id": goods["shrimp"], "quantity": 500}],
            "contact": {"name": "林女士", "phone": "13812345678"},
            "fulfilment": "pickup",
            "payment": "pay_at_pickup",
        },
    )
    assert placed.status_code == 201, placed.get_json()
    patch_price(admin, goods["shrimp"], 9900)
    token = clerk.refresh_token()
    order_id = placed.get_json()["id"]
    collected = clerk.client.post(f"/admin/orders/{order_id}/collect", data={"csrf_token": token, "method": "cash"})
    assert collected.status_code == 302
    with app.app_context():
        sale = db.session.scalars(sa.select(Sale).where(Sale.idempotency_key == f"order-{order_id}")).one()
        assert (sale.total_fen, sale.sold_on) == (6800, business_today())
        assert abs(sale.sold_at - datetime.now(UTC).replace(tzinfo=None)) < timedelta(minutes=1)


# ---------------------------------------------------------------- the migration


def test_the_migration_gives_each_product_its_current_price_from_its_creation_and_each_sale_its_moment(tmp_path):
    import flask_migrate

    from shop import create_app
    from shop.models import Product
    from tests.conftest import base_config

    app = create_app(base_config(f"sqlite:///{tmp_path / 'before.sqlite3'}"))
    with app.app_context():
        flask_migrate.upgrade(revision="0014_refund_key")
        db.session.execute(
            sa.text(
                "INSERT INTO product (sku, name_zh, name_en, category, unit, price_fen, price_per, description_zh,"
                " description_en, active, created_at) VALUES ('OLD-1', '虾干', '', 'seafood', 'g', 7000, 500, '', '',"
                " 1, '2026-01-02 03:04:05')"
            )
        )
        db.session.commit()
        flask_migrate.upgrade()
        product = db.session.scalars(sa.select(Product)).one()
        (row,) = db.session.scalars(sa.select(ProductPrice)).all()
        assert (row.product_id, row.price_fen, row.price_per, row.set_by_id) == (product.id, 7000, 500, None)
        assert row.valid_from == product.created_at == datetime(2026, 1, 2, 3, 4, 5)
        flask_migrate.downgrade(revision="0014_refund_key")
        flask_migrate.upgrade()
        assert db.session.scalar(sa.select(sa.func.count(ProductPrice.id))) == 1
        db.session.remove()
        db.engine.dispose()
