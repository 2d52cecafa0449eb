"""Base classes of the domain's errors, so that views can map them to responses.

Each use-case module names its own errors after what happened (DuplicateSku,
UnknownTown); these bases only say what kind of failure it is.
"""


class DomainError(Exception):
    """Something the domain refuses. `field` names the input at fault, when one is."""

    code = "rejected"

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class Invalid(DomainError):
    """The request is well-formed but names things that do not fit (HTTP 422)."""

    code = "invalid"


class Conflict(DomainError):
    """The request clashes with what is already recorded (HTTP 409)."""

    code = "conflict"


class NotFound(DomainError):
    """The request names something that does not exist or is not visible (HTTP 404)."""

    code = "not_found"


class Forbidden(DomainError):
    """The caller may not do this to this particular thing (HTTP 403)."""

    code = "forbidden"


class TooMany(DomainError):
    """The caller already holds as much as one client may (HTTP 429)."""

    code = "too_many_requests"
