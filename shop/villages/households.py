"""Households: who may see which, listing them, and the changes of their record and standing over time."""

import re
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from shop.clock import business_today
from shop.errors import Conflict, Invalid, NotFound
from shop.extensions import db
from shop.models import (
    Household,
    HouseholdCategory,
    HouseholdChange,
    HouseholdField,
    HouseholdStatus,
    MonitoringStatus,
    MonitorSubtype,
    Role,
    Town,
    User,
    Village,
    normalise_username,
)
from shop.plain_text import is_one_line, is_plain_lines
from shop.privacy import mask_name, mask_phone
from shop.transaction import atomic
from shop.villages.places import village_in
from shop.villages.standing import Standing, StandingRefused, changed_standing

HOUSEHOLD_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,31}")
#: A mainland mobile number.
MOBILE = re.compile(r"1[3-9][0-9]{9}")
#: More people than this in one household is a typing mistake.
MAX_MEMBERS = 50

#: Where a change to a household was made, as its history records it.
#: (An officer's account naming its households hands them over too.)
FROM_PAGE, FROM_API, FROM_IMPORT, FROM_ACCOUNT = "page", "api", "import", "account"


class DuplicateHouseholdCode(Conflict):
    """Another household already has this code."""


class UnknownHousehold(Invalid):
    """The household named does not exist."""


class UnknownOfficer(Invalid):
    """The officer named is not an active officer account."""


def visible_to(user: User) -> sa.Select:
    """Households this user may see: the scoping lives in the query, not the template.

    Officers see their own households, a town's supervisor or inspector that town's, and
    admins, clerks (who receive goods from anyone), the county bureau and county inspectors all.
    """
    query = sa.select(Household)
    if user.role is Role.OFFICER:
        return query.where(Household.officer_id == user.id)
    if user.role in (Role.SUPERVISOR, Role.INSPECTOR) and user.town_id is not None:
        return query.join(Household.village).where(Village.town_id == user.town_id)
    return query


def list_visible(user: User) -> list[Household]:
    """The households this user may see, with their village and town, by code."""
    query = visible_to(user).options(
        joinedload(Household.village).joinedload(Village.town), joinedload(Household.officer)
    )
    return list(db.session.scalars(query.order_by(Household.code)).unique())


#: Who receives goods at the counter, with the household standing there to be told apart by name.
RECEIVERS = (Role.ADMIN, Role.CLERK)


def named_in_full(user: User, found: list[Household], *, receiving: bool = False) -> set[int]:
    """The ids of the households among `found` whose head's name and phone this user's work needs in full.

    Least privilege: staff receiving goods tell apart the households whose names mask alike (周*),
    and an officer works with their own households; everyone else sees masks. Each full view is
    for the caller to log (shop.audit.personal_data_listed).
    """
    if receiving and user.role in RECEIVERS:
        return {h.id for h in found}
    if user.role is Role.OFFICER:
        return {h.id for h in found if h.officer_id == user.id}
    return set()


#: A search for a household offers at most this many: a list a clerk can read on a tablet.
SEARCH_LIMIT = 20
#: Longest search text: a code is 32 characters, a name or a village far fewer.
MAX_SEARCH = 40


def search_text(raw: str | None) -> str:
    """What was typed into a household search, printable, trimmed and cut to MAX_SEARCH (NUL would break PostgreSQL)."""
    text = "".join(c for c in (raw or "")[: MAX_SEARCH * 4] if c.isprintable())
    return text.strip()[:MAX_SEARCH]


def search_visible(user: User, typed: str | None, limit: int = SEARCH_LIMIT) -> list[Household]:
    """At most `limit` households the user may see whose code, head's name or village contains the text, by code.

    Nothing typed finds nothing: with 50,000 households a list of all of them helps no one. The
    text is matched literally (a typed % or _ is no wildcard).
    """
    text = search_text(typed)
    if not text:
        return []
    villages = sa.select(Village.id).where(
        sa.or_(Village.name_zh.contains(text, autoescape=True), _holds(Village.name_en, text))
    )
    query = (
        visible_to(user)
        .where(
            sa.or_(
                _holds(Household.code, text),
                Household.head_name.contains(text, autoescape=True),
                Household.village_id.in_(villages),
            )
        )
        .options(joinedload(Household.village).joinedload(Village.town))
        .order_by(Household.code)
        .limit(max(1, min(limit, SEARCH_LIMIT)))
    )
    return list(db.session.scalars(query).unique())


def _holds(column, text: str):
    """The column contains the text literally, whatever its ASCII letters' case.

    SQLite's LIKE already ignores ASCII case, and lower() on every row made a search of 50,000
    households three times slower there; PostgreSQL needs ILIKE.
    """
    if db.session.get_bind().dialect.name == "sqlite":
        return column.contains(text, autoescape=True)
    return column.icontains(text, autoescape=True)


def active_officers() -> list[User]:
    """The officer accounts a household can be handed to, by username."""
    query = sa.select(User).where(User.role == Role.OFFICER, User.active).order_by(User.username)
    return list(db.session.scalars(query))


