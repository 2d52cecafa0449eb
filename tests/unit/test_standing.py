"""A household's standing changes only forward in time, and only in ways the monitoring rules allow."""

from datetime import date

import pytest

from shop.villages.standing import (
    HouseholdCategory,
    MonitoringStatus,
    MonitorSubtype,
    Standing,
    StandingRefused,
    changed_standing,
)

TODAY = date(2026, 12, 3)
MONITORED = Standing(HouseholdCategory.JIANCE, MonitorSubtype.MARGINAL, MonitoringStatus.IDENTIFIED)
ELIMINATED = Standing(HouseholdCategory.JIANCE, MonitorSubtype.MARGINAL, MonitoringStatus.RISK_ELIMINATED)


def change(current, category, subtype=None, status=None, *, on=TODAY, last=date(2026, 6, 1)):
    return changed_standing(current, category, subtype, status, effective_on=on, last_change_on=last, today=TODAY)


def refusal(*args, **kwargs) -> StandingRefused:
    with pytest.raises(StandingRefused) as refused:
        change(*args, **kwargs)
    return refused.value


def test_risk_eliminated_keeps_the_subtype():
    assert change(MONITORED, HouseholdCategory.JIANCE, status=MonitoringStatus.RISK_ELIMINATED) == ELIMINATED


def test_a_relapse_follows_an_elimination_only():
    relapsed = change(ELIMINATED, HouseholdCategory.JIANCE, status=MonitoringStatus.RELAPSED)
    assert relapsed.status is MonitoringStatus.RELAPSED
    assert refusal(MONITORED, HouseholdCategory.JIANCE, status=MonitoringStatus.RELAPSED).reason == (
        StandingRefused.RELAPSE_WITHOUT_ELIMINATION
    )


def test_a_household_newly_monitored_starts_identified():
    tuopin = Standing(HouseholdCategory.TUOPIN)
    new = change(tuopin, HouseholdCategory.JIANCE, MonitorSubtype.SUDDEN)
    assert new == Standing(HouseholdCategory.JIANCE, MonitorSubtype.SUDDEN, MonitoringStatus.IDENTIFIED)


def test_leaving_monitoring_drops_subtype_and_status():
    assert change(ELIMINATED, HouseholdCategory.TUOPIN) == Standing(HouseholdCategory.TUOPIN)


def test_other_categories_take_no_monitoring_status():
    refused = refusal(Standing(HouseholdCategory.YIBAN), HouseholdCategory.TUOPIN, status=MonitoringStatus.IDENTIFIED)
    assert (refused.reason, refused.field) == (StandingRefused.NOT_MONITORED, "monitoring_status")
    refused = refusal(Standing(HouseholdCategory.YIBAN), HouseholdCategory.TUOPIN, MonitorSubtype.SUDDEN)
    assert refused.field == "monitor_subtype"


def test_dates_run_forward_only():
    assert refusal(MONITORED, HouseholdCategory.TUOPIN, on=date(2026, 12, 4)).reason == StandingRefused.FUTURE
    assert refusal(MONITORED, HouseholdCategory.TUOPIN, on=date(2026, 5, 31)).reason == StandingRefused.BEFORE_LAST
    # The same day as the last change, and a first change with no history, are fine.
    assert change(MONITORED, HouseholdCategory.TUOPIN, on=date(2026, 6, 1)).category is HouseholdCategory.TUOPIN
    assert change(MONITORED, HouseholdCategory.TUOPIN, on=date(2020, 1, 1), last=None).status is None


def test_nothing_to_change_is_refused():
    assert refusal(MONITORED, HouseholdCategory.JIANCE).reason == StandingRefused.UNCHANGED
    assert refusal(Standing(HouseholdCategory.TUOPIN), HouseholdCategory.TUOPIN).reason == StandingRefused.UNCHANGED
