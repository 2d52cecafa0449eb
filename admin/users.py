"""Staff accounts, for the counter manager only: the list, adding, editing, (de)activating, resetting a password.

Every change goes through one use case in shop.staff.accounts (one transaction each), which also checks
the rules that keep the counter runnable: a role's kind of scope (a town for a supervisor,
households for an officer, a counter for the till), and at least one active manager who is not
locking themselves out. A new account and a reset password are temporary: the holder must choose
their own at the next sign-in (shop.web.auth holds them on the password page until they do).
"""

import re

import sqlalchemy as sa
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional, Regexp

from shop.clock import local_time
from shop.errors import DomainError
from shop.extensions import db
from shop.models import Counter, Role, Town
from shop.staff import accounts
from shop.web.access import roles_required, signed_in_user
from shop.web.forms import OneLineField, show_domain_error
from shop.web.responses import error_response
from shop.web.templating import label, localised

bp = Blueprint("admin_users", __name__, url_prefix="/admin/users")

manager_only = roles_required(Role.ADMIN)

#: Household codes, one per line or separated by commas or spaces.
CODES = Regexp(r"^[A-Za-z0-9_.\-\s,，;；]*$", message=_l("Household codes are letters, digits, '-', '_' and '.'."))
#: Which form field shows each use-case error.
FIELDS = {f: f for f in ("username", "display_name", "role", "town", "counter", "households", "password")}


def role_choices() -> list[SelectChoice]:
    """The roles, as the select offers them."""
    return [SelectChoice(r.value, label(r)) for r in Role]


def town_choices() -> list[SelectChoice]:
    """The county bureau (no town), then each town."""
    towns = db.session.scalars(sa.select(Town).order_by(Town.id))
    county = SelectChoice("", _("— the whole county (county bureau) —"))
    return [county] + [SelectChoice(t.name_zh, localised(t)) for t in towns]


def counter_choices() -> list[SelectChoice]:
    """No counter (the first one is used), then each open counter."""
    counters = db.session.scalars(sa.select(Counter).where(Counter.active).order_by(Counter.id))
    return [SelectChoice("", _("— the first counter —"))] + [SelectChoice(c.code, c.name) for c in counters]


def split_codes(text: str | None) -> list[str]:
    """Household codes typed one per line or separated by commas or spaces."""
    return [c for c in re.split(r"[\s,，;；]+", text or "") if c]


class AccountForm(FlaskForm):
    """The name, role and scope of an account."""

    display_name = OneLineField(_l("Display name"), validators=[Optional()], max_length=60)
    role = SelectField(_l("Role"), validators=[DataRequired()])
    town = SelectField(_l("Town (supervisors and inspectors only)"), validators=[Optional()], validate_choice=True)
    counter = SelectField(_l("Counter (clerks and the manager)"), validators=[Optional()], validate_choice=True)
    households = TextAreaField(_l("Household codes (officers only)"), validators=[Length(max=4000), CODES])

    def fill_choices(self) -> None:
        """The select options, read from the database for this request."""
        self.role.choices = role_choices()
        self.town.choices = town_choices()
        self.counter.choices = counter_choices()

    def scope(self) -> dict:
        """The use case's keyword arguments from the form."""
        return {
            "display_name": self.display_name.data or "",
            "town": self.town.data or None,
            "counter_code": self.counter.data or None,
            "household_codes": split_codes(self.households.data),
        }


class NewAccountForm(AccountForm):
    """A new account: its username and first password too."""

    username = OneLineField(_l("Username"), validators=[DataRequired()], max_length=40)
    password = PasswordField(
        _l("First password"), validators=[DataRequired(), Length(max=accounts.MAX_PASSWORD_LENGTH)]
    )


class ResetForm(FlaskForm):
    """A temporary password the holder must replace at their next sign-in."""

    password = PasswordField(
        _l("Temporary password"), validators=[DataRequired(), Length(max=accounts.MAX_PASSWORD_LENGTH)]
    )