def towns() -> list[Town]:
    """The county's towns, in the order they were added."""
    return list(db.session.scalars(sa.select(Town).order_by(Town.id)))


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
            head_name=check_head_name(head_name),
            members=check_members(members),
            village=village_in(town, village),
            category=category,
            monitor_subtype=MonitorSubtype(monitor_subtype) if monitor_subtype else None,
            monitoring_status=MonitoringStatus.IDENTIFIED if monitored else None,
            officer=find_officer(officer),
            phone=check_phone(phone),
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


# ---------------------------------------------------------------- checks every way in shares


def check_head_name(name: str) -> str:
    """A head's name: one line of 1 to 50 characters."""
    name = (name or "").strip()
    if not name or len(name) > 50 or not is_one_line(name):
        raise Invalid(_("Give the head's name in one line of at most 50 characters."), "head_name")
    return name


def check_members(members: int) -> int:
    """A member count: a whole number from 1 to MAX_MEMBERS."""
    if isinstance(members, bool) or not isinstance(members, int) or not 0 < members <= MAX_MEMBERS:
        raise Invalid(_("Members is a whole number from 1 to %(n)s.", n=MAX_MEMBERS), "members")
    return members


def check_phone(phone: str | None) -> str | None:
    """A mainland mobile number of 11 digits, or None for no phone."""
    phone = (phone or "").strip()
    if phone and not MOBILE.fullmatch(phone):
        raise Invalid(_("A phone number is 11 digits starting with 1, such as 13812345678."), "phone")
    return phone or None


def check_reason(reason: str, *, required: bool) -> str:
    """Why a change was made: at most 500 characters, line breaks allowed."""
    reason = (reason or "").strip()
    if required and not reason:
        raise Invalid(_("Say why, for the household's history."), "reason")
    if len(reason) > 500 or not is_plain_lines(reason):
        raise Invalid(_("The reason is at most 500 characters, without control characters."), "reason")
    return reason


def find_officer(username: str, field: str = "officer") -> User:
    """The active officer account with this username."""
    officer = db.session.scalars(
        sa.select(User).where(User.username == normalise_username(username), User.role == Role.OFFICER, User.active)
    ).first()
    if officer is None:
        raise UnknownOfficer(_("%(name)s is not an active officer.", name=username), field)
    return officer


# ---------------------------------------------------------------- changes to the record


@dataclass(frozen=True)
class NewFacts:
    """What a change asks of a household's record, already checked and looked up; None leaves a part alone."""

    head_name: str | None = None
    members: int | None = None
    #: "" removes the phone number.
    phone: str | None = None
    village: Village | None = None
    officer: User | None = None


def village_text(village: Village | None) -> str:
    """A village as the history names it: 和舍镇 丛潭村."""
    return f"{village.town.name_zh} {village.name_zh}" if village else ""


def _officer_text(officer: User | None) -> str:
    return officer.username if officer else ""


#: How the history shows each part's values: names and phones masked, as the audit trail keeps them.
SHOWN = {
    HouseholdField.HEAD_NAME: mask_name,
    HouseholdField.MEMBERS: str,
    HouseholdField.PHONE: mask_phone,
    HouseholdField.VILLAGE: village_text,
    HouseholdField.OFFICER: _officer_text,
}


def change_part(
    session, household: Household, field: HouseholdField, new, *, by: User | None, reason: str, source: str
) -> HouseholdChange | None:
    """Set one part of a household's record in the caller's transaction, keeping the change in its history.

    A part that already holds the value is not changed and records nothing.
    """
    old = getattr(household, field.value)
    if new == old:
        return None
    shown = SHOWN[field]
    change = HouseholdChange(
        household=household,
        field=field,
        before=shown(old) if old is not None else "",
        after=shown(new) if new is not None else "",
        reason=reason,
        source=source,
        changed_by_id=by.id if by else None,
    )
    setattr(household, field.value, new)
    session.add(change)
    return change


def record_changes(
    session, household: Household, facts: NewFacts, *, by: User | None, reason: str, source: str
) -> list[HouseholdChange]:
    """Change the parts of a household's record that facts name; re-sending the same record records nothing."""
    asked = {
        HouseholdField.HEAD_NAME: facts.head_name,
        HouseholdField.MEMBERS: facts.members,
        HouseholdField.PHONE: None if facts.phone is None else facts.phone or None,
        HouseholdField.VILLAGE: facts.village,
        HouseholdField.OFFICER: facts.officer,
    }
    changes = [
        change_part(session, household, field, new, by=by, reason=reason, source=source)
        for field, new in asked.items()
        if new is not None or (field is HouseholdField.PHONE and facts.phone is not None)
    ]
    return [change for change in changes if change]


