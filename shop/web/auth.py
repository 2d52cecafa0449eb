"""Signing staff in and out: the login page and the password page (the session plumbing is shop.web.sessions).

How a session ends (Flask's sessions are signed cookies kept by the browser, so the server must
be able to refuse a cookie it once issued):

- **Sign-out.** Each sign-in draws a random nonce, kept in the session and in the audit trail's
  sign_in event; signing out writes a sign_out event with the same nonce and adds the nonce to
  ended_session. A replayed cookie of a signed-out session names a nonce found there (one
  primary-key lookup per request), and is refused. Only that session ends: the same person's
  other devices stay signed in. ended_session is append-only like the trail (triggers refuse
  UPDATE and DELETE), so an ended session cannot be revived by deleting a row.
- **Password change or reset.** The session carries an HMAC of the account's password hash; a new
  password makes every older session's stamp wrong, so they all end.
- **Deactivation.** The user loader refuses inactive accounts, at their next request.
- **Idle timeout.** The session carries the time of its last request, signed with it; a session idle
  for SESSION_IDLE_MINUTES is refused by the server, whatever the browser kept. Each request moves
  the time on, so the till, used all day, stays signed in. PERMANENT_SESSION_LIFETIME is left alone
  on purpose: Flask applies it to every session cookie, and the buyers' carts live in theirs.
- **Remember-me** is not offered; a remember cookie (there should be none) is removed on sign-out,
  and could not sign anyone in, as it carries no nonce.

Sign-in throttling has two budgets, shared by the page and POST /api/session: attempts per client
address (LOGIN_RATE_LIMIT), and failed attempts per account named (LOGIN_ACCOUNT_RATE_LIMIT), so an
attacker rotating addresses still gets only a few guesses at one account. Both are fixed windows
that expire (a minute, an hour), so the real holder of the account is held up for at most an hour,
never locked out for good; a successful sign-in is not counted against the account.
"""

import time

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, logout_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from shop.errors import DomainError
from shop.staff import accounts
from shop.web.access import PUBLIC, public, signed_in_user, staff_required
from shop.web.forms import OneLineField
from shop.web.responses import STATUS_OF, json_error, wants_json
from shop.web.sessions import NONCE, SEEN, STAMP, end_session, login_throttle, password_stamp, safe_next, start_session

bp = Blueprint("auth", __name__)

#: What a user who must change their password may still use, besides public pages.
OPEN_TO_PASSWORD_CHANGE = frozenset({"auth.change_password", "auth.logout", "static"})


@bp.before_app_request
def keep_session():
    """Drop a dead sign-in, move an idle clock on, and hold a user who must change their password."""
    # A monitor's health check reads no session: it must answer even when the users table does not.
    if request.endpoint in ("static", "health.healthz"):
        return None
    if not current_user.is_authenticated:
        if "_user_id" in session:
            logout_user()  # expired, ended or deactivated: forget it rather than re-check it every time
            for key in (NONCE, STAMP, SEEN):
                session.pop(key, None)
        return None
    now = int(time.time())
    if session.get(SEEN) != now:
        session[SEEN] = now
    if current_user.must_change_password and not _open_to_password_change():
        message = _("Choose a new password before going on.")
        if wants_json():
            return json_error(403, "password_change_required", message)
        return redirect(url_for("auth.change_password"))
    return None


def _open_to_password_change() -> bool:
    view = current_app.view_functions.get(request.endpoint or "")
    return view is None or request.endpoint in OPEN_TO_PASSWORD_CHANGE or getattr(view, "allowed_roles", None) == PUBLIC


# ---------------------------------------------------------------- pages


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
                status = next(s for kind, s in STATUS_OF.items() if isinstance(error, kind))
            else:
                # Every other session of the account ends with the old password; this one goes on.
                session[STAMP] = password_stamp(user)
                flash(_("Your password has been changed."), "info")
                return redirect(url_for("admin_home.index"))
    return render_template("auth/password.html", form=form, forced=user.must_change_password), status
