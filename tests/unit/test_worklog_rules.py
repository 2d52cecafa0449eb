"""The work ledger's pure rules: typed dates against the server's day, lateness, the visit schedule, proposals."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shop.worklog.rules import (
    LATE_AFTER_DAYS,
    Cadence,
    DateRefused,
    ProposalStep,
    check_due_on,
    check_happened_on,
    is_late,
    next_visit_due,
    proposal_state,
    visit_every,
)

TODAY = date(2026, 12, 3)


def test_something_that_happened_cannot_have_happened_tomorrow():
    assert check_happened_on(TODAY, TODAY) == TODAY
    with pytest.raises(DateRefused) as refused:
        check_happened_on(TODAY + timedelta(days=1), TODAY)
    assert refused.value.reason == DateRefused.FUTURE


def test_a_date_before_the_century_is_a_typing_mistake():
    with pytest.raises(DateRefused) as refused:
        check_happened_on(date(1999, 12, 31), TODAY)
    assert refused.value.reason == DateRefused.TOO_OLD


def test_a_deadline_is_from_today_and_at_most_five_years_on():
    assert check_due_on(TODAY, TODAY) == TODAY
    with pytest.raises(DateRefused) as past:
        check_due_on(TODAY - timedelta(days=1), TODAY)
    with pytest.raises(DateRefused) as far:
        check_due_on(TODAY + timedelta(days=5 * 366 + 1), TODAY)
    assert (past.value.reason, far.value.reason) == (DateRefused.PAST, DateRefused.TOO_FAR)


@given(st.integers(min_value=0, max_value=400))
def test_a_record_is_late_exactly_when_received_more_than_seven_days_after(days):
    happened = date(2026, 1, 1)
    assert is_late(happened, happened + timedelta(days=days)) is (days > LATE_AFTER_DAYS)


def test_monitored_households_are_visited_monthly_and_quarterly_once_their_risk_is_gone():
    cadence = Cadence(monitored=30, risk_eliminated=90, tuopin=0)
    assert visit_every(cadence, "jiance", "identified") == 30
    assert visit_every(cadence, "jiance", "relapsed") == 30
    assert visit_every(cadence, "jiance", "risk_eliminated") == 90
    assert visit_every(cadence, "tuopin", None) == 0
    assert visit_every(Cadence(tuopin=180), "tuopin", None) == 180
    assert visit_every(cadence, "yiban", None) == 0


def test_the_next_visit_counts_from_the_last_visit_or_from_when_the_schedule_began():
    began = date(2026, 10, 1)
    assert next_visit_due(30, None, began) == date(2026, 10, 31)
    assert next_visit_due(30, date(2026, 11, 20), began) == date(2026, 12, 20)
    # A visit before the household's present standing does not start the new schedule.
    assert next_visit_due(90, date(2026, 9, 1), began) == date(2026, 12, 30)
    assert next_visit_due(0, date(2026, 11, 20), began) is None


def test_a_proposal_moves_from_the_town_to_the_county_and_ends_approved_or_returned():
    assert proposal_state([]) == "proposed"
    assert proposal_state([ProposalStep.TOWN_AGREED]) == "town_agreed"
    assert proposal_state([ProposalStep.TOWN_AGREED, ProposalStep.APPROVED]) == "approved"
    assert proposal_state([ProposalStep.RETURNED]) == "returned"
    assert proposal_state([ProposalStep.TOWN_AGREED, ProposalStep.RETURNED]) == "returned"
    # Nothing after an ending counts.
    assert proposal_state([ProposalStep.RETURNED, ProposalStep.APPROVED]) == "returned"
