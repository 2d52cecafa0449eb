"""A household's whole income against the monitoring line: the ledger's verified part and the declared part."""

from datetime import date

from shop.models import Household
from shop.oversight.income import income_entries, monitoring_line
from shop.oversight.monitoring import STEADY_MONTHS, add_months, month_start, monthly_net, months_ending
from shop.worklog.incomes import standing_figures
from shop.worklog.whole_income import Declared, WholeEvidence, whole_evidence


def declared_figures(household_id: int) -> list[Declared]:
    """The household's standing declared figures (corrections applied), for the pure core."""
    return [
        Declared(str(f.source), int(f.amount_fen), f.period_start, f.period_end) for f in standing_figures(household_id)
    ]


def counter_months(household_id: int, months: list[date]) -> list[tuple[date, int]]:
    """The counter's net income in each of the months, from the ledger."""
    entries = income_entries(household_id, months[0], add_months(months[-1], 1))
    return list(zip(months, monthly_net(entries, months), strict=True))


def whole_income(household: Household, today: date, required: int = STEADY_MONTHS) -> WholeEvidence:
    """The complete months before today's: verified and declared parts, and the steady evidence on the whole."""
    months = months_ending(add_months(month_start(today), -1), required)
    return whole_evidence(
        counter_months(household.id, months),
        declared_figures(household.id),
        household.members,
        monitoring_line(),
        today,
        # Before its listing the counter sold nothing for the household: its part then is truly 0, so a
        # declared month counts however old; a month nobody declared is unknown whenever it was.
        since=None,
        required=required,
    )
