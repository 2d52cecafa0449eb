"""The staff stock pages: receiving through the form, a lot's page, write-offs, returns, stocktakes and print-outs."""

from datetime import timedelta
from io import BytesIO

import pytest
import sqlalchemy as sa
from pypdf import PdfReader

from shop.clock import business_today
from shop.extensions import db
from shop.models import Counter, Lot, SettlementMode, StockMovement, User
from tests.probes import movements_explain_stock, on_hand


def in_days(days: int) -> str:
    return (business_today() + timedelta(days=days)).isoformat()


def send(staff, url: str, **fields):
    """Post a page's form as the browser would, with the session's CSRF token."""
    return staff.client.post(url, data={"csrf_token": staff.token, **fields})


def page(staff, url: str, status: int = 200) -> str:
    response = staff.client.get(url)
    assert response.status_code == status
    return response.get_data(as_text=True)


def delivery(goods, **changes) -> dict:
    """The receiving form filled in for 1.5 斤 of shrimp from the 王 household, on consignment."""
    return {
        "product": goods["shrimp"],
        "household": goods["wang"],
        "quantity": "1.5",
        "unit": "jin",
        "best_before": in_days(180),
        "mode": "consignment",
        "share": "90",
        "price": "",
        **changes,
    }


def lots(app) -> list[Lot]:
    with app.app_context():
        found = db.session.scalars(sa.select(Lot).order_by(Lot.id)).all()
        db.session.expunge_all()
        return list(found)


def movements(app, lot_id: int) -> list[tuple[str, int, str | None, str, int | None]]:
    """A lot's movements as (kind, delta, reason, note, counted), oldest first."""
    with app.app_context():
        rows = db.session.scalars(
            sa.select(StockMovement).where(StockMovement.lot_id == lot_id).order_by(StockMovement.id)
        )
        return [(m.kind.value, m.qty_delta, m.reason.value if m.reason else None, m.note, m.counted_qty) for m in rows]


def receive(staff, goods, **changes) -> int:
    """Receive a lot through the form and return its id."""
    response = send(staff, "/admin/stock/receive", **delivery(goods, **changes))
    assert response.status_code == 302, response.get_data(as_text=True)
    return int(response.headers["Location"].split("/lots/")[1].split("?")[0])


@pytest.fixture
def shrimp(goods, clerk):
    """3,000 g of shrimp from the 王 household on consignment at 90 %, best before in half a year."""
    return receive(clerk, goods, quantity="3000", unit="g")


@pytest.fixture
def paste(goods, clerk):
    """Ten jars of shrimp paste bought outright from the 符 household for ¥120.00."""
    return receive(
        clerk,
        goods,
        product=goods["paste"],
        household=goods["fu"],
        quantity="10",
        unit="piece",
        mode="purchase",
        price="120",
    )


# Receiving.


def test_a_clerk_receives_one_and_a_half_jin_as_exactly_750_grams(app, goods, clerk):
    response = send(clerk, "/admin/stock/receive", **delivery(goods))
    assert response.status_code == 302
    [lot] = lots(app)
    assert response.headers["Location"] == f"/admin/stock/lots/{lot.id}?received=1"
    assert (lot.qty_received, lot.qty_on_hand, lot.mode, lot.share_bp) == (750, 750, SettlementMode.CONSIGNMENT, 9000)
    assert movements(app, lot.id) == [("receipt", 750, None, "", None)]
    landing = page(clerk, response.headers["Location"])
    assert lot.code in landing and f"/admin/stock/lots/{lot.id}/slip.pdf" in landing
    assert "callout" in landing  # the prominent print-the-slip panel
    assert f"{lot.code}" in landing and "1.5 斤" in landing  # the flash names what was received


def test_grams_and_full_width_digits_are_read_exactly(app, goods, clerk):
    receive(clerk, goods, quantity="７５０", unit="g")
    receive(clerk, goods, quantity="0.002", unit="jin")
    assert [lot.qty_received for lot in lots(app)] == [750, 1]


def test_a_purchase_keeps_the_whole_lot_price_typed_in_yuan(app, goods, clerk):
    lot_id = receive(clerk, goods, mode="purchase", price="¥150.5")
    [lot] = lots(app)
    assert (lot.id, lot.mode, lot.purchase_price_fen, lot.share_bp) == (lot_id, SettlementMode.PURCHASE, 15050, None)


