"""What officers, supervisors and the manager read of households: the list, one household, the monthly review.

Read-only queries behind the officers' pages (admin/households.py and admin/review.py); what
those pages change goes through the use cases beside this module (payouts, adjustments, reviews).
Who sees which household is decided here, through shop.villages.households.visible_to, so
another officer's household is "not found" rather than forbidden. Each full name or phone shown
is recorded in the audit trail (PIPL) before the page shows it.
"""

from dataclasses import dataclass
from datetime import date
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload

from shop import audit
from shop.extensions import db
from shop.ledger import closed_months, entries
from shop.ledger.chain import INCOME_KINDS, signed_amount
from shop.models import Adjustment, Household, LedgerEntry, MonthReview, Payout, ReviewOutcome, Role, User, Village
from shop.oversight import adjustments, income, payouts, reviews
from shop.oversight.monitoring import month_end, month_start, per_capita
from shop.oversight.statements import causes_of
from shop.villages import households

#: The list and the trail show at most this many rows; a search or a shorter period finds the rest.
ROWS_SHOWN = 200
#: The manager's review overview lists at most this many households still to be confirmed.
REVIEW_LIST_SHOWN = 100


# ---------------------------------------------------------------- names in full


def names_in_full(user: User, found: list[Household], fields: str = "head_name, phone") -> frozenset[int]:
    """The households among `found` the user sees in full (an officer's own), each view logged.

    Everyone else sees the masks (王**, 138****5678); the manager asks for a phone number one at a time.
    """
    full = households.named_in_full(user, found)
    # PIPL: record who saw which households' names and phones (never the values) before showing them.
    audit.personal_data_listed(Household.__tablename__, full, fields)
    return frozenset(full)


# ---------------------------------------------------------------- the list


class HouseholdMoney(NamedTuple):
    """A household's balance now and its net income since the month began."""

    balance_fen: int
    month_income_fen: int


@dataclass(frozen=True)
class HouseholdList:
    """The households a reader may see that match a search, at most ROWS_SHOWN, with their money."""

    households: list[Household]
    more: bool  # more matched than are shown
    money: dict[int, HouseholdMoney]
    pending_corrections: int | None  # for the manager only, else None
    open_disputes: int | None  # for the manager only, else None


def household_list(user: User, text: str, month: date) -> HouseholdList:
    """The households the user may see whose code or head's name contains text, with money since `month`."""
    found = find_households(user, text)
    shown = found[:ROWS_SHOWN]
    manager = user.role is Role.ADMIN
    return HouseholdList(
        households=shown,
        more=len(found) > ROWS_SHOWN,
        money=money_of([h.id for h in shown], month),
        pending_corrections=len(adjustments.pending()) if manager else None,
        open_disputes=len(reviews.open_disputes()) if manager else None,
    )


def find_households(user: User, text: str) -> list[Household]:
    """The households the user may see whose code or head's name contains text, by code (one more than shown)."""
    query = households.visible_to(user).options(
        joinedload(Household.village).joinedload(Village.town), joinedload(Household.officer)
    )
    if text:
        query = query.where(
            sa.or_(Household.code.icontains(text, autoescape=True), Household.head_name.contains(text, autoescape=True))
        )
    return list(db.session.scalars(query.order_by(Household.code).limit(ROWS_SHOWN + 1)).unique())


def money_of(household_ids: list[int], month: date) -> dict[int, HouseholdMoney]:
    """Each household's balance now and its net income since the month began, in two grouped queries."""
    if not household_ids:
        return {}
    amount = sa.func.sum(LedgerEntry.amount_fen)
    mine = LedgerEntry.household_id.in_(household_ids)
    group = (LedgerEntry.household_id, LedgerEntry.kind)
    balances: dict[int, int] = dict.fromkeys(household_ids, 0)
    for household_id, kind, total in db.session.execute(sa.select(*group, amount).where(mine).group_by(*group)):
        balances[household_id] += signed_amount(kind, int(total or 0))
    earned: dict[int, int] = dict.fromkeys(household_ids, 0)
    recent = sa.select(*group, amount).where(mine, LedgerEntry.kind.in_(INCOME_KINDS), LedgerEntry.entry_date >= month)
    for household_id, kind, total in db.session.execute(recent.group_by(*group)):
        earned[household_id] += signed_amount(kind, int(total or 0))
    return {h: HouseholdMoney(balances[h], earned[h]) for h in household_ids}


