"""The figures of the reports for supervisors and the manager: the counter's month, every household's year.

Every figure is summed in SQL (GROUP BY), a fixed number of queries per report
however many sales and households there are. Sales tables count the counter's
business; the household tables are the household income ledger, scoped to the
households the reader may see (a town's supervisor sees their town's only).

Rows are read by the names their columns are labelled with, never by position. The CSV and
PDF forms of these figures are shop.oversight.report_exports.
"""

from collections import namedtuple
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from shop.clock import midnight_utc
from shop.errors import Forbidden, NotFound
from shop.extensions import db
from shop.ledger import closed_months
from shop.ledger.chain import INCOME_KINDS, EntryKind
from shop.models import (
    Counter,
    Draw,
    DrawReversal,
    Household,
    HouseholdCategory,
    LedgerEntry,
    Lot,
    Refund,
    Role,
    Sale,
    SaleChannel,
    SaleLine,
    Town,
    User,
    Village,
)
from shop.oversight.income import monitoring_line
from shop.oversight.monitoring import MonitoringLine, add_months, month_end, per_capita
from shop.privacy import mask_name
from shop.units import Unit
from shop.villages.households import visible_to

#: Who reads reports: the counter manager and the supervisors (a town's, or the county bureau).
REPORT_READERS = (Role.ADMIN, Role.SUPERVISOR)


class NotAReader(Forbidden):
    """Only the manager and the supervisors read reports; a clerk or an officer may not."""


@dataclass(frozen=True)
class Place:
    """A town's or village's name in both languages (the templates' `localised` reads it)."""

    name_zh: str
    name_en: str


@dataclass(frozen=True)
class ChannelFigures:
    """A channel's sales in the month, and what was refunded in the month of that channel's sales."""

    channel: SaleChannel
    sales: int
    total_fen: int
    refunded_fen: int


@dataclass(frozen=True)
class ProductFigures:
    """What sold of a product in the month, under the name frozen on its sale lines."""

    product_id: int
    name: str
    unit: Unit
    quantity: int  # grams or pieces
    amount_fen: int


@dataclass(frozen=True)
class TownFigures:
    """Sales drawn from lots of a town's households, and the credit those draws earned them."""

    town: Place
    amount_fen: int
    credit_fen: int


@dataclass(frozen=True)
class HouseholdMonth:
    """One household's month in the ledger, with its balance at the month's end."""

    household_id: int
    code: str
    head_name_masked: str
    town: Place
    village: Place
    category: HouseholdCategory
    members: int
    credited_fen: int
    reversed_fen: int
    adjusted_fen: int  # signed
    income_fen: int  # credited − reversed ± adjusted
    per_capita_fen: int
    paid_out_fen: int
    balance_fen: int


@dataclass(frozen=True)
class MonthFigures:
    """The counter's month: sales by channel, product and town; the households' income and payouts."""

    month: date
    counter: Counter | None  # the counter the sales tables are limited to; None for all
    channels: list[ChannelFigures]
    products: list[ProductFigures]
    towns: list[TownFigures]
    households: list[HouseholdMonth]

    @property
    def sales(self) -> int:
        """How many sales the month had."""
        return sum(c.sales for c in self.channels)

    @property
    def sales_fen(self) -> int:
        """What buyers paid in the month."""
        return sum(c.total_fen for c in self.channels)

    @property
    def refunded_fen(self) -> int:
        """What was handed back to buyers in the month."""
        return sum(c.refunded_fen for c in self.channels)

    @property
    def credited_fen(self) -> int:
        """Credited to the households shown, in the month."""
        return sum(h.credited_fen for h in self.households)

    @property
    def income_fen(self) -> int:
        """The net income of the households shown, in the month."""
        return sum(h.income_fen for h in self.households)

    @property
    def paid_out_fen(self) -> int:
        """Paid out to the households shown, in the month."""
        return sum(h.paid_out_fen for h in self.households)


@dataclass(frozen=True)
class HouseholdYear:
    """One household's net income in each month of a year, and its year per person against the line."""

    household_id: int
    code: str
    head_name_masked: str
    town: Place
    village: Place
    category: HouseholdCategory
    members: int
    months: tuple[int, ...]  # twelve net incomes, January first
    total_fen: int
    per_capita_fen: int
    at_or_above_line: bool


