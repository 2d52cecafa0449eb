"""Phone numbers are sealed at rest: the database holds none in the clear, the app reads them back, keys rotate."""

import flask_migrate
import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from shop import create_app
from shop.extensions import db
from shop.models import Household, Order
from tests.conftest import PERSONAL_DATA_KEY, WANG, base_config
from tests.factories import receive

from .test_order_pages import number, place

PHONE = "13812345678"


def stored(app, table: str, column: str) -> list[str]:
    """What the database itself holds in a column, read past the ORM."""
    with app.app_context():
        return list(db.session.execute(sa.text(f"SELECT {column} FROM {table}")).scalars())


def test_a_households_phone_is_stored_sealed_and_shown_in_full_only_when_asked(app, admin):
    created = admin.post("/api/households", json={**WANG, "code": "DB009", "phone": PHONE})
    assert created.status_code == 201
    (raw,) = stored(app, "household", "phone")
    assert PHONE not in raw and "5678" not in raw
    household_id = created.get_json()["id"]
    page = admin.get(f"/admin/households/{household_id}").get_data(as_text=True)
    assert "138****5678" in page and PHONE not in page
    full = admin.get(f"/admin/households/{household_id}/phone").get_data(as_text=True)
    assert PHONE in full


def test_a_buyers_phone_is_stored_sealed_and_still_finds_the_order(app, goods, clerk, client):
    receive_stock(clerk, goods)
    order_id = place(app, goods, phone=PHONE)
    (raw,) = stored(app, "shop_order", "contact_phone")
    assert PHONE not in raw
    assert stored(app, "shop_order", "contact_phone_last4") == ["5678"]
    token = client.get("/api/session").get_json()["csrf_token"]
    found = client.post("/orders/lookup", data={"csrf_token": token, "number": number(order_id), "phone": PHONE})
    assert found.status_code in (302, 303)
    wrong = client.post(
        "/orders/lookup", data={"csrf_token": token, "number": number(order_id), "phone": "13812345679"}
    )
    assert wrong.status_code == 404
    assert number(order_id) in clerk.get("/admin/orders/collect?q=5678").get_data(as_text=True)


def receive_stock(clerk, goods) -> None:
    receive(clerk, goods["shrimp"], goods["wang"], 5000)
    receive(clerk, goods["paste"], goods["wang"], 10)


def test_rotating_the_key_reseals_every_phone_so_the_old_key_can_go(app, admin, goods, clerk):
    receive_stock(clerk, goods)
    admin.post("/api/households", json={**WANG, "code": "DB009", "phone": PHONE})
    place(app, goods, phone="13900001111")
    before = {v for v in stored(app, "household", "phone") + stored(app, "shop_order", "contact_phone") if v}

    new_key = Fernet.generate_key().decode()
    app.config["PERSONAL_DATA_KEYS"] = (new_key, PERSONAL_DATA_KEY)
    result = app.test_cli_runner().invoke(args=["personal-data", "rotate"])
    assert result.exit_code == 0, result.output
    assert "re-sealed" in result.output

    app.config["PERSONAL_DATA_KEYS"] = (new_key,)  # the old key retired
    after = {v for v in stored(app, "household", "phone") + stored(app, "shop_order", "contact_phone") if v}
    assert len(after) == len(before) == 2
    assert not after & before
    with app.app_context():
        phones = {h.phone for h in db.session.scalars(sa.select(Household).where(Household.phone.is_not(None)))}
        assert phones == {PHONE}
        assert db.session.scalars(sa.select(Order.contact_phone)).all() == ["13900001111"]


def test_a_new_key_is_printed_for_the_operator(app):
    result = app.test_cli_runner().invoke(args=["personal-data", "new-key"])
    Fernet(result.output.strip().encode())  # a valid key, or this raises


def test_an_app_with_the_wrong_key_refuses_to_show_a_phone_rather_than_show_garbage(app, admin):
    admin.post("/api/households", json={**WANG, "code": "DB009", "phone": PHONE})
    app.config["PERSONAL_DATA_KEYS"] = (Fernet.generate_key().decode(),)
    with app.app_context(), pytest.raises(Exception, match="PERSONAL_DATA_KEYS"):
        db.session.scalars(sa.select(Household.phone).where(Household.code == "DB009")).one()


def test_the_migration_seals_the_phones_already_stored_and_the_downgrade_opens_them(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.sqlite3'}"
    app = create_app(base_config(url))
    with app.app_context():
        flask_migrate.upgrade(revision="0007_audit")
        with db.engine.begin() as conn:
            conn.exec_driver_sql("INSERT INTO town (id, name_zh, name_en) VALUES (1, '临城镇', 'Lincheng')")
            conn.exec_driver_sql("INSERT INTO village (id, town_id, name_zh, name_en) VALUES (1, 1, '大波村', 'Dabo')")
            conn.exec_driver_sql(
                "INSERT INTO household (id, code, head_name, members, village_id, category, phone, created_at)"
                f" VALUES (1, 'DB001', '王亦明', 4, 1, 'tuopin', '{PHONE}', '2026-01-01 00:00:00')"
            )
        flask_migrate.upgrade()
        (raw,) = db.session.execute(sa.text("SELECT phone FROM household")).scalars()
        assert raw != PHONE and PHONE not in raw
        assert db.session.get(Household, 1).phone == PHONE
        db.session.remove()
        flask_migrate.downgrade(revision="0007_audit")
        assert db.session.execute(sa.text("SELECT phone FROM household")).scalars().all() == [PHONE]
        db.session.remove()
        db.engine.dispose()
