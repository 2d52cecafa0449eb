"""Money and goods never leave on one tap: refunds, write-offs, pickups and cancels say what happens, with amounts."""

import html as html_lib
import re

import pytest

from shop.extensions import db
from shop.models import Refund, StockMovement
from tests.factories import receive

from .test_order_pages import collect, place, post, sale_line_ids, text


@pytest.fixture
def clerk(as_role):
    api = as_role("clerk")
    api.client.set_cookie("lang", "zh_CN")
    api.refresh_token()
    return api


@pytest.fixture
def shelf(goods, clerk):
    """1000 g of shrimp from 王 and 10 jars of paste."""
    return {
        "shrimp": receive(clerk, goods["shrimp"], goods["wang"], 1000, days=90),
        "paste": receive(clerk, goods["paste"], goods["wang"], 10, days=90),
    }


@pytest.fixture
def sold(goods, shelf, clerk) -> int:
    """A till sale of 500 g of shrimp (¥68.00) and 2 jars of paste (¥36.00)."""
    body = {
        "idempotency_key": "confirm-0001",
        "payment_method": "cash",
        "lines": [{"product_id": goods["shrimp"], "quantity": 500}, {"product_id": goods["paste"], "quantity": 2}],
    }
    response = clerk.post("/api/counter/sales", json=body)
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def count(app, model) -> int:
    with app.app_context():
        return db.session.query(model).count()


def question(page: str) -> str:
    return html_lib.unescape(re.search(r'<p class="confirm-question" data-question>(.*?)</p>', page, re.S)[1])


def hidden_fields(page: str) -> dict:
    """The fields of the confirming form, as the browser would send them."""
    form = re.search(r'<div class="confirm-step".*?<form[^>]*>(.*?)</form>', page, re.S)[1]
    return {html_lib.unescape(n): html_lib.unescape(v) for n, v in re.findall(r'name="([^"]+)" value="([^"]*)"', form)}


def refund_fields(clerk, sale, **typed) -> dict:
    page = text(clerk, f"/admin/counter/sales/{sale['id']}")
    key = re.search(r'name="key" type="hidden" value="([^"]+)"', page)[1]
    return {"key": key, "restock": "yes", "note": "", **typed}


def test_a_refund_asks_first_with_the_amount_and_the_goods_and_records_nothing(app, sold, clerk):
    shrimp, paste = (line["id"] for line in sold["lines"])
    typed = {f"qty-{shrimp}": "0.5", f"unit-{shrimp}": "jin", f"qty-{paste}": "1"}
    response = post(clerk, f"/admin/counter/sales/{sold['id']}/refund", **refund_fields(clerk, sold, **typed))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert question(page) == "退款 ¥52.00 给顾客，虾干 250 克（0.5 斤）、虾酱 1 件 退回库存？"
    assert count(app, Refund) == 0
    # Confirming sends the same form again: one refund, of what was asked.
    fields = hidden_fields(page)
    assert fields["confirmed"] == "yes" and fields[f"qty-{shrimp}"] == "0.5"
    done = clerk.client.post(f"/admin/counter/sales/{sold['id']}/refund", data=fields)
    assert done.status_code == 302
    again = clerk.client.post(f"/admin/counter/sales/{sold['id']}/refund", data=fields)  # a double tap
    assert again.status_code == 302
    assert count(app, Refund) == 1
    assert clerk.get(f"/api/counter/sales/{sold['id']}").get_json()["refunded_fen"] == 5200


def test_a_refund_written_off_says_so_and_a_refused_one_asks_nothing(app, sold, clerk):
    shrimp, _paste = (line["id"] for line in sold["lines"])
    fields = refund_fields(clerk, sold, **{f"qty-{shrimp}": "100", f"unit-{shrimp}": "g", "restock": "no"})
    page = post(clerk, f"/admin/counter/sales/{sold['id']}/refund", **fields).get_data(as_text=True)
    assert question(page) == "退款 ¥13.60 给顾客，虾干 100 克（0.2 斤） 作破损报损？"
    too_much = refund_fields(clerk, sold, **{f"qty-{shrimp}": "2", f"unit-{shrimp}": "jin"})
    response = post(clerk, f"/admin/counter/sales/{sold['id']}/refund", **too_much)
    assert response.status_code == 409
    assert "confirm-step" not in response.get_data(as_text=True)
    assert count(app, Refund) == 0


def test_a_write_off_asks_first_saying_how_much_and_why(app, shelf, clerk):
    fields = {"write_off-quantity": "1", "write_off-unit": "jin", "write_off-reason": "spoiled", "write_off-note": ""}
    response = post(clerk, f"/admin/stock/lots/{shelf['shrimp']}/write-off", **fields)
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert re.fullmatch(r"报损 虾干 500 克（1 斤）（批次 \S+，变质）？货品将永久下架。", question(page)), question(page)
    with app.app_context():
        assert db.session.query(StockMovement).filter_by(kind="write_off").count() == 0
    done = clerk.client.post(f"/admin/stock/lots/{shelf['shrimp']}/write-off", data=hidden_fields(page))
    assert done.status_code == 302
    with app.app_context():
        assert db.session.query(StockMovement).filter_by(kind="write_off").count() == 1


def test_taking_a_pickups_money_asks_with_the_amount(app, goods, shelf, clerk):
    order = place(app, goods)
    page = text(clerk, "/admin/orders/collect")
    asked = re.search(rf'action="/admin/orders/{order}/collect"[^>]*data-confirm="([^"]+)"', page, re.S)
    assert asked, page
    assert html_lib.unescape(asked[1]).startswith("收款 ¥104.00（订单 ")
    assert "虾干 500 克（1 斤）、虾酱 2 件 交给顾客？" in html_lib.unescape(asked[1])
    assert '<script src="/static/js/confirm.js' in page
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page)  # no inline script


def test_cancelling_an_order_says_its_amount_and_an_order_refund_asks_first(app, goods, shelf, clerk):
    order = place(app, goods)
    page = text(clerk, f"/admin/orders/{order}")
    assert "顾客尚未支付 ¥104.00；虾干 500 克（1 斤）、虾酱 2 件 将重新上架销售。" in page
    paid = place(app, goods, shrimp=250, paste=1)
    collect(clerk, paid)
    shrimp, _paste = sale_line_ids(app, paid)
    response = post(clerk, f"/admin/orders/{paid}/refund", restock="yes", **{f"qty-{shrimp}": "250"})
    assert response.status_code == 200
    assert question(response.get_data(as_text=True)).startswith("退款 ¥34.00 给顾客，虾干 250 克（0.5 斤）")
