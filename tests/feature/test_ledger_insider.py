"""An insider who controls the database rewrites the ledger and recomputes the chain: verify still finds it.

Each test drops the triggers, edits rows, recomputes every hash with the project's own function and puts
the triggers back, so the hash chain alone checks out. What catches the edit is what the rows must agree
on beyond the chain: a draw with its lot, a sale line with its draws, a review with its month.
"""

import re

import pytest
import sqlalchemy as sa

from shop.clock import business_today
from shop.extensions import db
from shop.ledger import guard
from shop.ledger.chain import entry_hash
from shop.models import Draw, Household, LedgerEntry, MonthReview, ReviewOutcome, SaleLine
from shop.money import share_of
from shop.oversight import adjustments, reviews, statement_pdf, statements
from shop.oversight.monitoring import add_months, month_start

from . import test_ledger, test_ledger_payouts
from .test_ledger import verify

#: 王's shrimp on consignment at 90 % (500 g sold, 100 g refunded), 符's paste bought outright for ¥120.00.
sold = test_ledger.sold
user = test_ledger_payouts.user
pay = test_ledger_payouts.pay

MONTH = f"{business_today():%Y-%m}"
#: The month the manager's review overview weighs.
LAST = add_months(month_start(business_today()), -1)


def confirm(app, household_id: int, officer: str, month=None) -> int:
    """The household's officer confirms the month (this one unless said) as it stands."""
    with app.test_request_context():
        household = db.session.get(Household, household_id)
        seen = statements.month_statement(household, month or month_start(business_today()))
        return reviews.review_month(
            household_id=household_id,
            month=seen.month,
            outcome=ReviewOutcome.CONFIRMED,
            note="",
            seen_digest=seen.digest,
            by=user(officer),
        ).id


def insider(app, *statements_sql: str) -> None:
    """Edit rows with the triggers down, recompute the whole chain so every hash fits, and restore the triggers."""
    with app.app_context(), db.engine.begin() as conn:
        guard.remove(conn)
        for statement in statements_sql:
            conn.execute(sa.text(statement))
        table, prev = LedgerEntry.__table__, "0" * 64
        for row in conn.execute(sa.select(table).order_by(table.c.seq)).mappings().all():
            digest = entry_hash(prev, row)
            conn.execute(table.update().where(table.c.seq == row["seq"]).values(prev_hash=prev, hash=digest))
            prev = digest
        guard.install(conn)
    # The forger's work holds: the chain alone checks out.
    with app.app_context():
        from shop.ledger.chain import verify_chain

        assert (
            verify_chain(db.session.execute(sa.select(LedgerEntry.__table__).order_by(LedgerEntry.seq)).mappings())
            is None
        )


def only(app, query):
    with app.app_context():
        return db.session.execute(query).one()


def failed(app) -> str:
    result = verify(app)
    assert result.exit_code == 1, result.output
    return result.output


def english_page(staff, url: str) -> str:
    staff.client.get("/lang/en")
    response = staff.client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


# ---------------------------------------------------------------- an untouched world


@pytest.fixture
def busy(app, goods, sold, as_role):
    """The sold world, plus a payout, an approved correction and both months confirmed, then amended."""
    with app.test_request_context():
        pay(goods["wang"], 1000)
        proposed = adjustments.propose(
            household_id=goods["wang"],
            amount_fen=-300,
            entry_date=business_today(),
            reason="称重多算",
            by=user("officer"),
        )
        adjustments.decide(adjustment_id=proposed.id, approve=True, note="核实", by=user("admin"))
        # A correction for 符 on the first of last month, so the manager's overview has a month to weigh.
        earlier = adjustments.propose(
            household_id=goods["fu"], amount_fen=200, entry_date=LAST, reason="漏记一罐", by=user("officer2")
        )
        adjustments.decide(adjustment_id=earlier.id, approve=True, note="核实", by=user("admin"))
    confirm(app, goods["fu"], "officer2", LAST)
    with app.test_request_context():
        # Another, approved after the confirmation: the month is amended, so the manager's overview lists it.
        later = adjustments.propose(
            household_id=goods["fu"], amount_fen=100, entry_date=LAST, reason="又漏记一罐", by=user("officer2")
        )
        adjustments.decide(adjustment_id=later.id, approve=True, note="核实", by=user("admin"))
    confirm(app, goods["fu"], "officer2")
    confirm(app, goods["wang"], "officer")
    with app.test_request_context():
        pay(goods["wang"], 500)  # written after the confirmation: an amendment, not a change
    return goods