# ---------------------------------------------------------------- one household


@dataclass(frozen=True)
class PeriodFigures:
    """A period's totals from the ledger, the income per person and the newest entries with their causes."""

    statement: entries.Statement
    net_income_fen: int
    per_capita_fen: int
    trail: list[LedgerEntry]
    causes: dict
    total_entries: int


def period_figures(household: Household, start: date, end: date) -> PeriodFigures:
    """The household's ledger over the days, both inclusive, newest entries first, at most ROWS_SHOWN of them."""
    statement = entries.household_ledger(household.id, start, end)
    net = statement.credited_fen - statement.reversed_fen + statement.adjusted_fen
    newest = sorted(statement.entries, key=lambda e: (e.entry_date, e.seq), reverse=True)[:ROWS_SHOWN]
    return PeriodFigures(
        statement, net, per_capita(net, household.members), newest, causes_of(newest), len(statement.entries)
    )


@dataclass(frozen=True)
class MonthRow:
    """One month of the last twelve: income, per person, and where its review stands."""

    month: date
    income_fen: int
    per_capita_fen: int
    review: MonthReview | None
    current: bool
    #: The confirmation's entries were rewritten since: it no longer stands for this month.
    changed: bool = False


def month_rows(picture: income.IncomePicture, household_id: int, today: date) -> list[MonthRow]:
    """The months of the income picture, newest first, each with its standing (latest) review."""
    latest: dict[date, MonthReview] = {}
    for review in reviews.reviews_of(household_id):  # newest first: the first seen stands
        latest.setdefault(review.month, review)
    shares = dict(picture.per_capita)
    this_month = month_start(today)
    shown = [latest.get(month) for month, _net in picture.months]
    changed = reviews.changed_since_confirmed(shown)
    return [
        MonthRow(month, net, shares[month], review, month == this_month, review is not None and review.id in changed)
        for (month, net), review in zip(reversed(picture.months), reversed(shown), strict=True)
    ]


@dataclass(frozen=True)
class HouseholdFile:
    """What a household's page shows from the ledger: a period, the balance, twelve months, payouts, corrections."""

    figures: PeriodFigures | None  # None when no period was given (a mistyped one)
    balance_fen: int
    picture: income.IncomePicture
    months: list[MonthRow]
    payouts: list[Payout]
    adjustments: list[Adjustment]


def household_file(household: Household, start: date | None, end: date | None, today: date) -> HouseholdFile:
    """A household's figures for its page: the days from start to end (both inclusive) and the last twelve months."""
    picture = income.income_picture(household, today)
    return HouseholdFile(
        figures=period_figures(household, start, end) if start and end else None,
        balance_fen=entries.balance_of(db.session, household.id),
        picture=picture,
        months=month_rows(picture, household.id, today),
        payouts=payouts.payouts_of(household.id),
        adjustments=adjustments.of_household(household.id),
    )


def payout_of(household: Household, payout_id: int | None) -> Payout | None:
    """The payout with this id when it is this household's (a just-made payout, named in the address)."""
    # A typed id beyond the id column's range is no payout (PostgreSQL would refuse to compare it).
    payout = db.session.get(Payout, payout_id) if payout_id and 0 < payout_id < 2**31 else None
    return payout if payout and payout.household_id == household.id else None


def pending_adjustments() -> list[Adjustment]:
    """The corrections waiting for a second person, with their households and proposers."""
    ids = [a.id for a in adjustments.pending()]
    if not ids:
        return []
    query = (
        sa.select(Adjustment)
        .where(Adjustment.id.in_(ids))
        .options(selectinload(Adjustment.household), selectinload(Adjustment.requested_by))
        .order_by(Adjustment.id)
    )
    return list(db.session.scalars(query))


# ---------------------------------------------------------------- the monthly review


def review_state(review: MonthReview | None) -> str:
    """Where a month's review stands, as a key the templates style: none, confirmed, disputed or answered."""
    if review is None:
        return "none"
    if review.outcome is ReviewOutcome.CONFIRMED:
        return "confirmed"
    return "answered" if review.resolved_at is not None else "disputed"


def month_history(household_id: int, month: date) -> list[MonthReview]:
    """The reviews of one household's month, newest first."""
    return [r for r in reviews.reviews_of(household_id) if r.month == month]


