"""A household's own page: the secret link that opens it, and what the page shows.

The link's token is `secrets.token_urlsafe(TOKEN_BYTES)` (176 bits): guessing one is hopeless, and
guesses are throttled besides. A visit is looked up by the token's SHA-256 digest; the token itself
is kept sealed (shop.sealing) so that slips, receipts, statements and the officer's card can print it
again. A household has at most one live link: issuing a new one revokes the old, whose address then
answers 404 like any unknown one. Views are counted per link and day, never who viewed.

The manager issues and revokes any household's link, an officer only those of their own households.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.dialects import postgresql, sqlite

from shop.clock import business_today, local_time, now_utc
from shop.errors import Forbidden, NotFound
from shop.extensions import db
from shop.ledger import checkpoints
from shop.ledger.chain import signed_amount
from shop.models import (
    Household,
    HouseholdLink,
    HouseholdPageViews,
    LedgerEntry,
    PayoutDispute,
    Role,
    User,
    Village,
)
from shop.oversight.monitoring import add_months, month_start
from shop.oversight.statements import MonthStatement, month_statement
from shop.transaction import atomic
from shop.villages.households import visible_household

#: Random bytes in a token: 176 bits, comfortably over the 128 asked.
TOKEN_BYTES = 22
#: What a token looks like in an address (token_urlsafe(22) gives 30 characters); anything else is not looked up.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{30,60}")
#: Months the page shows at once, newest first; older ones are a link away. Keeps the page under 50 KB.
MONTHS_SHOWN = 3
#: Entries of one month shown on the overview; the month's own view shows them all.
LINES_SHOWN = 25
#: Who may issue and revoke a household's link: the manager, and the household's own officer.
ISSUERS = (Role.ADMIN, Role.OFFICER)


class NoLiveLink(NotFound):
    """The household has no link to revoke."""


class NotTheHouseholdsOfficer(Forbidden):
    """Only the manager or the household's own officer gives out its link."""


def token_digest(token: str) -> str:
    """The SHA-256 of a token, as stored and looked up."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def _issuable(session, user: User, household_id: int) -> Household:
    """The household, locked, if the user may issue or revoke its link: 404 out of sight, 403 for other roles."""
    if user.role not in ISSUERS:
        raise NotTheHouseholdsOfficer(_("Only the counter manager or the household's officer gives out its link."))
    household = visible_household(user, household_id)
    return session.scalars(sa.select(Household).where(Household.id == household.id).with_for_update()).one()


def _live(session, household_id: int) -> HouseholdLink | None:
    query = sa.select(HouseholdLink).where(
        HouseholdLink.household_id == household_id, HouseholdLink.revoked_at.is_(None)
    )
    return session.scalars(query).first()


def issue_link(household_id: int, by: User) -> str:
    """Give the household a new link, revoking the one it had; the new token."""
    with atomic() as session:
        household = _issuable(session, by, household_id)
        if old := _live(session, household.id):
            old.revoked_at, old.revoked_by_id = now_utc(), by.id
            # The old row leaves the live index before the new one enters it.
            session.flush()
        token = secrets.token_urlsafe(TOKEN_BYTES)
        session.add(
            HouseholdLink(household_id=household.id, token_digest=token_digest(token), token=token, created_by_id=by.id)
        )
    return token


def revoke_link(household_id: int, by: User) -> None:
    """Revoke the household's live link: its address answers 404 from now on."""
    with atomic() as session:
        household = _issuable(session, by, household_id)
        link = _live(session, household.id)
        if link is None:
            raise NoLiveLink(_("This household has no link to revoke."))
        link.revoked_at, link.revoked_by_id = now_utc(), by.id


def live_token(household_id: int) -> str | None:
    """The token of the household's live link, for printing; None when it has none."""
    return live_tokens([household_id]).get(household_id)


def live_tokens(household_ids) -> dict[int, str]:
    """The live links' tokens of these households, by household id."""
    ids = list(household_ids)
    if not ids:
        return {}
    query = sa.select(HouseholdLink).where(HouseholdLink.household_id.in_(ids), HouseholdLink.revoked_at.is_(None))
    return {link.household_id: link.token for link in db.session.scalars(query)}


def live_link(household_id: int) -> HouseholdLink | None:
    """The household's live link with who issued it, for the staff's page."""
    return _live(db.session, household_id)