def test_an_untouched_world_verifies_clean_and_no_page_cries_wolf(app, busy, as_role):
    result = verify(app)
    assert result.exit_code == 0 and "Ledger intact: 8 entries." in result.output, result.output
    officer = as_role("officer")
    month = english_page(officer, f"/admin/review/households/{busy['wang']}/{MONTH}")
    assert 'data-review="confirmed"' in month and 'data-amendments="1"' in month
    assert 'data-changed="1"' not in month and "Changed since confirmed" not in month
    assert "Changed since confirmed" not in english_page(officer, f"/admin/households/{busy['wang']}")
    assert 'data-state="changed"' not in english_page(officer, "/admin/review/")
    overview = english_page(as_role("admin"), "/admin/review/")
    assert 'data-count="changed"' not in overview
    assert re.search(r'data-household="CT001">.*?data-state="amended"', overview, re.S)


# ---------------------------------------------------------------- reviews


def test_a_confirmed_month_rewritten_behind_the_officers_back_fails_verify_naming_the_review(app, busy, as_role):
    # 符's paste was bought for ¥120.00; the insider makes it ¥130.00, on the lot and on its credit (seq 1).
    insider(
        app,
        "UPDATE lot SET purchase_price_fen = 13000 WHERE purchase_price_fen = 12000",
        "UPDATE household_ledger SET amount_fen = 13000 WHERE seq = 1",
    )
    first = only(app, sa.select(sa.func.min(MonthReview.id)))[0]  # 符's last month, whose entry follows seq 1
    output = failed(app)
    assert f"review {first} of household CT001 (id {busy['fu']}) for {LAST:%Y-%m}" in output
    assert "changed since" in output

    # The officer's month page says it in words, not only in colour (Chinese first), and offers the confirmation again.
    officer2 = as_role("officer2")
    assert "确认后已被改动" in officer2.client.get(f"/admin/review/households/{busy['fu']}/{MONTH}").get_data(
        as_text=True
    )
    month = english_page(officer2, f"/admin/review/households/{busy['fu']}/{MONTH}")
    assert 'data-changed="1"' in month and "Changed since confirmed" in month
    assert "The entries confirmed here have been changed since" in month
    assert 'data-confirmed="1"' not in month and "rv-confirm-button" in month
    assert re.search(r'data-review-id="\d+">\s*<p><span class="rv-state rv-changed" data-state="changed">', month)
    household = english_page(officer2, f"/admin/households/{busy['fu']}")
    assert 'data-changed="1"' in household and "Changed since confirmed" in household
    todo = english_page(officer2, "/admin/review/")
    assert f'data-month="{MONTH}"' in todo and 'data-state="changed"' in todo
    # The manager's overview lists it (amended, so among the months still to settle) as changed, and counts it.
    overview = english_page(as_role("admin"), "/admin/review/")
    assert re.search(r'data-count="changed"[^>]*>.*?<dd>1</dd>', overview, re.S)
    assert re.search(r'data-household="CT001">.*?data-state="changed"', overview, re.S)
    # The public check of the statement says so too.
    with app.app_context():
        digest = statements.month_statement(db.session.get(Household, busy["fu"]), month_start(business_today())).digest
    public = english_page(as_role("admin"), f"/verify/statement/{busy['fu']}/{MONTH}/{digest}")
    assert 'data-changed="1"' in public and "Changed since confirmed" in public
    # A chain rewritten before 王's confirmed month changes its entries' hashes too: it shows as changed.
    assert 'data-changed="1"' in english_page(as_role("officer"), f"/admin/review/households/{busy['wang']}/{MONTH}")


def test_the_printed_statement_and_the_evidence_file_say_changed_since_confirmed(app, busy):
    from shop.worklog import evidence

    insider(
        app,
        "UPDATE household_ledger SET amount_fen = 13000 WHERE seq = 1",
        "UPDATE lot SET purchase_price_fen = 13000 WHERE purchase_price_fen = 12000",
    )
    with app.test_request_context():
        household = db.session.get(Household, busy["fu"])
        statement = statements.month_statement(household, month_start(business_today()))
        assert statement.changed_since_confirmed
        printed = statement_pdf.review_text(
            statement.review, len(statement.amendments), statement.changed_since_confirmed
        )
        assert printed.startswith("【确认后已被改动】")
        assert any(
            "确认后已被改动" in cell
            for row in evidence._statements(household, business_today()).table.rows
            for cell in row
        )
        assert any("确认后已被改动" in cell for row in evidence._reviews(household).table.rows for cell in row)


