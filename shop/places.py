"""The county's towns and villages: finding them by name."""

import sqlalchemy as sa
from flask_babel import gettext as _

from .errors import Invalid
from .extensions import db
from .models import Town, Village


class UnknownTown(Invalid):
    """No town of the county has this name."""


def find_town(name: str, field: str = "town") -> Town:
    """The town with this Chinese or English name."""
    name = (name or "").strip()
    town = db.session.scalars(
        sa.select(Town).where(sa.or_(Town.name_zh == name, sa.func.lower(Town.name_en) == name.lower()))
    ).first()
    if town is None:
        raise UnknownTown(_("%(name)s is not a town of the county.", name=name), field)
    return town


def village_in(town_name: str, village_name: str) -> Village:
    """The village of that name in that town, added to the town if it is new."""
    town = find_town(town_name)
    name = village_name.strip()
    if not name:
        raise Invalid(_("Name the village."), "village")
    village = db.session.scalars(sa.select(Village).where(Village.town_id == town.id, Village.name_zh == name)).first()
    if village is None:
        village = Village(town=town, name_zh=name)
        db.session.add(village)
    return village