@dataclass(frozen=True)
class YearFigures:
    """Every visible household's income from the counter in a year, month by month."""

    year: int
    line: MonitoringLine  # its year may differ from `year`: the page says so
    households: list[HouseholdYear]
    counter: Counter | None = None  # the counter the income is limited to; None for all

    @property
    def month_totals(self) -> tuple[int, ...]:
        """The twelve months' net income over all the households shown."""
        return tuple(sum(h.months[i] for h in self.households) for i in range(12))

    @property
    def total_fen(self) -> int:
        """The year's net income over all the households shown."""
        return sum(h.total_fen for h in self.households)

    @property
    def line_is_for_year(self) -> bool:
        """Whether the configured line was set for this year, rather than borrowed from another."""
        return self.line.year == self.year


# ---------------------------------------------------------------- the month


def month_report(month: date, user: User, counter_id: int | None = None) -> MonthFigures:
    """The month starting on `month` as the user may see it; counter_id limits the sales tables to one counter."""
    _check_reader(user)
    counter = _counter(counter_id)
    return MonthFigures(
        month=month,
        counter=counter,
        channels=_channels(month, counter_id),
        products=_products(month, counter_id),
        towns=_towns(month, counter_id),
        households=_households_month(month, user, counter_id),
    )


def entry_counter():
    """The counter behind each ledger entry, and how to join a ledger query to reach it.

    A credit of a sale's draw, or the reversal of one, belongs to the counter of the sale; a
    purchase credit to the counter that received the lot. Payouts and corrections have none.
    """
    draw, line, sale = aliased(Draw), aliased(SaleLine), aliased(Sale)
    reversal, reversed_draw, reversed_line = aliased(DrawReversal), aliased(Draw), aliased(SaleLine)
    reversed_sale = aliased(Sale)
    entry = LedgerEntry

    def join(query):
        return (
            query.outerjoin(draw, entry.draw_id == draw.id)
            .outerjoin(line, draw.sale_line_id == line.id)
            .outerjoin(sale, line.sale_id == sale.id)
            .outerjoin(reversal, entry.draw_reversal_id == reversal.id)
            .outerjoin(reversed_draw, reversal.draw_id == reversed_draw.id)
            .outerjoin(reversed_line, reversed_draw.sale_line_id == reversed_line.id)
            .outerjoin(reversed_sale, reversed_line.sale_id == reversed_sale.id)
            .outerjoin(Lot, entry.lot_id == Lot.id)
        )

    return sa.func.coalesce(sale.counter_id, reversed_sale.counter_id, Lot.counter_id), join


def _counter(counter_id: int | None) -> Counter | None:
    """The counter a report is limited to (closed ones too: their past is still reported), or None for all."""
    counter = db.session.get(Counter, counter_id) if counter_id is not None else None
    if counter_id is not None and counter is None:
        raise NotFound(_("No counter has id %(id)s.", id=counter_id))
    return counter


def _check_reader(user: User) -> None:
    if user.role not in REPORT_READERS:
        raise NotAReader(_("Only the counter manager and supervisors read reports."))


def _sales_in(month: date, counter_id: int | None) -> list:
    """Conditions for the month's sales: sold_on is the sale's business day, the day its credits carry."""
    where = [Sale.sold_on >= month, Sale.sold_on <= month_end(month)]
    return where + ([Sale.counter_id == counter_id] if counter_id is not None else [])


def utc_bounds(month: date) -> tuple[datetime, datetime]:
    """The month's first instant and the next month's, as naive UTC."""
    return midnight_utc(month), midnight_utc(add_months(month, 1))