def edit_household(
    household_id: int,
    *,
    by: User,
    source: str,
    reason: str = "",
    head_name: str | None = None,
    members: int | None = None,
    phone: str | None = None,
    town: str | None = None,
    village: str | None = None,
    officer: str | None = None,
) -> list[HouseholdChange]:
    """Use case: the manager changes a household's record; each change lands in its history and the audit trail.

    A village alone stays in the household's town; a town needs its village named too.
    """
    with atomic() as session:
        household = _locked(session, household_id)
        if town is not None and village is None:
            raise Invalid(_("Name the village in %(town)s too.", town=town), "village")
        facts = NewFacts(
            head_name=check_head_name(head_name) if head_name is not None else None,
            members=check_members(members) if members is not None else None,
            phone=(check_phone(phone) or "") if phone is not None else None,
            village=village_in(town or household.village.town.name_zh, village) if village is not None else None,
            officer=find_officer(officer) if officer is not None else None,
        )
        return record_changes(
            session, household, facts, by=by, reason=check_reason(reason, required=False), source=source
        )


def _locked(session, household_id: int) -> Household:
    """The household, locked for the change (PostgreSQL; SQLite's write lock is already held)."""
    household = session.scalars(sa.select(Household).where(Household.id == household_id).with_for_update()).first()
    if household is None:
        raise NotFound(_("No household has id %(id)s.", id=household_id))
    return household


# ---------------------------------------------------------------- changes of standing


class StatusChangeRefused(Invalid):
    """A category or monitoring-status change the rules do not allow."""


def status_refusal(refused: StandingRefused) -> StatusChangeRefused:
    """The words for a broken standing rule."""
    message = {
        StandingRefused.FUTURE: _("A change cannot be dated in the future."),
        StandingRefused.BEFORE_LAST: _("A change cannot be dated before the household's last change."),
        StandingRefused.UNCHANGED: _("This is already the household's category and status."),
        StandingRefused.NOT_MONITORED: _("Only a monitored household (监测户) has a subtype and a monitoring status."),
        StandingRefused.RELAPSE_WITHOUT_ELIMINATION: _("Only a household whose risk was eliminated can relapse."),
    }[refused.reason]
    return StatusChangeRefused(message, refused.field)


def record_status(
    household_id: int,
    *,
    category: HouseholdCategory,
    effective_on: date,
    reason: str,
    by: User,
    monitoring_status: MonitoringStatus | None = None,
    monitor_subtype: MonitorSubtype | None = None,
) -> HouseholdStatus:
    """Use case: record a household's new category or monitoring status from a date on.

    Ledger entries written afterwards carry the new standing; entries already written keep theirs.
    """
    with atomic() as session:
        household = _locked(session, household_id)
        return change_standing(
            session,
            household,
            category=category,
            effective_on=effective_on,
            reason=reason,
            by=by,
            monitoring_status=monitoring_status,
            monitor_subtype=monitor_subtype,
        )


def change_standing(
    session,
    household: Household,
    *,
    category: HouseholdCategory,
    effective_on: date,
    reason: str,
    by: User,
    monitoring_status: MonitoringStatus | None = None,
    monitor_subtype: MonitorSubtype | None = None,
) -> HouseholdStatus:
    """A change of standing inside the caller's transaction, on a household the caller locked.

    record_status calls it, and so does the approval of a risk-elimination proposal, so that the
    approval and the status change are one transaction.
    """
    reason = check_reason(reason, required=True)
    last_on = session.scalar(
        sa.select(sa.func.max(HouseholdStatus.effective_on)).where(HouseholdStatus.household_id == household.id)
    )
    current = Standing(household.category, household.monitor_subtype, household.monitoring_status)
    try:
        new = changed_standing(
            current,
            HouseholdCategory(category),
            MonitorSubtype(monitor_subtype) if monitor_subtype else None,
            MonitoringStatus(monitoring_status) if monitoring_status else None,
            effective_on=effective_on,
            last_change_on=last_on,
            today=business_today(),
        )
    except StandingRefused as refused:
        raise status_refusal(refused) from None
    household.category = new.category
    household.monitor_subtype = new.subtype
    household.monitoring_status = new.status
    status = HouseholdStatus(
        household=household,
        category=new.category,
        monitor_subtype=new.subtype,
        monitoring_status=new.status,
        effective_on=effective_on,
        note=reason,
        recorded_by_id=by.id,
    )
    session.add(status)
    session.flush()
    return status


def history_of(household_id: int) -> tuple[list[HouseholdStatus], list[HouseholdChange]]:
    """A household's standings (oldest first) and record changes (newest first), with who recorded them."""
    statuses = db.session.scalars(
        sa.select(HouseholdStatus)
        .where(HouseholdStatus.household_id == household_id)
        .options(joinedload(HouseholdStatus.recorded_by))
        .order_by(HouseholdStatus.effective_on, HouseholdStatus.id)
    ).all()
    changes = db.session.scalars(
        sa.select(HouseholdChange)
        .where(HouseholdChange.household_id == household_id)
        .options(joinedload(HouseholdChange.changed_by))
        .order_by(HouseholdChange.changed_at.desc(), HouseholdChange.id.desc())
    ).all()
    return list(statuses), list(changes)