def test_a_share_typed_as_a_percentage_is_kept_in_basis_points(app, goods, clerk):
    receive(clerk, goods, share="87.5")
    receive(clerk, goods, share="")  # left empty: the configured default
    assert [lot.share_bp for lot in lots(app)] == [8750, 9000]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"quantity": "-1"}, "数量必须大于零"),
        ({"quantity": "0"}, "数量必须大于零"),
        ({"quantity": "1.2345"}, "不是整克数"),
        ({"quantity": "750.5", "unit": "g"}, "请填写整克数"),
        ({"quantity": "three"}, "请以数字填写数量"),
        ({"quantity": ""}, "请填写数量"),
        ({"unit": "piece"}, "按重量卖"),
        ({"household": ""}, "请选择交货的农户"),
        ({"product": ""}, "请选择商品"),
        ({"best_before": in_days(-1)}, "这批货已过保质期"),
        ({"best_before": ""}, "请填写保质期"),
        ({"mode": "purchase", "price": ""}, "整批约定价款"),
        ({"mode": "purchase", "price": "1.234"}, "以元填写价格"),
        ({"price": "100"}, "代销批次按分成结算"),  # a price beside 代销 is refused, not dropped
        ({"share": "101"}, "应在 0 到 100 之间"),
        ({"share": "ninety"}, "百分比"),
        ({"household": "999999"}, "不是有效的选择"),  # WTForms' own message, in Chinese
    ],
)
def test_a_bad_delivery_is_shown_again_with_the_error_and_nothing_is_received(app, goods, clerk, changes, message):
    response = send(clerk, "/admin/stock/receive", **delivery(goods, **changes))
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html and 'class="field-error"' in html
    assert lots(app) == []


def test_pieces_are_counted_not_weighed(app, goods, clerk):
    response = send(clerk, "/admin/stock/receive", **delivery(goods, product=goods["paste"], quantity="2", unit="jin"))
    assert response.status_code == 422
    assert "按件计" in response.get_data(as_text=True)
    receive(clerk, goods, product=goods["paste"], quantity="2", unit="piece")
    assert [lot.qty_received for lot in lots(app)] == [2]


def test_the_form_lists_no_household_until_one_is_searched_for(goods, clerk):
    # The search and the choices it offers are tested in test_household_picker.
    html = page(clerk, "/admin/stock/receive")
    assert "DB001" not in html and "CT001" not in html
    assert "王亦明" not in html and "符海成" not in html
    assert 'name="household_search"' in html
    assert 'name="counter"' not in html  # a clerk receives at their own counter only


def test_a_clerk_cannot_send_goods_to_another_counter(app, goods, clerk):
    with app.app_context():
        other = db.session.scalar(sa.select(Counter.id).where(Counter.code == "BL-01"))
    receive(clerk, goods, counter=str(other))
    with app.app_context():
        assert db.session.scalars(sa.select(Lot)).one().counter.code == "LC-JN"


def test_the_manager_chooses_the_counter(app, goods, as_role):
    admin = as_role("admin")
    with app.app_context():
        other = db.session.scalar(sa.select(Counter.id).where(Counter.code == "BL-01"))
    assert 'name="counter"' in page(admin, "/admin/stock/receive")
    receive(admin, goods, counter=str(other))
    assert lots(app)[0].counter_id == other


# The shelf.


def test_the_stock_page_shows_each_product_with_its_lots(app, goods, clerk, shrimp, paste):
    html = page(clerk, "/admin/stock/")
    for lot in lots(app):
        assert lot.code in html and f"/admin/stock/lots/{lot.id}" in html
    assert "虾干" in html and "6 斤" in html  # 3,000 g on hand
    assert "10 件" in html
    assert "王** · 大波村" in html and "王亦明" not in html
    assert "/admin/stock/receive" in html and "/admin/stock/stocktake" in html


def test_lots_near_their_best_before_date_are_tagged(app, goods, clerk):
    receive(clerk, goods, best_before=in_days(10))
    receive(clerk, goods, best_before=in_days(200))
    html = page(clerk, "/admin/stock/")
    assert html.count('class="tag near"') == 2  # the lot, and the summary "1 批临期"
    assert "1 批临期" in html


class TestAShorterNearExpiryWindow:
    @pytest.fixture
    def config_overrides(self):
        return {"NEAR_EXPIRY_DAYS": 5}

    def test_is_read_from_the_configuration(self, goods, clerk):
        receive(clerk, goods, best_before=in_days(10))
        assert 'class="tag near"' not in page(clerk, "/admin/stock/")