def _channels(month: date, counter_id: int | None) -> list[ChannelFigures]:
    """Sales per channel in the month, and refunds given in the month per channel of the refunded sale."""
    sold = db.session.execute(
        sa.select(
            Sale.channel.label("channel"),
            sa.func.count(Sale.id).label("sales"),
            sa.func.sum(Sale.total_fen).label("total_fen"),
        )
        .where(*_sales_in(month, counter_id))
        .group_by(Sale.channel)
    )
    by_channel = {row.channel: row for row in sold}
    # A refund belongs to the month it was given in (its reversals are dated then), not the sale's.
    start, end = utc_bounds(month)
    refunds = sa.select(Sale.channel, sa.func.sum(Refund.amount_fen)).join(Refund.sale)
    refunds = refunds.where(Refund.created_at >= start, Refund.created_at < end)
    if counter_id is not None:
        refunds = refunds.where(Sale.counter_id == counter_id)
    refunded = dict(db.session.execute(refunds.group_by(Sale.channel)).all())
    return [_channel_figures(channel, by_channel.get(channel), refunded.get(channel)) for channel in SaleChannel]


def _channel_figures(channel: SaleChannel, sold, refunded_fen) -> ChannelFigures:
    """A channel's figures from its labelled sales row (None: no sales) and its refunds (None: none)."""
    if sold is None:
        return ChannelFigures(channel, 0, 0, int(refunded_fen or 0))
    return ChannelFigures(channel, sold.sales, int(sold.total_fen or 0), int(refunded_fen or 0))


def _products(month: date, counter_id: int | None) -> list[ProductFigures]:
    """Quantity and amount sold per product, under the names frozen on the lines, the biggest first."""
    amount = sa.func.sum(SaleLine.amount_fen)
    rows = db.session.execute(
        sa.select(
            SaleLine.product_id.label("product_id"),
            SaleLine.product_name.label("name"),
            SaleLine.unit.label("unit"),
            sa.func.sum(SaleLine.quantity).label("quantity"),
            amount.label("amount_fen"),
        )
        .join(SaleLine.sale)
        .where(*_sales_in(month, counter_id))
        .group_by(SaleLine.product_id, SaleLine.product_name, SaleLine.unit)
        .order_by(amount.desc(), SaleLine.product_name)
    )
    return [ProductFigures(r.product_id, r.name, r.unit, int(r.quantity), int(r.amount_fen)) for r in rows]


def _towns(month: date, counter_id: int | None) -> list[TownFigures]:
    """Sales drawn from each town's households' lots (the household frozen on the draw) and their credit."""
    amount = sa.func.sum(Draw.amount_fen)
    rows = db.session.execute(
        sa.select(
            Town.name_zh.label("town_zh"),
            Town.name_en.label("town_en"),
            amount.label("amount_fen"),
            sa.func.sum(Draw.credit_fen).label("credit_fen"),
        )
        .select_from(Draw)
        .join(SaleLine, Draw.sale_line_id == SaleLine.id)
        .join(Sale, SaleLine.sale_id == Sale.id)
        .join(Household, Draw.household_id == Household.id)
        .join(Village, Household.village_id == Village.id)
        .join(Town, Village.town_id == Town.id)
        .where(*_sales_in(month, counter_id))
        .group_by(Town.id, Town.name_zh, Town.name_en)
        .order_by(amount.desc(), Town.name_zh)
    )
    return [TownFigures(Place(r.town_zh, r.town_en), int(r.amount_fen), int(r.credit_fen)) for r in rows]


def _scope(user: User):
    """The ids of the households the user may see, as a subquery (None when they see all)."""
    if user.role is Role.ADMIN or (user.role is Role.SUPERVISOR and user.town_id is None):
        return None
    return visible_to(user).with_only_columns(Household.id).scalar_subquery()


#: The household's columns both household tables start with, and the names their rows are read by.
IDENTITY_COLUMNS = {
    "household_id": Household.id,
    "code": Household.code,
    "head_name": Household.head_name,
    "members": Household.members,
    "category": Household.category,
    "village_zh": Village.name_zh,
    "village_en": Village.name_en,
    "town_zh": Town.name_zh,
    "town_en": Town.name_en,
}


def _household_labelled() -> list:
    """The household's columns, labelled with the names its rows are read by."""
    return [column.label(name) for name, column in IDENTITY_COLUMNS.items()]


#: One Place per name pair: a county's 10,000 rows name a few hundred villages.
_place = lru_cache(maxsize=4096)(Place)


