"""Error responses: the JSON shape the API promises (docs/architecture.md), pages for people."""

from flask import Flask, current_app, jsonify, make_response, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from shop import faults
from shop.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, TooMany
from shop.extensions import db

#: The HTTP status of each kind of domain error (the bases in shop/errors.py).
STATUS_OF = {Invalid: 422, Conflict: 409, NotFound: 404, Forbidden: 403, TooMany: 429}

#: The `code` of each HTTP error in JSON bodies.
HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "internal_error",
}


def wants_json() -> bool:
    """API clients get JSON errors; people get pages."""
    return request.path.startswith("/api/") or request.path == "/api"


def json_error(status: int, code: str, message: str, fields: dict | None = None):
    """A JSON error response of the agreed form."""
    response = jsonify(error={"code": code, "message": message, "fields": fields or {}})
    response.status_code = status
    return response


def error_response(status: int, code: str, message: str, fields: dict | None = None):
    """An error as JSON for API clients, or as a page for people."""
    if wants_json():
        return json_error(status, code, message, fields)
    return render_template("errors/error.html", status=status, message=message), status


def status_of(error: DomainError) -> int:
    """The HTTP status of a domain error's kind: 422, 409, 404, 403 or 429.

    Stripe not answering (PaymentUnavailable) is a Conflict, so 409: the order
    stands and the buyer or staff can try again. A DomainError of no kind is a
    bug, so 500.
    """
    return next((status for kind, status in STATUS_OF.items() if isinstance(error, kind)), 500)


def pdf_response(document: bytes, filename: str):
    """A PDF shown in the browser (to print), not cached on shared machines."""
    response = make_response(document)
    response.mimetype = "application/pdf"
    response.headers.set("Content-Disposition", "inline", filename=filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def domain_error_response(error: DomainError):
    """Map a domain error to its HTTP status, naming the field at fault."""
    status = status_of(error)
    fields = {error.field: error.message} if error.field else {}
    return error_response(status, error.code, error.message, fields)


def _messages() -> dict[int, str]:
    return {
        400: _("The request could not be understood."),
        401: _("Please sign in first."),
        403: _("You do not have permission to do this."),
        404: _("The page or item you asked for does not exist."),
        405: _("This address does not accept that method."),
        413: _("The request is too large."),
        415: _("Send the request body as JSON."),
        429: _("Too many attempts. Please wait a moment and try again."),
        # Only what is known: the answer failed, not whether the work had been committed before it did.
        500: _(
            "Something went wrong on our side and the server could not answer. "
            "What you did may have been recorded: check before doing it again."
        ),
    }


def takes_idempotency_key(view):
    """Mark an API view whose body carries an idempotency key: its 500 may tell the client to resend with it."""
    view.takes_idempotency_key = True
    return view


def _api_crash_message() -> str:
    """A JSON 500's message: only what is known, and a safe resend only where a key makes it safe."""
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "takes_idempotency_key", False):
        return _(
            "The server could not answer; the request may or may not have been recorded. "
            "It is safe to send it again with the same idempotency key."
        )
    return _(
        "The server could not answer; the request may or may not have been recorded. "
        "Check whether it was before sending it again."
    )


def _http_error(error: HTTPException):
    status = error.code or 500
    if status == 500 and wants_json():
        return error_response(status, HTTP_CODES.get(status, "error"), _api_crash_message())
    message = _messages().get(status, error.description or "")
    return error_response(status, HTTP_CODES.get(status, "error"), message)


def _csrf_error(error: CSRFError):
    message = _("The form expired or was sent from elsewhere. Reload the page and try again.")
    return error_response(400, "csrf_failed", message)


def _unexpected_error(error: Exception):
    # The transaction is rolled back so that nothing half-done is recorded.
    db.session.rollback()
    # A full disk or a dead database fails every request alike: one clear line each, not a traceback each.
    if not faults.log_database_fault(error, f"{request.method} {request.path}"):
        current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return _http_error(InternalServerError())


def register(app: Flask) -> None:
    """Install the error handlers on the app."""
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DomainError, domain_error_response)
    if not app.testing or app.config.get("HANDLE_UNEXPECTED_ERRORS"):
        app.register_error_handler(Exception, _unexpected_error)