def test_an_expired_lot_is_tagged_expired(app, goods, clerk, shrimp):
    with app.app_context():
        db.session.get(Lot, shrimp).best_before = business_today() - timedelta(days=1)
        db.session.commit()
    html = page(clerk, "/admin/stock/")
    assert "lot-card expired" in html and "已过期" in html
    assert "今日可售 <strong>0 斤</strong>" in html


def test_finished_lots_are_hidden_until_asked_for(app, goods, clerk, shrimp):
    send(
        clerk,
        f"/admin/stock/lots/{shrimp}/write-off",
        **{"write_off-quantity": "6", "write_off-unit": "jin", "write_off-reason": "spoiled", "confirmed": "yes"},
    )
    assert on_hand(app, shrimp) == 0
    link = f'href="/admin/stock/lots/{shrimp}"'
    assert link not in page(clerk, "/admin/stock/")
    assert link in page(clerk, "/admin/stock/?all=1")


# A lot's page: write-offs and returns.


def write_off(staff, lot_id, quantity, unit="g", reason="damaged", note=""):
    return send(
        staff,
        f"/admin/stock/lots/{lot_id}/write-off",
        **{
            "write_off-quantity": quantity,
            "write_off-unit": unit,
            "write_off-reason": reason,
            "write_off-note": note,
            "confirmed": "yes",  # the question asked first is tested in test_confirmations.py
        },
    )


def give_back(staff, lot_id, quantity, unit="g", note=""):
    return send(
        staff,
        f"/admin/stock/lots/{lot_id}/return",
        **{
            "return-quantity": quantity,
            "return-unit": unit,
            "return-note": note,
        },
    )


def test_the_lot_page_shows_the_lot_and_its_history(app, goods, clerk, shrimp):
    write_off(clerk, shrimp, "100", note="包装破了")
    html = page(clerk, f"/admin/stock/lots/{shrimp}")
    assert "P0" in html and "DB001 · 王**" in html and "王亦明" not in html
    assert "代销，农户分成 90%" in html
    assert "收货" in html and "报损" in html and "破损" in html and "包装破了" in html
    assert f"/admin/stock/lots/{shrimp}/labels.pdf" in html


def test_a_write_off_in_jin_takes_exact_grams_off_and_records_why(app, goods, clerk, shrimp):
    response = write_off(clerk, shrimp, "0.5", unit="jin", reason="spoiled", note="受潮")
    assert response.status_code == 302 and response.headers["Location"] == f"/admin/stock/lots/{shrimp}"
    assert on_hand(app, shrimp) == 2750
    assert movements(app, shrimp)[-1] == ("write_off", -250, "spoiled", "受潮", None)
    assert movements_explain_stock(app)


def test_writing_off_more_than_is_on_hand_is_refused_and_changes_nothing(app, goods, clerk, shrimp):
    response = write_off(clerk, shrimp, "3001")
    assert response.status_code == 409
    assert "只有 3000 克（6 斤）" in response.get_data(as_text=True)
    assert on_hand(app, shrimp) == 3000
    assert len(movements(app, shrimp)) == 1


@pytest.mark.parametrize("quantity", ["", "-5", "1.5", "0"])
def test_a_bad_write_off_quantity_is_422(app, goods, clerk, shrimp, quantity):
    assert write_off(clerk, shrimp, quantity).status_code == 422
    assert on_hand(app, shrimp) == 3000


def test_a_write_off_needs_a_known_reason(app, goods, clerk, shrimp):
    assert write_off(clerk, shrimp, "100", reason="lost").status_code == 422
    assert on_hand(app, shrimp) == 3000


def test_consignment_goods_go_back_to_their_household(app, goods, clerk, shrimp):
    response = give_back(clerk, shrimp, "2", unit="jin", note="农户取回")
    assert response.status_code == 302
    assert on_hand(app, shrimp) == 2000
    assert movements(app, shrimp)[-1] == ("return", -1000, None, "农户取回", None)
    assert movements_explain_stock(app)


def test_returning_more_than_is_on_hand_is_refused(app, goods, clerk, shrimp):
    assert give_back(clerk, shrimp, "7", unit="jin").status_code == 409
    assert on_hand(app, shrimp) == 3000


def test_a_purchased_lot_cannot_be_returned(app, goods, clerk, paste):
    assert 'id="return"' not in page(clerk, f"/admin/stock/lots/{paste}")
    response = give_back(clerk, paste, "1", unit="piece")
    assert response.status_code == 422
    assert "请改为报损" in response.get_data(as_text=True)
    assert on_hand(app, paste) == 10
    assert len(movements(app, paste)) == 1