def _household_identity(row) -> dict:
    """Who and where a labelled household row is, as both household tables name it (the head's name masked)."""
    return {
        "household_id": row.household_id,
        "code": row.code,
        "head_name_masked": mask_name(row.head_name),
        "town": _place(row.town_zh, row.town_en),
        "village": _place(row.village_zh, row.village_en),
        "category": row.category,
        "members": row.members,
    }


def _households_month(month: date, user: User, counter_id: int | None = None) -> list[HouseholdMonth]:
    """Each visible household with an entry in the month: the month's totals per kind and the closing balance.

    One pass over the ledger up to the month's end, pivoted by kind with CASE,
    keeping only households with an entry dated in the month. With a counter,
    credits and reversals count only those of that counter (corrections have no
    counter and count none); payouts and the balance stay the household's own.
    """
    entry, kind, fen = LedgerEntry, LedgerEntry.kind, LedgerEntry.amount_fen
    in_month = entry.entry_date >= month
    here, join = sa.true(), None
    if counter_id is not None:
        counter_col, join = entry_counter()
        here = sa.and_(counter_col == counter_id, kind.in_((EntryKind.CREDIT, EntryKind.REVERSAL)))

    def month_sum(k: EntryKind):
        # Payouts are the household's whatever counter is chosen; income is the counter's.
        counted = in_month if k is EntryKind.PAYOUT else sa.and_(in_month, here)
        return sa.func.sum(sa.case((sa.and_(counted, kind == k), fen), else_=0))

    signed = sa.case((kind.in_((EntryKind.REVERSAL, EntryKind.PAYOUT)), -fen), else_=fen)
    query = (
        sa.select(
            *_household_labelled(),
            month_sum(EntryKind.CREDIT).label("credited_fen"),
            month_sum(EntryKind.REVERSAL).label("reversed_fen"),
            month_sum(EntryKind.ADJUSTMENT).label("adjusted_fen"),
            month_sum(EntryKind.PAYOUT).label("paid_out_fen"),
            sa.func.sum(signed).label("balance_fen"),
        )
        .select_from(entry)
        .join(Household, entry.household_id == Household.id)
        .join(Village, Household.village_id == Village.id)
        .join(Town, Village.town_id == Town.id)
        .where(entry.entry_date <= month_end(month))
        .group_by(*IDENTITY_COLUMNS.values())
        .having(sa.func.sum(sa.case((sa.and_(in_month, here), 1), else_=0)) > 0)
        .order_by(Town.name_zh, Village.name_zh, Household.code)
    )
    if join is not None:
        query = join(query)
    if (scope := _scope(user)) is not None:
        query = query.where(entry.household_id.in_(scope))
    return [_household_month(row) for row in db.session.execute(query)]


def _household_month(row) -> HouseholdMonth:
    """A household's month from its labelled row: income is credited − reversed ± adjusted."""
    credited, reversed_, adjusted = int(row.credited_fen), int(row.reversed_fen), int(row.adjusted_fen)
    income = credited - reversed_ + adjusted
    return HouseholdMonth(
        **_household_identity(row),
        credited_fen=credited,
        reversed_fen=reversed_,
        adjusted_fen=adjusted,
        income_fen=income,
        per_capita_fen=per_capita(income, row.members),
        paid_out_fen=int(row.paid_out_fen),
        balance_fen=int(row.balance_fen),
    )


# ---------------------------------------------------------------- the year


