"""Who may use each route, declared on the view and checked on the server.

Every view carries `allowed_roles`: PUBLIC, or the roles that may call it.
A test walks the URL map, so a route that declares nothing fails the suite.
"""

from collections.abc import Callable
from functools import wraps

from flask import abort
from flask_login import current_user

from shop.extensions import login_manager
from shop.models import Role

PUBLIC = frozenset({"anonymous", *Role})


def public(view: Callable) -> Callable:
    """Mark a view as open to everyone, signed in or not."""
    view.allowed_roles = PUBLIC
    return view


def roles_required(*roles: Role) -> Callable[[Callable], Callable]:
    """Let only signed-in staff of these roles through: 401 for strangers, 403 for others."""
    allowed = frozenset(roles)

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def guarded(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in allowed:
                abort(403)
            return view(*args, **kwargs)

        guarded.allowed_roles = allowed
        return guarded

    return decorate


staff_required = roles_required(*Role)


def signed_in_user():
    """The signed-in User itself, not Flask-Login's proxy, to hand to a use case."""
    return current_user._get_current_object()