def test_a_clerk_cannot_open_or_change_another_counters_lot(app, goods, as_role, shrimp):
    clerk2 = as_role("clerk2")
    for url in ("", "/slip.pdf", "/labels.pdf"):
        assert clerk2.client.get(f"/admin/stock/lots/{shrimp}{url}").status_code == 403
    assert write_off(clerk2, shrimp, "100").status_code == 403
    assert give_back(clerk2, shrimp, "100").status_code == 403
    assert on_hand(app, shrimp) == 3000
    assert page(as_role("admin"), f"/admin/stock/lots/{shrimp}")  # the manager sees every counter


def test_an_unknown_lot_is_404(goods, clerk):
    assert clerk.client.get("/admin/stock/lots/999999").status_code == 404
    assert clerk.client.get("/admin/stock/lots/999999/slip.pdf").status_code == 404


# Stocktake.


def test_a_stocktake_books_differences_and_records_matching_counts(app, goods, clerk, shrimp, paste):
    other = receive(clerk, goods, quantity="1000", unit="g")
    html = page(clerk, "/admin/stock/stocktake")
    assert all(f'name="count_{lot_id}"' in html for lot_id in (shrimp, paste, other))
    response = send(
        clerk,
        "/admin/stock/stocktake",
        **{
            f"count_{shrimp}": "5.5",
            f"unit_{shrimp}": "jin",
            f"expected_{shrimp}": "3000",
            f"count_{paste}": "10",
            f"unit_{paste}": "piece",
            f"expected_{paste}": "10",
            f"count_{other}": "",
            f"unit_{other}": "g",
            f"expected_{other}": "1000",
            "note": "月末盘点",
        },
    )
    assert response.status_code == 302 and response.headers["Location"] == "/admin/stock/"
    assert (on_hand(app, shrimp), on_hand(app, paste), on_hand(app, other)) == (2750, 10, 1000)
    assert movements(app, shrimp)[-1] == ("stocktake", -250, None, "月末盘点", 2750)
    assert movements(app, paste)[-1] == ("stocktake", 0, None, "月末盘点", 10)
    assert len(movements(app, other)) == 1  # left blank: not counted
    assert "共盘 2 个批次，记入差异 1 处" in page(clerk, "/admin/stock/")
    assert movements_explain_stock(app)


def test_a_lot_found_empty_is_counted_as_zero(app, goods, clerk, shrimp):
    send(
        clerk, "/admin/stock/stocktake", **{f"count_{shrimp}": "0", f"unit_{shrimp}": "g", f"expected_{shrimp}": "3000"}
    )
    assert on_hand(app, shrimp) == 0
    assert movements(app, shrimp)[-1] == ("stocktake", -3000, None, "", 0)


def test_a_stocktake_with_nothing_counted_records_nothing(app, goods, clerk, shrimp):
    response = send(clerk, "/admin/stock/stocktake", **{f"count_{shrimp}": "", f"expected_{shrimp}": "3000"})
    assert response.status_code == 422
    assert len(movements(app, shrimp)) == 1


@pytest.mark.parametrize(("count", "unit"), [("abc", "g"), ("1.2345", "jin"), ("-1", "g"), ("3001", "g")])
def test_a_bad_count_is_shown_again_and_nothing_is_booked(app, goods, clerk, shrimp, count, unit):
    response = send(
        clerk,
        "/admin/stock/stocktake",
        **{f"count_{shrimp}": count, f"unit_{shrimp}": unit, f"expected_{shrimp}": "3000"},
    )
    assert response.status_code == 422
    assert 'class="field-error"' in response.get_data(as_text=True)
    assert on_hand(app, shrimp) == 3000 and len(movements(app, shrimp)) == 1


def test_a_count_made_before_a_sale_is_not_booked_over_it(app, goods, clerk, shrimp):
    write_off(clerk, shrimp, "500")  # stands in for a sale made while the clerk was counting
    response = send(
        clerk,
        "/admin/stock/stocktake",
        **{f"count_{shrimp}": "3000", f"unit_{shrimp}": "g", f"expected_{shrimp}": "3000"},
    )
    assert response.status_code == 422
    assert "请重新盘点" in response.get_data(as_text=True)
    assert on_hand(app, shrimp) == 2500


# Print-outs.


def pdf_text(response) -> tuple[PdfReader, str]:
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("inline; filename=")
    reader = PdfReader(BytesIO(response.data))
    return reader, "".join("".join(p.extract_text().split()) for p in reader.pages)


