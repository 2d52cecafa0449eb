"""Every quantity staff read in a message carries its unit, as the till shows it: 斤 and 克, or 件."""

import re
import uuid

import pytest

from tests.factories import receive, sale


def zh(api):
    """The client reads the counter in Chinese."""
    api.client.set_cookie("lang", "zh_CN")
    return api


def message(response) -> str:
    return response.get_json()["error"]["message"]


def bare_number(text: str) -> bool:
    """Whether a number in the text stands without a unit (a lot code's digits do not count)."""
    return bool(re.search(r"(?<![\w.-])\d+(?:\.\d+)?(?!\s*(?:克|斤|件|g\b|jin\b|pcs\b))(?![\w.])", text))


@pytest.fixture
def shelf(app, goods, as_role):
    """4125 g of shrimp and 3 jars of paste at the first counter."""
    clerk = zh(as_role("clerk"))
    return {
        "clerk": clerk,
        "shrimp": receive(clerk, goods["shrimp"], goods["wang"], 4125),
        "paste": receive(clerk, goods["paste"], goods["wang"], 3),
    }


def test_the_unit_check_finds_bare_numbers():
    assert bare_number("虾干 只剩 4125。")
    assert not bare_number("虾干 只剩 4125 克（8.25 斤）。")
    assert not bare_number("批次 L-20261203-0001 只有 3 件。")


def test_selling_more_than_the_shelf_holds_says_what_is_left_in_jin(app, goods, shelf):
    body = sale(goods, lines=[{"product_id": goods["shrimp"], "quantity": 5000}])
    response = shelf["clerk"].post("/api/counter/sales", json=body)
    assert response.status_code == 409
    assert message(response) == "虾干 只剩 4125 克（8.25 斤）。"
    assert response.get_json()["error"]["fields"]


def test_selling_more_jars_than_there_are_says_pieces(app, goods, shelf):
    body = sale(goods, lines=[{"product_id": goods["paste"], "quantity": 5}])
    response = shelf["clerk"].post("/api/counter/sales", json=body)
    assert response.status_code == 409
    assert "3 件" in message(response) and not bare_number(message(response))


def test_refunding_more_than_is_left_says_the_units(app, goods, shelf):
    clerk = shelf["clerk"]
    body = sale(goods, lines=[{"product_id": goods["shrimp"], "quantity": 750}])
    sold = clerk.post("/api/counter/sales", json=body).get_json()
    line_id = sold["lines"][0]["id"]
    refund = {"idempotency_key": uuid.uuid4().hex, "lines": [{"line_id": line_id, "quantity": 800}], "restock": True}
    response = clerk.post(f"/api/counter/sales/{sold['id']}/refunds", json=refund)
    assert response.status_code == 409
    assert message(response) == "这一行只剩 750 克（1.5 斤） 可退。"


def test_the_refund_page_says_the_units_too(app, goods, shelf):
    clerk = shelf["clerk"]
    sold = clerk.post("/api/counter/sales", json=sale(goods, lines=[{"product_id": goods["shrimp"], "quantity": 750}]))
    sold = sold.get_json()
    line_id = sold["lines"][0]["id"]
    form = {"csrf_token": clerk.refresh_token(), "restock": "yes", f"qty-{line_id}": "2", f"unit-{line_id}": "jin"}
    response = clerk.client.post(f"/admin/counter/sales/{sold['id']}/refund", data=form)
    assert response.status_code == 409
    assert "这一行只剩 750 克（1.5 斤） 可退。" in response.get_data(as_text=True)


def test_an_absurd_lot_says_its_bounds_in_the_products_units(app, goods, shelf):
    for product, unit_words in (("shrimp", ("1 克", "10000000 克（20000 斤）")), ("paste", ("1 件", "10000000 件"))):
        form = {
            "csrf_token": shelf["clerk"].refresh_token(),
            "product": goods[product],
            "household": goods["wang"],
            "quantity": "10000001",
            "unit": "g" if product == "shrimp" else "piece",
            "best_before": "2027-01-01",
            "mode": "consignment",
            "share": "90",
        }
        page = shelf["clerk"].client.post("/admin/stock/receive", data=form)
        assert page.status_code == 422
        text = page.get_data(as_text=True)
        assert all(words in text for words in unit_words), text[:200]


