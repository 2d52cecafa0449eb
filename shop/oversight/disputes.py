"""Payout disputes: a household says, from its own page, that it did not receive a payout (这笔钱我没收到).

One dispute per payout: pressing the button again raises nothing new. The counter manager, the
household's officer and the supervisors over its town (its town's, and the county bureau) see it
until it is answered, and any of them may answer; the answer shows on the household's page.
Inspectors within their scope read disputes (names masked) and answer none; clerks and other
officers see nothing.
"""

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from shop.clock import now_utc
from shop.errors import Conflict, Forbidden, Invalid, NotFound
from shop.extensions import db
from shop.models import Household, HouseholdLink, Payout, PayoutDispute, Role, User, Village
from shop.plain_text import is_one_line, is_plain_lines
from shop.transaction import atomic
from shop.villages.households import visible_to

#: A household's note: one short line.
MAX_NOTE = 200
#: A staff answer.
MAX_ANSWER = 500
#: Who sees disputes (each within the households they may see) and who answers them.
READERS = (Role.ADMIN, Role.OFFICER, Role.SUPERVISOR, Role.INSPECTOR)
ANSWERERS = (Role.ADMIN, Role.OFFICER, Role.SUPERVISOR)


class NotHouseholdsPayout(NotFound):
    """The payout is not one of this household's."""


class DisputeAlreadyAnswered(Conflict):
    """The dispute has its answer already."""


class MayNotAnswer(Forbidden):
    """Inspectors read disputes; clerks do not see them."""


def check_note(note: str) -> str:
    """A household's note: at most MAX_NOTE characters on one line."""
    note = (note or "").strip()
    if len(note) > MAX_NOTE or not is_one_line(note):
        raise Invalid(_("Write at most %(n)d characters on one line.", n=MAX_NOTE), "note")
    return note


def raise_dispute(link: HouseholdLink, payout_id: int, note: str) -> tuple[PayoutDispute, bool]:
    """Open a dispute on one of the link's household's payouts; (the dispute, whether it is new)."""
    note = check_note(note)
    with atomic() as session:
        payout = session.get(Payout, payout_id)
        if payout is None or payout.household_id != link.household_id:
            raise NotHouseholdsPayout(_("No such payout on this page."))
        existing = session.scalars(sa.select(PayoutDispute).where(PayoutDispute.payout_id == payout.id)).first()
        if existing is not None:
            return existing, False
        dispute = PayoutDispute(payout_id=payout.id, household_id=payout.household_id, link_id=link.id, note=note)
        session.add(dispute)
    return dispute, True


def _scoped(user: User) -> sa.Select:
    """Disputes of the households this user may see disputes of."""
    if user.role not in READERS:
        raise MayNotAnswer(_("Your role does not see payout disputes."))
    households = visible_to(user).with_only_columns(Household.id)
    return sa.select(PayoutDispute).where(PayoutDispute.household_id.in_(households))


def disputes_for(user: User, open_only: bool = False) -> list[PayoutDispute]:
    """The disputes this user sees, unanswered first, newest first."""
    query = _scoped(user).options(
        joinedload(PayoutDispute.payout),
        joinedload(PayoutDispute.household).joinedload(Household.village).joinedload(Village.town),
        joinedload(PayoutDispute.answered_by),
    )
    if open_only:
        query = query.where(PayoutDispute.answered_at.is_(None))
    order = (PayoutDispute.answered_at.is_not(None), PayoutDispute.raised_at.desc(), PayoutDispute.id.desc())
    return list(db.session.scalars(query.order_by(*order)).unique())


def open_count(user: User) -> int:
    """How many disputes this user sees that wait for an answer."""
    if user.role not in READERS:
        return 0
    query = _scoped(user).where(PayoutDispute.answered_at.is_(None))
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())))


def answer_dispute(dispute_id: int, answer: str, by: User) -> PayoutDispute:
    """Record the staff's answer to a dispute, once."""
    if by.role not in ANSWERERS:
        raise MayNotAnswer(_("Inspectors read payout disputes but do not answer them."))
    answer = (answer or "").strip()
    if not answer or len(answer) > MAX_ANSWER or not is_plain_lines(answer):
        raise Invalid(_("Write an answer of at most %(n)d characters.", n=MAX_ANSWER), "answer")
    with atomic() as session:
        query = _scoped(by).where(PayoutDispute.id == dispute_id).with_for_update()
        dispute = session.scalars(query).first()
        if dispute is None:
            raise NotFound(_("No payout dispute has id %(id)s.", id=dispute_id))
        if dispute.answered_at is not None:
            raise DisputeAlreadyAnswered(_("This dispute has been answered already."))
        dispute.answered_at, dispute.answered_by_id, dispute.answer = now_utc(), by.id, answer
    return dispute