def visible_ids(user: User) -> sa.Select:
    """The ids of the households the user may see, as a subquery."""
    return households.visible_to(user).with_only_columns(Household.id)


def disputes_in_view(user: User) -> list[MonthReview]:
    """Open disputes of the households the user may see, oldest first."""
    if user.role is Role.ADMIN:
        return reviews.open_disputes()
    allowed = set(db.session.scalars(visible_ids(user)))
    return [review for review in reviews.open_disputes() if review.household_id in allowed]


#: Where a month can stand, in the order the overview counts them ("changed" is shown only when some are).
STATES = ("confirmed", "amended", "disputed", "answered", "none", "quiet", "changed")
#: The states the overview lists as still to be settled.
UNSETTLED = ("none", "amended", "disputed", "answered", "changed")


def month_state(review: MonthReview | None, entries: int, amended: bool, changed: bool = False) -> str:
    """none (with entries: to review), quiet, confirmed, amended, changed (rewritten since), disputed or answered."""
    state = review_state(review)
    if state == "none":
        return "none" if entries else "quiet"
    if state == "confirmed" and changed:
        return "changed"
    if state == "confirmed" and amended:
        return "amended"
    return state


class Standing(NamedTuple):
    """A household's month as the overview weighs it: its latest review, its entries, amendments since."""

    review: MonthReview | None
    entries: int
    amended: bool  # an entry landed after the month was confirmed
    changed: bool = False  # entries the confirmation saw were rewritten since (checked where shown)


@dataclass(frozen=True)
class MonthStatus:
    """Where one household's month stands: its latest review, how many entries it has, and amendments since."""

    household: Household
    month: date
    review: MonthReview | None
    entries: int
    amended: bool
    changed: bool = False

    @property
    def state(self) -> str:
        """none (with entries: to review), quiet, confirmed, amended, changed, disputed or answered."""
        return month_state(self.review, self.entries, self.amended, self.changed)

    @property
    def to_do(self) -> bool:
        """Whether the officer still has to look at this month."""
        return self.state in ("none", "amended", "answered", "changed")


class Activity(NamedTuple):
    """A household's entries in a month: how many, and the sequence number of the last."""

    entries: int
    last_seq: int


def latest_reviews(ids: sa.Select, month: date) -> dict[int, MonthReview]:
    """The review that stands for each of these households' month, by household id."""
    latest = (
        sa.select(sa.func.max(MonthReview.id))
        .where(MonthReview.month == month, MonthReview.household_id.in_(ids))
        .group_by(MonthReview.household_id)
    )
    return {r.household_id: r for r in db.session.scalars(sa.select(MonthReview).where(MonthReview.id.in_(latest)))}


def latest_review_rows(ids: sa.Select, month: date) -> dict[int, sa.Row]:
    """latest_reviews as plain rows of what the overview weighs (no ORM objects: a county has thousands)."""
    latest = (
        sa.select(sa.func.max(MonthReview.id))
        .where(MonthReview.month == month, MonthReview.household_id.in_(ids))
        .group_by(MonthReview.household_id)
    )
    weighed = sa.select(
        MonthReview.id,
        MonthReview.household_id,
        MonthReview.month,
        MonthReview.outcome,
        MonthReview.resolved_at,
        MonthReview.through_seq,
        MonthReview.digest,
    )
    return {r.household_id: r for r in db.session.execute(weighed.where(MonthReview.id.in_(latest)))}


def activity(ids: sa.Select, month: date) -> dict[int, Activity]:
    """The entries of each of these households' month, by household id; quiet households are left out.

    A closed month (shop.ledger.closed_months) is read from its household-month rows, plus any entry
    written into it since the latest closing; an open month from the ledger.
    """
    closed = closed_months.latest()
    day, household, since = LedgerEntry.entry_date, LedgerEntry.household_id, []
    found: dict[int, Activity] = {}
    if closed is not None and month <= closed.month:
        found = {h: Activity(*figures) for h, figures in closed_months.closed_activity(closed, ids, month).items()}
        # Only the entries written since the closing: by the seq index, the rest taken as they come. Grouped
        # by the same unindexed expression too: by the bare column, SQLite walked its index over the whole ledger.
        day, household = closed_months.unindexed(day), closed_months.unindexed(household)
        since = [LedgerEntry.seq > closed.through_seq]
    where = [household.in_(ids), day >= month, day <= month_end(month), *since]
    rows = db.session.execute(
        sa.select(household, sa.func.count(), sa.func.max(LedgerEntry.seq)).where(*where).group_by(household)
    )
    for household_id, count, last in rows:
        before = found.get(household_id, Activity(0, 0))
        found[household_id] = Activity(before.entries + count, max(before.last_seq, last))
    return found


