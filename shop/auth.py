"""Signing staff in and out: the login page, and the session plumbing shared with the API."""

from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_user, logout_user
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from . import accounts
from .access import public, staff_required
from .extensions import db, limiter, login_manager
from .models import User
from .responses import json_error, wants_json

bp = Blueprint("auth", __name__)


def login_limit() -> str:
    """Sign-in attempts allowed per address, shared by the page and the API."""
    return current_app.config["LOGIN_RATE_LIMIT"]


#: One budget of attempts for the login page and POST /api/session together.
login_throttle = limiter.shared_limit(login_limit, scope="login", methods=["POST"])


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: the active account with this id."""
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    return user if user is not None and user.active else None


@login_manager.unauthorized_handler
def unauthorized():
    """Strangers get a JSON 401 from the API and the login page elsewhere."""
    if wants_json():
        return json_error(401, "unauthenticated", _("Please sign in first."))
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def start_session(user: User) -> str:
    """Sign a user in with a fresh session, and return the new CSRF token."""
    session.clear()
    login_user(user)
    current_app.logger.info("sign-in succeeded for user id %s", user.id)
    g.pop("csrf_token", None)
    return generate_csrf()


def end_session() -> str:
    """Sign out, forget everything in the session, and return a new CSRF token."""
    logout_user()
    session.clear()
    g.pop("csrf_token", None)
    return generate_csrf()


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after signing in; anything else is ignored."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target:
        return None
    return target


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=40)])
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
            return redirect(target or url_for("admin_home.index"))
        current_app.logger.info("sign-in failed")
        flash(_("Wrong username or password."), "error")
        return render_template("auth/login.html", form=form), 401
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
@staff_required
def logout():
    """Sign out and go back to the catalog."""
    end_session()
    flash(_("You have signed out."), "info")
    return redirect(url_for("catalog.index"))
