"""Staff sessions: signing in and out, the sign-in throttles, and where to go after signing in.

Shared by the login page (shop.web.auth) and POST /api/session; shop.web.auth says how a session ends.
"""

import hashlib
import hmac
import re
import secrets
import time
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user
from flask_wtf.csrf import generate_csrf

from shop.extensions import db, limiter, login_manager
from shop.models import User, normalise_username
from shop.staff import accounts
from shop.web.access import signed_in_user
from shop.web.responses import json_error, wants_json

#: The session's keys besides Flask-Login's: its nonce, its password stamp, and its last request.
NONCE, STAMP, SEEN = "_nonce", "_pw", "_seen"


# ---------------------------------------------------------------- throttling


def login_limit() -> str:
    """Sign-in attempts allowed per address, shared by the page and the API."""
    return current_app.config["LOGIN_RATE_LIMIT"]


def account_limit() -> str:
    """Failed sign-in attempts allowed per account named, from any address."""
    return current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"]


def attempted_account() -> str:
    """The throttle's key: the username tried, normalised and hashed (no username is kept in the store)."""
    if request.is_json:
        body = request.get_json(silent=True)
        name = body.get("username") if isinstance(body, dict) else None
    else:
        name = request.form.get("username")
    name = normalise_username(name if isinstance(name, str) else "")[:200]
    # An empty key makes Flask-Limiter skip the limit: such a request is refused as malformed anyway.
    return "account:" + hashlib.sha256(name.encode()).hexdigest() if name else ""


def _failed(response) -> bool:
    return response.status_code == 401


_address_throttle = limiter.shared_limit(login_limit, scope="login", methods=["POST"])
_account_throttle = limiter.shared_limit(
    account_limit, scope="login-account", key_func=attempted_account, methods=["POST"], deduct_when=_failed
)


def login_throttle(view):
    """Both sign-in budgets, for the login page and POST /api/session together."""
    return _address_throttle(_account_throttle(view))


# ---------------------------------------------------------------- sessions


def password_stamp(user: User) -> str:
    """A keyed digest of the account's password hash: it changes whenever the password does."""
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{user.id}:{user.password_hash}".encode(), hashlib.sha256).hexdigest()[:32]


def _idle(now: int) -> bool:
    seen = session.get(SEEN)
    limit = current_app.config["SESSION_IDLE_MINUTES"] * 60
    return not isinstance(seen, int) or now - seen > limit


@login_manager.user_loader
def load_user(user_id: str) -> User | None:
    """Flask-Login's loader: the active account with this id, if this session of it is still live."""
    user = db.session.get(User, int(user_id)) if user_id.isdigit() else None
    if user is None or not user.active or _idle(int(time.time())):
        return None
    if not hmac.compare_digest(str(session.get(STAMP, "")), password_stamp(user)):
        return None
    nonce = session.get(NONCE)
    if not isinstance(nonce, str) or accounts.session_ended(user.id, nonce):
        return None
    return user


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
    nonce = secrets.token_hex(16)
    session.update({NONCE: nonce, STAMP: password_stamp(user), SEEN: int(time.time())})
    accounts.signed_in(user, nonce)
    current_app.logger.info("sign-in succeeded for user id %s", user.id)
    g.pop("csrf_token", None)
    return generate_csrf()


def end_session() -> str:
    """Sign out for good (the server refuses this session's cookie from now on) and return a new CSRF token."""
    if current_user.is_authenticated:
        accounts.signed_out(signed_in_user(), session.get(NONCE, ""))
        current_app.logger.info("sign-out for user id %s", current_user.id)
    logout_user()
    session.clear()
    if request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")):
        session["_remember"] = "clear"  # Flask-Login deletes the cookie after the request
    g.pop("csrf_token", None)
    return generate_csrf()


# ---------------------------------------------------------------- after signing in


#: A line break would split the Location header (a 500 after the sign-in had succeeded), a tab or a
#: backslash is read by browsers as part of "//host"; none belongs in a path this app makes.
UNSAFE_IN_NEXT = re.compile(r"[\x00-\x20\x7f\\]")
#: Longer than any address of this app, and no place for a smuggled payload.
MAX_NEXT = 2000


def safe_next(target: str | None) -> str | None:
    """A same-site path to return to after signing in; anything else is ignored."""
    if not target or len(target) > MAX_NEXT or UNSAFE_IN_NEXT.search(target):
        return None
    try:
        parts = urlsplit(target)
    except ValueError:  # a malformed address, such as an unclosed [ where a host would be
        return None
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    return target