def standing(
    household_id: int,
    latest: dict[int, MonthReview],
    active: dict[int, Activity],
    changed: frozenset[int] = frozenset(),
) -> Standing:
    """A household's review, entries, whether it was amended and whether it was rewritten since."""
    review = latest.get(household_id)
    done = active.get(household_id, Activity(0, 0))
    amended = review is not None and review.outcome is ReviewOutcome.CONFIRMED and done.last_seq > review.through_seq
    return Standing(review, done.entries, amended, review is not None and review.id in changed)


def month_statuses(user: User, month: date, among: list[Household]) -> list[MonthStatus]:
    """Where each of these households' month stands."""
    ids = visible_ids(user)
    latest, active = latest_reviews(ids, month), activity(ids, month)
    shown = [latest[h.id] for h in among if h.id in latest]
    changed = frozenset(reviews.changed_since_confirmed(shown))
    return [MonthStatus(household, month, *standing(household.id, latest, active, changed)) for household in among]


@dataclass(frozen=True)
class OfficerMonths:
    """An officer's to-do list: each of their households with where its months stand, in the order asked."""

    months: tuple[date, ...]
    rows: list[tuple[Household, tuple[MonthStatus, ...]]]


def officer_months(user: User, months: tuple[date, ...]) -> OfficerMonths:
    """Each household the officer may see, with its status in each of the months."""
    visible = households.list_visible(user)
    by_month = [month_statuses(user, m, visible) for m in months]
    return OfficerMonths(months, list(zip(visible, zip(*by_month, strict=True), strict=True)))


@dataclass(frozen=True)
class ReviewOverview:
    """A month's states counted across the households a reader may see, and the first unsettled ones."""

    month: date
    counts: dict[str, int]
    waiting: list[MonthStatus]  # at most REVIEW_LIST_SHOWN
    unsettled: int  # how many households are unsettled in all
    open_disputes: int

    @property
    def total(self) -> int:
        """How many households were counted."""
        return sum(self.counts.values())

    @property
    def more(self) -> int:
        """How many unsettled households the list leaves out."""
        return max(0, self.unsettled - REVIEW_LIST_SHOWN)


def overview(user: User, month: date) -> ReviewOverview:
    """The month's states counted across the households the user may see; the first unsettled ones, and how many.

    A county has ten thousand households: only their ids are read to count them,
    and just the unsettled ones shown are loaded whole, with village and officer.
    Loading every household with those took two thirds of the page's time.
    """
    ids = visible_ids(user)
    latest, active = latest_review_rows(ids, month), activity(ids, month)
    counts = dict.fromkeys(STATES, 0)
    unsettled: list[tuple[int, Standing]] = []
    for household_id in db.session.scalars(ids.order_by(Household.code)):
        if household_id not in latest and household_id not in active:
            counts["quiet"] += 1  # most of a county's households in a month: no review, no entries
            continue
        found = standing(household_id, latest, active)
        state = month_state(*found)
        counts[state] += 1
        if state in UNSETTLED:
            unsettled.append((household_id, found))
    shown = [(h, found) for h, found in unsettled[:REVIEW_LIST_SHOWN]]
    # Only the months listed are compared with their entries (reading the hashes each confirmation saw
    # costs about as much again as the whole page for ten thousand households); `ledger verify` and
    # each month's page compare every one. A listed month found changed is counted as such.
    changed = reviews.changed_since_confirmed([found.review for _h, found in shown])
    for index, (h, found) in enumerate(shown):
        if found.review is not None and found.review.id in changed:
            counts[month_state(*found)] -= 1
            shown[index] = (h, found._replace(changed=True))
            counts["changed"] += 1
    loaded = households.with_places([household_id for household_id, _found in shown])
    waiting = [MonthStatus(loaded[h], month, *found) for h, found in shown]
    everyone = user.role is Role.ADMIN
    return ReviewOverview(month, counts, waiting, len(unsettled), reviews.open_dispute_count(None if everyone else ids))
