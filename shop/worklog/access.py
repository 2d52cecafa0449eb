"""Who may read and write a household's work ledger.

The household's own officer and the counter manager write it; supervisors and inspectors read it
within their town (or the whole county) and write nothing; clerks have no part in it.
"""

import sqlalchemy as sa
from flask_babel import gettext as _

from shop.errors import Forbidden, NotFound
from shop.models import Household, Role, User
from shop.villages.households import visible_to

#: Roles that read work ledgers (each within its scope: shop.villages.households.visible_to).
READERS = (Role.ADMIN, Role.OFFICER, Role.SUPERVISOR, Role.INSPECTOR)
#: Roles that write them: the manager, and an officer for their own households.
WRITERS = (Role.ADMIN, Role.OFFICER)


class NotYourHousehold(Forbidden):
    """Only the household's own officer (or the manager) writes its work ledger."""


def readable(session, user: User, household_id: int) -> Household:
    """A household whose work ledger the user may read; another's is "not found", so ids reveal nothing."""
    if user.role not in READERS:
        raise NotYourHousehold(_("Your role does not keep work ledgers."))
    household = session.scalars(visible_to(user).where(Household.id == household_id)).first()
    if household is None:
        raise NotFound(_("No household has id %(id)s.", id=household_id))
    return household


def writable(session, user: User, household_id: int) -> Household:
    """The household, locked, if the user may write its work ledger: 404 out of sight, 403 in sight but not theirs."""
    household = readable(session, user, household_id)
    if user.role not in WRITERS:
        raise NotYourHousehold(_("Only the household's officer or the counter manager records its work."))
    locked = session.scalars(sa.select(Household).where(Household.id == household.id).with_for_update()).one()
    return locked
