"""What draws, sale lines and reviews must agree on: the pure comparisons verify asks."""

from datetime import date

import pytest

from shop.ledger.agreement import (
    draw_disagreement,
    last_day,
    line_disagreement,
    month_digest,
    review_disagreement,
)

LOT = {"household_id": 7, "mode": "consignment", "share_bp": 9000}


def draw(**changes):
    """A draw of ¥34.00 from lot 3, household 7's at 90 %: ¥30.60 credited."""
    return (
        {"id": 1, "lot_id": 3, "household_id": 7, "mode": "consignment", "share_bp": 9000}
        | {
            "quantity": 250,
            "amount_fen": 3400,
            "credit_fen": 3060,
        }
        | changes
    )


def test_a_draw_that_copied_its_lot_and_earns_its_share_agrees():
    assert draw_disagreement(draw(), LOT) is None


def test_a_purchased_lots_draw_earns_nothing_more():
    bought = {"household_id": 7, "mode": "purchase", "share_bp": None}
    assert draw_disagreement(draw(mode="purchase", share_bp=None, credit_fen=0), bought) is None
    assert "credits 100 fen" in draw_disagreement(draw(mode="purchase", share_bp=None, credit_fen=100), bought)


def test_a_draw_crediting_another_household_names_both():
    wrong = draw_disagreement(draw(household_id=8), LOT)
    assert "household 8" in wrong and "lot 3 is household 7's" in wrong


@pytest.mark.parametrize("changes", [{"share_bp": 10000, "credit_fen": 3400}, {"mode": "purchase"}])
def test_a_draw_on_other_terms_than_its_lot_disagrees(changes):
    assert "terms" in draw_disagreement(draw(**changes), LOT)


@pytest.mark.parametrize("credit", [3061, 3059, 0, 4060])
def test_a_credit_that_is_not_the_share_of_the_amount_disagrees(credit):
    assert "its share of 3400 fen is 3060 fen" in draw_disagreement(draw(credit_fen=credit), LOT)


def test_a_share_rounds_half_up_as_the_sale_did():
    # 90 % of 1 fen is 0.9 → 1; of 5 fen, 4.5 → 5.
    assert draw_disagreement(draw(amount_fen=1, credit_fen=1), LOT) is None
    assert draw_disagreement(draw(amount_fen=5, credit_fen=5), LOT) is None


LINE = {"quantity": 333, "price_fen": 6800, "price_per": 500, "amount_fen": 4529}


def parts(*pairs):
    return [{"quantity": q, "amount_fen": a} for q, a in pairs]


def test_a_line_split_over_its_draws_to_the_fen_agrees():
    # ¥68.00 per 500 g × 333 g = ¥45.288 → ¥45.29, split 200 : 133 by largest remainder.
    assert line_disagreement(LINE, parts((200, 2720), (133, 1809))) is None


def test_a_line_with_no_draws_disagrees():
    assert "nothing" in line_disagreement(LINE, [])


def test_a_line_amount_that_is_not_its_quantity_at_its_price_disagrees():
    assert "not its quantity at its price (4529 fen)" in line_disagreement(
        LINE | {"amount_fen": 5529}, parts((333, 5529))
    )


def test_draws_that_do_not_add_up_to_the_line_disagree():
    assert "not its amount split" in line_disagreement(LINE, parts((200, 3720), (133, 1809)))
    assert "take 330" in line_disagreement(LINE, parts((200, 2720), (130, 1809)))


def test_a_fen_moved_between_draws_disagrees_even_when_the_sum_holds():
    assert "not its amount split" in line_disagreement(LINE, parts((200, 2719), (133, 1810)))


def test_a_review_agrees_with_the_entries_it_saw_and_ignores_later_ones():
    month = date(2026, 10, 1)
    seen = [(3, "a" * 64), (9, "b" * 64)]
    review = {
        "household_id": 7,
        "month": month,
        "through_seq": 9,
        "digest": month_digest(7, month, ["a" * 64, "b" * 64]),
    }
    assert review_disagreement(review, seen) is None
    # An amendment written after the review (seq 12) is not a change to what the officer saw.
    assert review_disagreement(review, [*seen, (12, "c" * 64)]) is None


@pytest.mark.parametrize(
    "entries",
    [
        [(3, "a" * 64), (9, "d" * 64)],  # rewritten
        [(3, "a" * 64)],  # taken out of the month
        [(3, "a" * 64), (5, "e" * 64), (9, "b" * 64)],  # moved in
    ],
)
def test_a_review_whose_entries_were_rewritten_removed_or_moved_in_disagrees(entries):
    month = date(2026, 10, 1)
    review = {
        "household_id": 7,
        "month": month,
        "through_seq": 9,
        "digest": month_digest(7, month, ["a" * 64, "b" * 64]),
    }
    assert "changed since" in review_disagreement(review, entries)


def test_the_digest_is_the_statements_and_a_month_ends_on_its_last_day():
    from shop.oversight.statements import digest_of

    assert digest_of(7, date(2026, 2, 1), ["a" * 64]) == month_digest(7, date(2026, 2, 1), ["a" * 64])
    assert month_digest(7, date(2026, 2, 1), []) != month_digest(8, date(2026, 2, 1), [])
    assert [last_day(date(y, m, 1)) for y, m in ((2026, 2), (2028, 2), (2026, 12))] == [
        date(2026, 2, 28),
        date(2028, 2, 29),
        date(2026, 12, 31),
    ]
