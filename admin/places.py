"""Counters, towns and villages, for the counter manager: the lists, adding, renaming a counter, closing and reopening.

Every change goes through one use case in shop.stock.counters or shop.villages.places (one transaction each)
and lands in the audit trail. A closed counter keeps its lots and history but is no longer
offered for selling or receiving; the last open counter cannot be closed. A whole county's
towns and villages come from a file with `flask --app shop places import` instead.
"""

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional

from shop.errors import DomainError
from shop.extensions import db
from shop.models import Role
from shop.stock import counters
from shop.villages import places
from shop.web.access import roles_required
from shop.web.forms import OneLineField
from shop.web.responses import status_of

bp = Blueprint("admin_places", __name__, url_prefix="/admin/places")

manager_only = roles_required(Role.ADMIN)


class CounterForm(FlaskForm):
    """A counter's name, address, opening hours and phone (its code is set once, on the new counter's form)."""

    name = OneLineField(_l("Counter name"), validators=[DataRequired()], max_length=counters.NAME_MAX)
    address = OneLineField(_l("Address"), validators=[Optional()], max_length=counters.ADDRESS_MAX)
    opening_hours = OneLineField(_l("Opening hours"), validators=[Optional()], max_length=counters.HOURS_MAX)
    phone = OneLineField(_l("Phone for buyers"), validators=[Optional()], max_length=counters.PHONE_MAX)


class NewCounterForm(CounterForm):
    """A new counter: its code too."""

    code = OneLineField(_l("Code"), validators=[DataRequired()], max_length=counters.CODE_MAX)


class OpenForm(FlaskForm):
    """Close (0) or reopen (1)."""

    active = SelectField(choices=[SelectChoice("0", "0"), SelectChoice("1", "1")], validators=[DataRequired()])


class PlaceForm(FlaskForm):
    """A town's or a village's Chinese and English names."""

    name_zh = OneLineField(_l("Chinese name"), validators=[DataRequired()])
    name_en = OneLineField(_l("English name"), validators=[Optional()], max_length=places.ENGLISH_NAME_MAX)


def show_refusal(form: FlaskForm, error: DomainError) -> int:
    """Put a use case's refusal beside its field (or at the top) and return the HTTP status of its kind."""
    if error.field and error.field in form:
        form[error.field].errors = [*form[error.field].errors, error.message]
    else:
        form.form_errors.append(error.message)
    return status_of(error)


# ---------------------------------------------------------------- the overview


@bp.get("/")
@manager_only
def index():
    """The counters, open ones first, and the towns with their number of villages."""
    return render_template("admin/places/index.html", counters=counters.counter_list(), towns=places.town_list())


# ---------------------------------------------------------------- counters


@bp.route("/counters/new", methods=["GET", "POST"])
@manager_only
def new_counter():
    """Set up a counter."""
    form = NewCounterForm()
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            try:
                counter = counters.add_counter(
                    form.code.data,
                    form.name.data,
                    form.address.data or "",
                    form.opening_hours.data or "",
                    form.phone.data or "",
                )
            except DomainError as error:
                status = show_refusal(form, error)
            else:
                flash(_("Added the counter %(name)s (%(code)s).", name=counter.name, code=counter.code), "info")
                return redirect(url_for(".index"))
    return render_template("admin/places/counter_new.html", form=form), status


def counter_page(counter_id: int, form: CounterForm | None = None, status: int = 200, open_form=None):
    """A counter's page: its name and address, and closing or reopening it."""
    counter = counters.counter_by_id(counter_id)
    if form is None:
        form = CounterForm(
            formdata=None,
            name=counter.name,
            address=counter.address,
            opening_hours=counter.opening_hours,
            phone=counter.phone,
        )
    body = render_template(
        "admin/places/counter.html", counter=counter, form=form, open_form=open_form or OpenForm(formdata=None)
    )
    return body, status


@bp.route("/counters/<id:counter_id>", methods=["GET", "POST"])
@manager_only
def edit_counter(counter_id: int):
    """Rename a counter or change its address."""
    counter = counters.counter_by_id(counter_id)
    form = CounterForm()
    if not form.is_submitted():
        return counter_page(counter.id)
    if not form.validate():
        return counter_page(counter.id, form, 422)
    try:
        counters.edit_counter(
            counter.id, form.name.data, form.address.data or "", form.opening_hours.data or "", form.phone.data or ""
        )
    except DomainError as error:
        db.session.rollback()
        return counter_page(counter_id, form, show_refusal(form, error))
    flash(_("Saved the counter %(code)s.", code=counter.code), "info")
    return redirect(url_for(".index"))


@bp.post("/counters/<id:counter_id>/open")
@manager_only
def set_counter_open(counter_id: int):
    """Close a counter (not the last open one) or reopen it."""
    counter = counters.counter_by_id(counter_id)
    form = OpenForm()
    if not form.validate():
        form.form_errors.append(_("Choose close or reopen."))
        return counter_page(counter.id, status=422, open_form=form)
    try:
        counters.set_counter_open(counter.id, form.active.data == "1")
    except DomainError as error:
        db.session.rollback()
        return counter_page(counter_id, status=show_refusal(form, error), open_form=form)
    if form.active.data == "1":
        flash(_("%(name)s is open again: it is offered for selling and receiving.", name=counter.name), "info")
    else:
        flash(_("%(name)s is closed. Its lots and history stay.", name=counter.name), "info")
    return redirect(url_for(".index"))


# ---------------------------------------------------------------- towns and villages


@bp.route("/towns/new", methods=["GET", "POST"])
@manager_only
def new_town():
    """Add a town of the county."""
    form = PlaceForm()
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            try:
                town = places.add_town(form.name_zh.data, form.name_en.data or "")
            except DomainError as error:
                status = show_refusal(form, error)
            else:
                flash(_("Added the town %(name)s.", name=town.name_zh), "info")
                return redirect(url_for(".town", town_id=town.id))
    return render_template("admin/places/town_new.html", form=form), status


def town_page(town_id: int, form: PlaceForm | None = None, status: int = 200):
    """A town's page: its villages and the form to add one."""
    town = places.town_by_id(town_id)
    body = render_template(
        "admin/places/town.html",
        town=town,
        villages=places.villages_of(town),
        form=form or PlaceForm(formdata=None),
    )
    return body, status


@bp.get("/towns/<id:town_id>")
@manager_only
def town(town_id: int):
    """A town's villages."""
    return town_page(town_id)


@bp.post("/towns/<id:town_id>/villages")
@manager_only
def add_village(town_id: int):
    """Add a village to a town."""
    town = places.town_by_id(town_id)
    form = PlaceForm()
    if not form.validate():
        return town_page(town.id, form, 422)
    try:
        village = places.add_village(town.id, form.name_zh.data, form.name_en.data or "")
    except DomainError as error:
        db.session.rollback()
        return town_page(town_id, form, show_refusal(form, error))
    flash(_("Added the village %(name)s to %(town)s.", name=village.name_zh, town=town.name_zh), "info")
    return redirect(url_for(".town", town_id=town_id))
