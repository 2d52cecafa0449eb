"""Signing staff in and out: the login page and the password page; sessions.py keeps the sessions."""

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from shop.errors import DomainError
from shop.staff import accounts
from shop.web.access import public, signed_in_user, staff_required
from shop.web.forms import OneLineField
from shop.web.responses import json_error, status_of, wants_json
from shop.web.sessions import end_session, keep_session, keep_this_session, login_throttle, safe_next, start_session

bp = Blueprint("auth", __name__)
bp.before_app_request(keep_session)


class LoginForm(FlaskForm):
    """Username and password."""

    username = OneLineField(_l("Username"), [DataRequired()], max_length=40, message=_l("Not a username."))
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    next = HiddenField()


@bp.route("/login", methods=["GET", "POST"])
@public
@login_throttle
def login():
    """Show the sign-in form, and sign in."""
    form = LoginForm(next=request.args.get("next", ""))
    if current_user.is_authenticated and request.method == "GET":
        return redirect(safe_next(form.next.data) or url_for("admin_home.index"))
    if form.validate_on_submit():
        user = accounts.authenticate(form.username.data, form.password.data)
        if user is not None:
            target = safe_next(form.next.data)
            start_session(user)
            if user.must_change_password:
                return redirect(url_for("auth.change_password"))
            return redirect(target or url_for("admin_home.index"))
        flash(_("Wrong username or password."), "error")
        return render_template("auth/login.html", form=form), 401
    # A form sent without what it needs is refused as such, not shown again as if never sent.
    return render_template("auth/login.html", form=form), 422 if form.is_submitted() else 200


@bp.errorhandler(429)
def throttled(_error):
    """Too many attempts on the page: the login page again, saying so (the API answers JSON)."""
    if wants_json():
        return json_error(429, "too_many_requests", _("Too many attempts. Please wait a moment and try again."))
    message = _("Too many sign-in attempts. Wait a minute and try again; after many, up to an hour.")
    return render_template("auth/login.html", form=LoginForm(), throttled=message), 429


@bp.route("/logout", methods=["POST"])
@staff_required
def logout():
    """Sign out and go back to the catalog."""
    end_session()
    flash(_("You have signed out."), "info")
    return redirect(url_for("catalog.index"))


class PasswordForm(FlaskForm):
    """The current password, and the new one twice."""

    current = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=accounts.MAX_PASSWORD_LENGTH)])
    confirm = PasswordField(
        _l("New password again"),
        validators=[DataRequired(), EqualTo("password", message=_l("The two new passwords differ."))],
    )


@bp.route("/account/password", methods=["GET", "POST"])
@staff_required
def change_password():
    """Change one's own password (and, after a reset or a new account, before anything else)."""
    user = signed_in_user()
    form = PasswordForm()
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate():
            try:
                accounts.change_password(user, form.current.data, form.password.data)
            except DomainError as error:
                field = form[error.field] if error.field in form else form.password
                field.errors = [*field.errors, error.message]
                status = status_of(error)
            else:
                # Every other session of the account ends with the old password; this one goes on.
                keep_this_session(user)
                flash(_("Your password has been changed."), "info")
                return redirect(url_for("admin_home.index"))
    return render_template("auth/password.html", form=form, forced=user.must_change_password), status