def household_year(year: int, user: User, counter_id: int | None = None) -> YearFigures:
    """Each visible household with income in the year: twelve monthly nets, the year per person, against the line.

    The months closed (shop.ledger.closed_months) are read from their household-month rows,
    and only the rest from the ledger: the open months, and entries written into closed months
    since the latest closing (a seq above its through_seq). The figures are the ledger's either way;
    a counter's year is read from the ledger alone, since closed months are not kept per counter.
    """
    _check_reader(user)
    counter = _counter(counter_id)
    scope = _scope(user)
    start, end = date(year, 1, 1), date(year + 1, 1, 1)
    closed = closed_months.latest() if counter is None else None
    months: dict[int, list[int]] = {}
    if closed is None:
        _add_ledger_months(months, _year_sums([LedgerEntry.entry_date >= start], end, counter, scope))
    else:
        for household_id, month, total in closed_months.closed_income(closed, start, end, scope):
            months.setdefault(household_id, [0] * 12)[month.month - 1] += int(total)
        # Open months by date (the covering index); entries written into closed ones since, by seq.
        closed_end = month_end(closed.month)
        after = [LedgerEntry.entry_date >= start, LedgerEntry.entry_date > closed_end]
        _add_ledger_months(months, _year_sums(after, end, None, scope))
        if closed_end >= start:
            # Only the seq index: SQLite would otherwise range over every closed month's dates.
            day = closed_months.unindexed(LedgerEntry.entry_date)
            late = [LedgerEntry.seq > closed.through_seq, day >= start, day < min(end, closed_end + timedelta(days=1))]
            _add_ledger_months(months, _year_sums(late, None, None, scope))
    line = monitoring_line()
    earners = [row for row in _households(scope) if row.household_id in months]
    rows = [_household_year(row, months[row.household_id], line) for row in earners]
    return YearFigures(year, line, rows, counter)


def _year_sums(where: list, end: date | None, counter: Counter | None, scope) -> sa.Select:
    """(household, month number, net income) over the income entries `where` picks (before `end`, if given).

    The month is EXTRACT(month FROM entry_date), which SQLAlchemy writes as EXTRACT on PostgreSQL
    and as CAST(STRFTIME('%m', …) AS INTEGER) on SQLite; a county's dates are one pass over the
    covering (entry_date, household_id, kind, amount_fen) index, a scoped reader's IN (…) searches
    the (household_id, entry_date) one.
    """
    entry = LedgerEntry
    # An integer month: PostgreSQL's EXTRACT gives a numeric, which hashes slower when grouping.
    month_of = sa.cast(sa.extract("month", entry.entry_date), sa.Integer)
    # The sign is applied in the SUM, so each household's month is one row whatever its kinds.
    signed = sa.case((entry.kind == EntryKind.REVERSAL, -entry.amount_fen), else_=entry.amount_fen)
    before = [entry.entry_date < end] if end is not None else []
    sums = sa.select(entry.household_id, month_of, sa.func.sum(signed)).where(
        entry.kind.in_(INCOME_KINDS), *before, *where
    )
    if counter is not None:
        # A counter's year: its sales' and purchases' credits, less their reversals; corrections have no counter.
        counter_col, join = entry_counter()
        sums = join(sums).where(counter_col == counter.id, entry.kind.in_((EntryKind.CREDIT, EntryKind.REVERSAL)))
    if scope is not None:
        sums = sums.where(entry.household_id.in_(scope))
    # Month first in GROUP BY: grouped by household first, SQLite walks the (household_id, entry_date)
    # index to save a sort and fetches every row out of order, twice as slow over a county's year as
    # one pass over the table.
    return sums.group_by(month_of, entry.household_id)


def _add_ledger_months(months: dict[int, list[int]], sums: sa.Select) -> None:
    """Add each (household, month number, net) the query gives to the twelve months of its household."""
    # Plain rows through the connection, as closed_months reads its own: no ORM result per row.
    for household_id, month, total in db.session.connection().execute(sums).all():
        months.setdefault(household_id, [0] * 12)[int(month) - 1] += int(total)


def _households(scope) -> list:
    """The visible households with their village and town, by town and code."""
    query = (
        sa.select(*_household_labelled())
        .join(Village, Household.village_id == Village.id)
        .join(Town, Village.town_id == Town.id)
        .order_by(Town.name_zh, Village.name_zh, Household.code)
    )
    if scope is not None:
        query = query.where(Household.id.in_(scope))
    result = db.session.execute(query)
    # Plain named tuples, read by the same names: a Row's attribute costs microseconds, and a county has 10,000.
    named = namedtuple("HouseholdRow", result.keys())
    return [named._make(row) for row in result]


def _household_year(row, months: list[int], line: MonitoringLine) -> HouseholdYear:
    """A household's year from its labelled row and its twelve monthly nets, against the line."""
    total = sum(months)
    share = per_capita(total, row.members)
    return HouseholdYear(
        **_household_identity(row),
        months=tuple(months),
        total_fen=total,
        per_capita_fen=share,
        at_or_above_line=share >= line.annual_fen,
    )
