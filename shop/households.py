"""Households: who may see which, and adding them to the list."""

import re

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from .clock import business_today
from .errors import Conflict, Invalid, NotFound
from .extensions import db
from .models import (
    Household,
    HouseholdCategory,
    HouseholdStatus,
    MonitoringStatus,
    MonitorSubtype,
    Role,
    User,
    Village,
    normalise_username,
)
from .places import village_in
from .transaction import atomic

HOUSEHOLD_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")


class DuplicateHouseholdCode(Conflict):
    """Another household already has this code."""


class UnknownHousehold(Invalid):
    """The household named does not exist."""


class UnknownOfficer(Invalid):
    """The officer named is not an active officer account."""


def visible_to(user: User) -> sa.Select:
    """Households this user may see: the scoping lives in the query, not the template.

    Officers see their own households, a town's supervisor that town's, and
    admins, clerks (who receive goods from anyone) and the county bureau all.
    """
    query = sa.select(Household)
    if user.role is Role.OFFICER:
        return query.where(Household.officer_id == user.id)
    if user.role is Role.SUPERVISOR and user.town_id is not None:
        return query.join(Household.village).where(Village.town_id == user.town_id)
    return query


def list_visible(user: User) -> list[Household]:
    """The households this user may see, with their village and town, by code."""
    query = visible_to(user).options(
        joinedload(Household.village).joinedload(Village.town), joinedload(Household.officer)
    )
    return list(db.session.scalars(query.order_by(Household.code)).unique())


def with_places(household_ids: list[int]) -> dict[int, Household]:
    """These households, with their village, town and officer loaded, by id."""
    query = (
        sa.select(Household)
        .where(Household.id.in_(household_ids))
        .options(joinedload(Household.village).joinedload(Village.town), joinedload(Household.officer))
    )
    return {household.id: household for household in db.session.scalars(query).unique()}


def create_household(
    *,
    code: str,
    head_name: str,
    town: str,
    village: str,
    members: int,
    category: HouseholdCategory,
    officer: str,
    recorded_by: User,
    monitor_subtype: MonitorSubtype | None = None,
    phone: str | None = None,
) -> Household:
    """List a household in a village of the county, with its officer and first status."""
    with atomic() as session:
        code = code.strip()
        if not HOUSEHOLD_CODE.fullmatch(code):
            raise Invalid(_("A code is up to 32 letters, digits and '-'."), "code")
        if session.scalars(sa.select(Household.id).where(Household.code == code)).first():
            raise DuplicateHouseholdCode(_("The household code %(code)s is taken.", code=code), "code")
        category = HouseholdCategory(category)
        if monitor_subtype and category is not HouseholdCategory.JIANCE:
            raise Invalid(_("Only a monitored household (监测户) has a subtype."), "monitor_subtype")
        monitored = category is HouseholdCategory.JIANCE
        household = Household(
            code=code,
            head_name=head_name.strip(),
            members=members,
            village=village_in(town, village),
            category=category,
            monitor_subtype=MonitorSubtype(monitor_subtype) if monitor_subtype else None,
            monitoring_status=MonitoringStatus.IDENTIFIED if monitored else None,
            officer=_officer(officer),
            phone=phone or None,
        )
        session.add(household)
        session.add(
            HouseholdStatus(
                household=household,
                category=household.category,
                monitor_subtype=household.monitor_subtype,
                monitoring_status=household.monitoring_status,
                effective_on=business_today(),
                note=_("Listed"),
                recorded_by_id=recorded_by.id,
            )
        )
    return household


def _officer(username: str) -> User:
    officer = db.session.scalars(
        sa.select(User).where(
            User.username == normalise_username(username),
            User.role == Role.OFFICER,
            User.active,
        )
    ).first()
    if officer is None:
        raise UnknownOfficer(_("%(name)s is not an active officer.", name=username), "officer")
    return officer


def households_by_code(codes: list[str], field: str) -> list[Household]:
    """The households with these codes; naming one that does not exist is an error."""
    wanted = {c.strip() for c in codes if c.strip()}
    found = db.session.scalars(sa.select(Household).where(Household.code.in_(wanted))).all()
    missing = wanted - {h.code for h in found}
    if missing:
        raise UnknownHousehold(_("No household has the code %(codes)s.", codes=", ".join(sorted(missing))), field)
    return list(found)


def visible_household(user: User, household_id: int) -> Household:
    """A household the user may see; another's is "not found", so ids reveal nothing."""
    household = db.session.scalars(visible_to(user).where(Household.id == household_id)).first()
    if household is None:
        raise NotFound(_("No household has id %(id)s.", id=household_id))
    return household
