"""The officer's monthly review of a household's statement: confirm it, or dispute it with a note.

Reviews are only added, never changed, and the latest stands. A review keeps
the digest of what the officer saw, so an entry written into a confirmed month
afterwards shows as an amendment instead of changing the month silently.
"""

from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import aliased

from shop.clock import business_today, now_utc
from shop.errors import Conflict, Forbidden, Invalid, NotFound
from shop.extensions import db
from shop.ledger import entries
from shop.models import Household, LedgerEntry, MonthReview, ReviewOutcome, Role, User
from shop.oversight.monitoring import month_start
from shop.oversight.statements import month_statement
from shop.transaction import atomic
from shop.villages.households import visible_household

MAX_NOTE = 1000


class StatementChanged(Conflict):
    """The month gained or lost entries since the officer opened it."""

    code = "statement_changed"


class AlreadyConfirmed(Conflict):
    """The month stands confirmed exactly as the officer saw it: a second tap on confirm adds nothing."""

    code = "already_confirmed"


class AlreadyResolved(Conflict):
    """The manager has answered this dispute already."""

    code = "already_resolved"


def review_month(
    *, household_id: int, month: date, outcome: ReviewOutcome, note: str, seen_digest: str, by: User
) -> MonthReview:
    """Record the officer's verdict on the month exactly as they saw it (by its digest)."""
    if by.role is not Role.OFFICER:
        raise Forbidden(_("Only the household's assistance officer reviews its months."))
    household = visible_household(by, household_id)
    note = (note or "").strip()
    if outcome is ReviewOutcome.DISPUTED and not note:
        raise Invalid(_("Say what is wrong, so the manager can look into it."), "note")
    if len(note) > MAX_NOTE:
        raise Invalid(_("The note is too long."), "note")
    if month > month_start(business_today()):
        raise Invalid(_("A month can be reviewed once it has begun."), "month")
    with atomic() as session:
        # Hold the chain's head (first, as every writer of entries takes it): no entry may land between
        # reading the month and its last seq, or the review would see through an entry its digest omits.
        entries.lock_chain(session)
        # Two taps at once: the second waits for the first here, then sees its confirmation.
        session.scalars(sa.select(Household.id).where(Household.id == household.id).with_for_update()).first()
        statement = month_statement(household, month)
        if statement.digest != seen_digest:
            raise StatementChanged(_("The statement changed since you opened it; look at it again."))
        if outcome is ReviewOutcome.CONFIRMED and statement.confirmed_as_shown:
            raise AlreadyConfirmed(_("This month is already confirmed as it stands."))
        head = session.scalar(sa.select(sa.func.max(LedgerEntry.seq))) or 0
        review = MonthReview(
            household_id=household.id,
            month=month,
            outcome=outcome,
            note=note,
            through_seq=head,
            digest=statement.digest,
            income_fen=statement.income_fen,
            closing_balance_fen=statement.closing_balance_fen,
            reviewed_by_id=by.id,
        )
        session.add(review)
    return review


def resolve_dispute(*, review_id: int, resolution: str, by: User) -> MonthReview:
    """The manager's answer to a disputed month (a correction, if one is needed, is a separate adjustment)."""
    if by.role is not Role.ADMIN:
        raise Forbidden(_("Only the counter manager answers disputes."))
    resolution = (resolution or "").strip()
    if not resolution:
        raise Invalid(_("Say what was done about the dispute."), "resolution")
    if len(resolution) > MAX_NOTE:
        raise Invalid(_("The answer is too long."), "resolution")
    with atomic() as session:
        review = session.scalars(sa.select(MonthReview).where(MonthReview.id == review_id).with_for_update()).first()
        if review is None or review.outcome is not ReviewOutcome.DISPUTED:
            raise NotFound(_("No dispute has id %(id)s.", id=review_id))
        if review.resolved_at is not None:
            raise AlreadyResolved(_("This dispute has been answered already."))
        review.resolution = resolution
        review.resolved_by_id = by.id
        review.resolved_at = now_utc()
    return review


def changed_since_confirmed(reviews: list[MonthReview]) -> set[int]:
    """The ids of the confirmations among `reviews` whose months' entries were rewritten since they were confirmed."""
    confirmed = [r for r in reviews if r is not None and r.outcome is ReviewOutcome.CONFIRMED]
    return entries.changed_reviews(db.session, confirmed) if confirmed else set()


def open_disputes() -> list[MonthReview]:
    """Disputed months whose latest review is the unanswered dispute, oldest first."""
    return list(db.session.scalars(sa.select(MonthReview).where(*_open_dispute()).order_by(MonthReview.id)))


def _open_dispute() -> tuple:
    """A review that is an unanswered dispute and its month's latest review.

    Asked as "no later review of the same month", which the household-month index answers for the
    few disputes; "the id is among each month's latest" read every review of the county each time.
    """
    later = aliased(MonthReview)
    superseded = sa.exists().where(
        later.household_id == MonthReview.household_id, later.month == MonthReview.month, later.id > MonthReview.id
    )
    return (MonthReview.outcome == ReviewOutcome.DISPUTED, MonthReview.resolved_at.is_(None), ~superseded)


def open_dispute_count(among=None) -> int:
    """How many disputes are open (as open_disputes finds them), among these households' (a subquery) or all."""
    query = sa.select(sa.func.count()).select_from(MonthReview).where(*_open_dispute())
    if among is not None:
        query = query.where(MonthReview.household_id.in_(among))
    return db.session.scalar(query) or 0


def reviews_of(household_id: int) -> list[MonthReview]:
    """Every review of a household, newest first: the history an inspector may ask for."""
    query = sa.select(MonthReview).where(MonthReview.household_id == household_id).order_by(MonthReview.id.desc())
    return list(db.session.scalars(query))