def link_by_token(token: str) -> HouseholdLink | None:
    """The live link a token opens; None for a malformed, unknown or revoked one."""
    if not TOKEN_SHAPE.fullmatch(token or ""):
        return None
    query = sa.select(HouseholdLink).where(
        HouseholdLink.token_digest == token_digest(token), HouseholdLink.revoked_at.is_(None)
    )
    return db.session.scalars(query).first()


def households_without_link(town_id: int | None = None) -> list[int]:
    """Households with no live link (in a town, if given), by code: for the first county-wide issue."""
    live = sa.select(HouseholdLink.household_id).where(HouseholdLink.revoked_at.is_(None))
    query = sa.select(Household.id).where(Household.id.not_in(live)).order_by(Household.code)
    if town_id is not None:
        query = query.join(Household.village).where(Village.town_id == town_id)
    return list(db.session.scalars(query))


def count_view(link_id: int) -> None:
    """Add one to the link's views today: the count, and nothing about the visitor."""
    table = HouseholdPageViews.__table__
    with atomic() as session:
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        statement = insert(table).values(link_id=link_id, day=business_today(), views=1)
        session.execute(
            statement.on_conflict_do_update(index_elements=["link_id", "day"], set_={"views": table.c.views + 1})
        )


def views_of(link_id: int) -> int:
    """How many times the link's page has been opened."""
    query = sa.select(sa.func.coalesce(sa.func.sum(HouseholdPageViews.views), 0)).where(
        HouseholdPageViews.link_id == link_id
    )
    return int(db.session.scalar(query))


# ---------------------------------------------------------------- what the page shows


@dataclass(frozen=True)
class OwnPage:
    """The household's months as its page shows them, newest first, and where older ones begin."""

    household: Household
    balance_fen: int
    months: list[MonthStatement]
    #: The month before the last one shown, when the household has entries that old.
    older: date | None
    #: Disputes of the payouts shown, by payout id.
    disputes: dict[int, PayoutDispute]
    #: One month in full (every line), rather than the overview.
    whole_month: bool


def months_with_entries(household_id: int) -> list[date]:
    """The first days of the months the household has entries in, newest first."""
    days = db.session.scalars(
        sa.select(LedgerEntry.entry_date).where(LedgerEntry.household_id == household_id).distinct()
    )
    return sorted({month_start(day) for day in days}, reverse=True)


def own_page(household: Household, before: date | None = None, month: date | None = None) -> OwnPage:
    """The household's page: one month in full, or MONTHS_SHOWN months before `before` (newest first)."""
    months = months_with_entries(household.id)
    if month is not None:
        chosen = [m for m in months if m == month]
        older = None
    else:
        limit = before or add_months(month_start(business_today()), 1)
        candidates = [m for m in months if m < limit]
        chosen = candidates[:MONTHS_SHOWN]
        older = candidates[MONTHS_SHOWN] if len(candidates) > MONTHS_SHOWN else None
    statements = [month_statement(household, m) for m in chosen]
    payout_ids = [line.cause.payout.id for s in statements for line in s.lines if line.cause.payout]
    return OwnPage(
        household=household,
        balance_fen=_balance(household.id),
        months=statements,
        older=older,
        disputes=disputes_of(payout_ids),
        whole_month=month is not None,
    )


def _balance(household_id: int) -> int:
    rows = db.session.execute(
        sa.select(LedgerEntry.kind, sa.func.sum(LedgerEntry.amount_fen))
        .where(LedgerEntry.household_id == household_id)
        .group_by(LedgerEntry.kind)
    )
    return sum(signed_amount(kind, int(amount)) for kind, amount in rows if amount)


def disputes_of(payout_ids: list[int]) -> dict[int, PayoutDispute]:
    """The disputes raised on these payouts, by payout id."""
    if not payout_ids:
        return {}
    query = sa.select(PayoutDispute).where(PayoutDispute.payout_id.in_(payout_ids))
    return {d.payout_id: d for d in db.session.scalars(query)}


def latest_checkpoint() -> dict | None:
    """The newest signed checkpoint as published, for the page to name; None before the first."""
    latest = checkpoints.latest(db.session)
    if latest is None:
        return None
    return checkpoints.as_json(latest) | {"signed_local": f"{local_time(latest.signed_at):%Y-%m-%d %H:%M}"}


def own_proof(household_id: int, seq: int) -> dict | None:
    """The inclusion proof of the household's own entry `seq`; None if the entry is not its."""
    owner = db.session.scalar(sa.select(LedgerEntry.household_id).where(LedgerEntry.seq == seq))
    if owner != household_id:
        return None
    _, proofs = checkpoints.proofs_for(db.session, [seq])
    return proofs[seq]
