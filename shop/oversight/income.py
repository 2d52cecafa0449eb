"""A household's income from the counter over time: totals for a period, the twelve months, the evidence.

What an officer reads before a follow-up visit. Only the counter's income is
here: the household's other income is not, so these figures are evidence for
the officer's judgement, never a verdict.
"""

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask import current_app

from shop.extensions import db
from shop.ledger.chain import INCOME_KINDS, signed_amount
from shop.models import Household, LedgerEntry
from shop.oversight.monitoring import (
    TRAILING_MONTHS,
    MonitoringLine,
    SteadyEvidence,
    add_months,
    month_start,
    monthly_net,
    months_ending,
    per_capita,
    steady_evidence,
)


def monitoring_line() -> MonitoringLine:
    """The configured monitoring line and the year it applies to."""
    config = current_app.config
    return MonitoringLine(int(config["MONITORING_LINE_FEN"]), int(config["MONITORING_LINE_YEAR"]))


@dataclass(frozen=True)
class IncomePicture:
    """Twelve months of a household's income from the counter, per person, against the monitoring line."""

    months: list[tuple[date, int]]  # (month, net income fen), oldest first, the current month last
    per_capita: list[tuple[date, int]]
    evidence: SteadyEvidence
    line: MonitoringLine


def income_picture(household: Household, today: date) -> IncomePicture:
    """The household's last twelve months (and this one) with the six-months-steady evidence."""
    line = monitoring_line()
    months = months_ending(month_start(today), TRAILING_MONTHS + 1)
    net = monthly_net(income_entries(household.id, months[0], today), months)
    by_month = list(zip(months, net, strict=True))
    per_person = [(m, per_capita(v, household.members)) for m, v in by_month]
    evidence = steady_evidence(by_month, household.members, line, today, since=known_since(household))
    return IncomePicture(by_month, per_person, evidence, line)


def known_since(household: Household) -> date:
    """When the counter first knew the household: its listing, or its first entry if that is earlier."""
    query = sa.select(sa.func.min(LedgerEntry.entry_date)).where(LedgerEntry.household_id == household.id)
    first = db.session.scalar(query)
    listed = household.created_at.date()
    return min(first, listed) if first else listed


def income_entries(household_id: int, start: date, end: date) -> list[tuple[date, int]]:
    """(day, signed fen) of the household's income entries between two days, summed per day in SQL."""
    rows = db.session.execute(
        sa.select(LedgerEntry.entry_date, LedgerEntry.kind, sa.func.sum(LedgerEntry.amount_fen))
        .where(
            LedgerEntry.household_id == household_id,
            LedgerEntry.kind.in_(INCOME_KINDS),
            LedgerEntry.entry_date >= start,
            LedgerEntry.entry_date <= end,
        )
        .group_by(LedgerEntry.entry_date, LedgerEntry.kind)
    )
    return [(day, signed_amount(kind, int(total))) for day, kind, total in rows if total]


def year_months(year: int) -> list[date]:
    """The twelve month starts of a calendar year."""
    return [add_months(date(year, 1, 1), n) for n in range(12)]