def test_writing_off_more_than_a_lot_holds_says_what_it_holds(app, goods, shelf):
    clerk = shelf["clerk"]
    form = {
        "csrf_token": clerk.refresh_token(),
        "write_off-quantity": "9",
        "write_off-unit": "jin",
        "write_off-reason": "spoiled",
    }
    page = clerk.client.post(f"/admin/stock/lots/{shelf['shrimp']}/write-off", data=form)
    assert page.status_code == 409
    assert "只有 4125 克（8.25 斤）" in page.get_data(as_text=True)


def test_a_stocktake_beyond_what_was_received_says_the_units(app, goods, shelf):
    clerk = shelf["clerk"]
    response = clerk.post("/api/stocktakes", json={"counts": [{"lot_id": shelf["paste"], "counted": 7}], "note": ""})
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["message"].endswith("0 到 3 件 之间。")


def test_a_label_pack_too_large_says_the_units(app, goods, shelf):
    page = shelf["clerk"].client.get(f"/admin/stock/lots/{shelf['shrimp']}/labels.pdf?pack=99999&copies=1")
    assert page.status_code == 422
    assert "4125 克（8.25 斤）" in page.get_data(as_text=True)


def unit_options(page: str) -> list[str]:
    select = re.search(r'<select[^>]*id="unit"[^>]*>(.*?)</select>', page, re.S)[1]
    return re.findall(r'<option[^>]*value="(\w+)"', select)


def test_the_receive_forms_unit_follows_the_product(app, goods, shelf):
    client = shelf["clerk"].client
    assert unit_options(client.get(f"/admin/stock/receive?product_id={goods['paste']}").get_data(as_text=True)) == [
        "piece"
    ]
    page = client.get(f"/admin/stock/receive?product_id={goods['shrimp']}").get_data(as_text=True)
    assert unit_options(page) == ["jin", "g"]
    # Each product says its unit, for the script that follows a new choice.
    assert re.search(
        rf'<option[^>]*data-unit="piece"[^>]*value="{goods["paste"]}"|<option[^>]*value="{goods["paste"]}"[^>]*data-unit="piece"',
        page,
    )
    assert "/static/js/receive-units.js" in page
    # A form sent back (Find) offers the units of the product it names.
    form = {"csrf_token": shelf["clerk"].refresh_token(), "product": goods["paste"], "action": "find"}
    assert unit_options(client.post("/admin/stock/receive", data=form).get_data(as_text=True)) == ["piece"]


def test_the_refund_form_weighs_in_jin_first_as_the_till_does(app, goods, shelf):
    clerk = shelf["clerk"]
    sold = clerk.post("/api/counter/sales", json=sale(goods, lines=[{"product_id": goods["shrimp"], "quantity": 750}]))
    sold = sold.get_json()
    line_id = sold["lines"][0]["id"]
    page = clerk.client.get(f"/admin/counter/sales/{sold['id']}").get_data(as_text=True)
    select = re.search(rf'<select name="unit-{line_id}"[^>]*>(.*?)</select>', page, re.S)[1]
    assert re.search(r'<option value="jin" selected>', select)
    # 1 斤 typed into the form as it comes refunds 500 g.
    form = {"csrf_token": clerk.refresh_token(), "restock": "yes", f"qty-{line_id}": "1", f"unit-{line_id}": "jin"}
    form["confirmed"] = "yes"
    assert clerk.client.post(f"/admin/counter/sales/{sold['id']}/refund", data=form).status_code == 302
    page = clerk.client.get(f"/admin/counter/sales/{sold['id']}").get_data(as_text=True)
    assert "250 克（0.5 斤）" in page  # what is left to refund


def test_the_printed_receipt_gives_the_jin_beside_the_grams(app, goods, shelf):
    from io import BytesIO

    from pypdf import PdfReader

    clerk = shelf["clerk"]
    sold = clerk.post("/api/counter/sales", json=sale(goods, lines=[{"product_id": goods["shrimp"], "quantity": 750}]))
    receipt = clerk.client.get(f"/admin/counter/sales/{sold.get_json()['id']}/receipt.pdf")
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(receipt.data)).pages)
    assert "750 克（1.5 斤）" in text.replace("\n", "")
    page = clerk.client.get(f"/admin/counter/sales/{sold.get_json()['id']}").get_data(as_text=True)
    assert "750 克（1.5 斤）" in page