class ActiveForm(FlaskForm):
    """Deactivate (0) or reactivate (1)."""

    active = SelectField(choices=[SelectChoice("0", "0"), SelectChoice("1", "1")], validators=[DataRequired()])


def changed_text(value) -> str:
    """When a password was last set, in the counter's time."""
    return local_time(value).strftime("%Y-%m-%d %H:%M") if value else "—"


@bp.get("/")
@manager_only
def index():
    """Every staff account with its role, scope, state and last password change."""
    return render_template("admin/users/index.html", rows=accounts.staff_list(), changed_text=changed_text)


@bp.route("/new", methods=["GET", "POST"])
@manager_only
def new():
    """Add an account with a first password its holder must change."""
    form = NewAccountForm()
    form.fill_choices()
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            try:
                user = accounts.add_staff(
                    signed_in_user(), form.username.data, form.password.data, form.role.data, **form.scope()
                )
            except DomainError as error:
                status = show_domain_error(form, error, FIELDS)
            else:
                flash(_("Added %(name)s. They choose their own password at first sign-in.", name=user.username), "info")
                return redirect(url_for(".index"))
    return render_template("admin/users/new.html", form=form), status


def edit_page(user, form: AccountForm, status: int = 200, reset_form=None):
    """The account's page: its details form, the reset form and the (de)activate button."""
    body = render_template(
        "admin/users/edit.html",
        user=user,
        form=form,
        reset_form=reset_form or ResetForm(formdata=None),
        active_form=ActiveForm(formdata=None),
        household_count=len(accounts.household_codes_of(user)),
        changed_text=changed_text,
    )
    return body, status


def details_form(user) -> AccountForm:
    """The details form filled in with the account as it is."""
    form = AccountForm(
        formdata=None,
        display_name=user.display_name,
        role=user.role.value,
        town=user.town.name_zh if user.town else "",
        counter=user.counter.code if user.counter else "",
        households="\n".join(accounts.household_codes_of(user)),
    )
    form.fill_choices()
    return form


@bp.route("/<id:user_id>", methods=["GET", "POST"])
@manager_only
def edit(user_id: int):
    """Change an account's display name, role and scope."""
    user = accounts.staff_member(user_id)
    if request.method == "GET":
        return edit_page(user, details_form(user))
    form = AccountForm()
    form.fill_choices()
    if not form.validate():
        return edit_page(user, form, 422)
    try:
        accounts.update_user(user_id, signed_in_user(), role=form.role.data, **form.scope())
    except DomainError as error:
        db.session.rollback()
        return edit_page(accounts.staff_member(user_id), form, show_domain_error(form, error, FIELDS))
    flash(_("Saved %(name)s.", name=user.username), "info")
    return redirect(url_for(".index"))


@bp.post("/<id:user_id>/active")
@manager_only
def set_active(user_id: int):
    """Deactivate an account (its sessions end at their next request) or reactivate it."""
    user = accounts.staff_member(user_id)
    form = ActiveForm()
    if not form.validate():
        return error_response(422, "invalid", _("Choose deactivate or reactivate."), {"active": "0 or 1"})
    active = form.active.data == "1"
    accounts.set_active(user.id, active, signed_in_user())
    flash(
        _("%(name)s can sign in again.", name=user.username)
        if active
        else _("%(name)s is deactivated and signed out everywhere.", name=user.username),
        "info",
    )
    return redirect(url_for(".index"))


@bp.route("/<id:user_id>/password", methods=["POST"])
@manager_only
def reset_password(user_id: int):
    """Give an account a temporary password (its sessions end; it must be changed at the next sign-in)."""
    user = accounts.staff_member(user_id)
    form = ResetForm()
    if form.validate():
        try:
            accounts.reset_password(user, form.password.data, signed_in_user())
        except DomainError as error:
            status = show_domain_error(form, error, {"password": "password"})
        else:
            flash(
                _("The password of %(name)s is reset. Tell them the temporary one in person.", name=user.username),
                "info",
            )
            return redirect(url_for(".edit", user_id=user_id))
    else:
        status = 422
    return edit_page(user, details_form(user), status, reset_form=form)