def test_the_receiving_slip_is_a_pdf_naming_the_lot_household_and_terms(app, goods, clerk, shrimp):
    code = lots(app)[0].code
    _, text = pdf_text(clerk.client.get(f"/admin/stock/lots/{shrimp}/slip.pdf"))
    assert code in text and "虾干" in text and "DB001" in text and "大波村" in text
    assert "3000克（6斤）" in text and "代销：售出后农户得售价的90%" in text
    assert "王亦明" not in text


def test_the_slip_points_at_the_trace_page_on_the_address_it_was_printed_from(app, goods, clerk, shrimp):
    token = lots(app)[0].trace_token
    _, text = pdf_text(clerk.client.get(f"/admin/stock/lots/{shrimp}/slip.pdf"))
    assert f"http://localhost/trace/{token}" in text


@pytest.mark.parametrize("config_overrides", [{"PUBLIC_BASE_URL": "https://bangfu.example.cn/"}])
def test_with_a_public_address_the_slip_points_buyers_there(app, goods, clerk, shrimp):
    token = lots(app)[0].trace_token
    _, text = pdf_text(clerk.client.get(f"/admin/stock/lots/{shrimp}/slip.pdf"))
    assert f"https://bangfu.example.cn/trace/{token}" in text and "localhost" not in text


def test_the_slip_of_a_purchase_names_the_price(app, goods, clerk, paste):
    _, text = pdf_text(clerk.client.get(f"/admin/stock/lots/{paste}/slip.pdf"))
    assert "收购：整批价款¥120.00，收货时计入农户收入" in text and "10件" in text


def test_labels_come_one_a_page_priced_for_the_package(app, goods, clerk, shrimp):
    code = lots(app)[0].code
    reader, text = pdf_text(clerk.client.get(f"/admin/stock/lots/{shrimp}/labels.pdf?pack=250&copies=3"))
    assert len(reader.pages) == 3
    assert code in text and "虾干" in text and "净含量250克" in text and "¥34.00" in text


def test_labels_default_to_one_jin_or_one_piece(app, goods, clerk, shrimp, paste):
    reader, text = pdf_text(clerk.client.get(f"/admin/stock/lots/{shrimp}/labels.pdf"))
    assert len(reader.pages) == 1 and "净含量500克" in text and "¥68.00" in text
    _, text = pdf_text(clerk.client.get(f"/admin/stock/lots/{paste}/labels.pdf"))
    assert "数量1件" in text and "¥18.00" in text


@pytest.mark.parametrize(
    "query", ["copies=0", "copies=501", "copies=abc", "copies=2.5", "pack=0", "pack=3001", "pack=-250"]
)
def test_bad_label_settings_are_422(goods, clerk, shrimp, query):
    response = clerk.client.get(f"/admin/stock/lots/{shrimp}/labels.pdf?{query}")
    assert response.status_code == 422
    assert response.mimetype == "text/html"


# Who may come in.


STOCK_PAGES = ["/admin/stock/", "/admin/stock/receive", "/admin/stock/stocktake"]


@pytest.mark.parametrize("role", ["officer", "heshe", "county"])
def test_officers_and_supervisors_cannot_reach_stock_pages(app, goods, as_role, clerk, shrimp, role):
    other = as_role(role)
    for url in [*STOCK_PAGES, f"/admin/stock/lots/{shrimp}", f"/admin/stock/lots/{shrimp}/slip.pdf"]:
        assert other.client.get(url).status_code == 403, url
    assert write_off(other, shrimp, "100").status_code == 403
    assert on_hand(app, shrimp) == 3000


def test_strangers_are_sent_to_sign_in(goods, client, clerk, shrimp):
    for url in [*STOCK_PAGES, f"/admin/stock/lots/{shrimp}", f"/admin/stock/lots/{shrimp}/labels.pdf"]:
        response = client.get(url)
        assert response.status_code == 302 and response.headers["Location"].startswith("/login"), url


def test_the_manager_looks_at_another_counter_with_a_choice(app, goods, as_role, clerk, shrimp):
    admin = as_role("admin")
    with app.app_context():
        other = db.session.scalar(sa.select(Counter.id).where(Counter.code == "BL-01"))
        assert db.session.scalar(sa.select(User).where(User.username == "admin")).counter_id is None
    code = lots(app)[0].code
    assert code in page(admin, "/admin/stock/") and "波莲镇专柜" in page(admin, "/admin/stock/")
    assert code not in page(admin, f"/admin/stock/?counter={other}")
    assert "波莲镇专柜" not in page(clerk, "/admin/stock/")  # clerks see no counter choice
