"""Corrections to a household's income: one staff member proposes, a second approves.

Nothing reaches the ledger until the second person approves, and then only as
a new signed entry; the entries it corrects stay as they were.
"""

import sqlalchemy as sa
from flask_babel import gettext as _

from shop.clock import business_today, now_utc
from shop.errors import Conflict, Forbidden, Invalid, NotFound
from shop.extensions import db
from shop.ledger import entries
from shop.models import Adjustment, AdjustmentStatus, Role, User
from shop.money import MAX_FEN
from shop.transaction import atomic
from shop.villages.households import visible_household

#: How far back a correction may be dated: far enough for last year's review, no further.
MAX_AGE_DAYS = 400


class AlreadyDecided(Conflict):
    """Someone approved or rejected this adjustment already."""

    code = "already_decided"


class SamePerson(Forbidden):
    """The person who proposed an adjustment may not approve it too."""

    code = "second_person_required"


def propose(*, household_id: int, amount_fen: int, entry_date, reason: str, by: User) -> Adjustment:
    """Propose a signed correction to a household's income on a day, with the reason."""
    if by.role not in (Role.ADMIN, Role.OFFICER):
        raise Forbidden(_("Only the counter manager or the household's officer proposes corrections."))
    household = visible_household(by, household_id)
    _check(amount_fen, entry_date, reason)
    with atomic() as session:
        adjustment = Adjustment(
            household_id=household.id,
            amount_fen=amount_fen,
            entry_date=entry_date,
            reason=reason.strip(),
            requested_by_id=by.id,
        )
        session.add(adjustment)
    return adjustment


def _check(amount_fen, entry_date, reason: str) -> None:
    if not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen == 0:
        raise Invalid(_("The amount must be a whole number of fen, more or less than nothing."), "amount_fen")
    if abs(amount_fen) > MAX_FEN:
        raise Invalid(_("The amount is too large."), "amount_fen")
    today = business_today()
    if entry_date > today:
        raise Invalid(_("A correction cannot be dated in the future."), "entry_date")
    if (today - entry_date).days > MAX_AGE_DAYS:
        raise Invalid(_("A correction can be dated at most %(days)s days back.", days=MAX_AGE_DAYS), "entry_date")
    if not reason or not reason.strip():
        raise Invalid(_("Say why the income needs correcting."), "reason")
    if len(reason) > 500:
        raise Invalid(_("The reason is too long."), "reason")


def decide(*, adjustment_id: int, approve: bool, note: str, by: User) -> Adjustment:
    """Approve (writing the ledger entry) or reject a pending adjustment; only a second admin may."""
    if by.role is not Role.ADMIN:
        raise Forbidden(_("Only the counter manager approves corrections."))
    if len(note or "") > 500:
        raise Invalid(_("The note is too long."), "note")
    with atomic() as session:
        adjustment = session.scalars(
            sa.select(Adjustment).where(Adjustment.id == adjustment_id).with_for_update()
        ).first()
        if adjustment is None:
            raise NotFound(_("No adjustment has id %(id)s.", id=adjustment_id))
        if adjustment.status is not AdjustmentStatus.PENDING:
            raise AlreadyDecided(_("This adjustment was decided already."))
        if adjustment.requested_by_id == by.id:
            raise SamePerson(_("A second person must approve a correction you proposed."))
        adjustment.status = AdjustmentStatus.APPROVED if approve else AdjustmentStatus.REJECTED
        adjustment.decided_by_id = by.id
        adjustment.decided_at = now_utc()
        adjustment.decision_note = (note or "").strip()
        if approve:
            entries.record_adjustment(session, adjustment, by)
    return adjustment


def pending() -> list[Adjustment]:
    """Adjustments waiting for a second person, oldest first."""
    query = sa.select(Adjustment).where(Adjustment.status == AdjustmentStatus.PENDING).order_by(Adjustment.id)
    return list(db.session.scalars(query))


def of_household(household_id: int) -> list[Adjustment]:
    """A household's adjustments, newest first, whatever their status."""
    query = sa.select(Adjustment).where(Adjustment.household_id == household_id).order_by(Adjustment.id.desc())
    return list(db.session.scalars(query))
