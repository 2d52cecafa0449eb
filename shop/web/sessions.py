"""Staff sessions: how one starts, lives and ends, and the sign-in throttle; shared by the login page and the API.

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

from shop.extensions import limiter, login_manager
from shop.models import User, normalise_username
from shop.staff import accounts
from shop.web.access import PUBLIC, signed_in_user
from shop.web.responses import json_error, wants_json

#: The session's keys besides Flask-Login's: its nonce, its password stamp, and its last request.
NONCE, STAMP, SEEN = "_nonce", "_pw", "_seen"
#: What a user who must change their password may still use, besides public pages.
OPEN_TO_PASSWORD_CHANGE = frozenset({"auth.change_password", "auth.logout", "static"})


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
    nonce = session.get(NONCE)
    if not user_id.isdigit() or not isinstance(nonce, str) or _idle(int(time.time())):
        return None
    # One statement on every request: the account and whether this session of it was signed out.
    user, ended = accounts.account_in_session(int(user_id), nonce)
    if user is None or not user.active or ended:
        return None
    if not hmac.compare_digest(str(session.get(STAMP, "")), password_stamp(user)):
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


def keep_this_session(user: User) -> None:
    """After a password change, stamp this session with the new password so only the others end."""
    session[STAMP] = password_stamp(user)


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


# ---------------------------------------------------------------- returning after sign-in


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