def test_the_issues_own_probe_raising_a_credit_and_its_draws_credit_fails_naming_the_draw(app, busy):
    draw_id, line_id = only(app, sa.select(Draw.id, Draw.sale_line_id).where(Draw.credit_fen > 0))
    insider(
        app,
        f"UPDATE draw SET credit_fen = credit_fen + 500 WHERE id = {draw_id}",
        f"UPDATE household_ledger SET amount_fen = amount_fen + 500 WHERE draw_id = {draw_id}",
    )
    output = failed(app)
    assert f"draw {draw_id} (lot" in output and f"sale line {line_id}" in output and "where its share of" in output


# ---------------------------------------------------------------- draws


def test_a_draws_income_moved_to_another_household_fails_naming_the_draw(app, busy):
    draw_id, lot_id = only(app, sa.select(Draw.id, Draw.lot_id).where(Draw.credit_fen > 0))
    fu = busy["fu"]
    # The credit, its refund's reversal and their entries all move to 符: every amount still agrees.
    insider(
        app,
        f"UPDATE draw SET household_id = {fu} WHERE id = {draw_id}",
        f"UPDATE draw_reversal SET household_id = {fu} WHERE draw_id = {draw_id}",
        f"UPDATE household_ledger SET household_id = {fu} WHERE draw_id = {draw_id}"
        f" OR draw_reversal_id IN (SELECT id FROM draw_reversal WHERE draw_id = {draw_id})",
    )
    output = failed(app)
    assert f"draw {draw_id} (lot {lot_id}" in output and f"credits household {fu}, but lot {lot_id}" in output


def test_a_draw_given_a_better_share_than_its_lots_fails_naming_the_draw(app, busy):
    draw_id, amount = only(app, sa.select(Draw.id, Draw.amount_fen).where(Draw.credit_fen > 0))
    insider(
        app,
        f"UPDATE draw SET share_bp = 10000, credit_fen = {amount} WHERE id = {draw_id}",
        f"UPDATE household_ledger SET amount_fen = {amount} WHERE draw_id = {draw_id}",
    )
    assert f"draw {draw_id} (lot" in (output := failed(app)) and "terms" in output


# ---------------------------------------------------------------- sale lines


def test_a_draws_amount_raised_with_its_credit_and_entry_kept_in_step_fails_naming_the_line(app, busy):
    draw_id, line_id, amount = only(
        app, sa.select(Draw.id, Draw.sale_line_id, Draw.amount_fen).where(Draw.credit_fen > 0)
    )
    credit = share_of(amount + 1000, 9000)
    insider(
        app,
        f"UPDATE draw SET amount_fen = {amount + 1000}, credit_fen = {credit} WHERE id = {draw_id}",
        f"UPDATE household_ledger SET amount_fen = {credit} WHERE draw_id = {draw_id}",
    )
    output = failed(app)
    assert f"sale line {line_id} (sale" in output and "split" in output


def test_a_line_its_draw_and_the_sale_all_raised_together_fail_naming_the_line(app, busy):
    draw_id, line_id, amount = only(
        app, sa.select(Draw.id, Draw.sale_line_id, Draw.amount_fen).where(Draw.credit_fen > 0)
    )
    credit = share_of(amount + 1000, 9000)
    insider(
        app,
        f"UPDATE sale_line SET amount_fen = amount_fen + 1000 WHERE id = {line_id}",
        f"UPDATE sale SET total_fen = total_fen + 1000 WHERE id = (SELECT sale_id FROM sale_line WHERE id = {line_id})",
        f"UPDATE draw SET amount_fen = {amount + 1000}, credit_fen = {credit} WHERE id = {draw_id}",
        f"UPDATE household_ledger SET amount_fen = {credit} WHERE draw_id = {draw_id}",
    )
    output = failed(app)
    assert f"sale line {line_id} (sale" in output and "not its quantity at its price" in output


def test_verify_reads_lines_draws_and_reviews_a_chunk_at_a_time(app, busy, monkeypatch):
    from shop.ledger import entries

    monkeypatch.setattr(entries, "VERIFY_CHUNK", 1)
    assert verify(app).exit_code == 0
    line_id = only(app, sa.select(sa.func.max(SaleLine.id)))[0]
    insider(app, f"UPDATE sale_line SET quantity = quantity + 1 WHERE id = {line_id}")
    assert f"sale line {line_id}" in failed(app)
