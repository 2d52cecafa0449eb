"""Reading a JSON API request's body with its schema, and answering with a response model.

Shared by the blueprints under /api: a wrong type is an error, not coerced, and each field's
problem is named in the agreed `{"error": {"code", "message", "fields"}}` body.

pydantic and the models (shop/web/api_models.py) load with the first API request, not when a worker
starts: the views name a model as `models.NewSale`, and `@documented` by its name. A worker that
serves only pages is about 10 MiB lighter for it (docs/architecture.md, the lazy-import rule).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from flask import abort, jsonify, request
from flask_babel import gettext as _

from shop.web.responses import json_error

if TYPE_CHECKING:
    from pydantic import BaseModel

    from shop.web.api_models import Body

B = TypeVar("B", bound="Body")


class _Models:
    """shop.web.api_models, imported when a view first reads one of its models."""

    def __getattr__(self, name: str):
        from shop.web import api_models  # the import lock makes a first read from two threads safe

        model = getattr(api_models, name)
        setattr(self, name, model)  # read once: later reads skip __getattr__
        return model


#: The API's models, for the views: `models.NewSale`.
models = _Models()


def parse(schema: type[B]) -> B:
    """The request's JSON body as `schema`; a 415 or 422 response is raised otherwise."""
    from pydantic import ValidationError

    if not request.is_json:
        abort(json_error(415, "unsupported_media_type", _("Send the request body as JSON.")))
    try:
        return schema.model_validate_json(request.get_data(cache=False) or b"")
    except ValidationError as error:
        fields = {}
        for problem in error.errors(include_url=False):
            where = ".".join(str(part) for part in problem["loc"]) or "body"
            fields.setdefault(where, _field_message(problem))
        abort(json_error(422, "invalid", _("Some fields are missing or wrong."), fields))


def _field_message(problem: dict) -> str:
    """A short, translated reason for one field's problem."""
    kind, ctx = problem["type"], problem.get("ctx", {})
    if kind == "missing":
        return _("This field is required.")
    if kind == "extra_forbidden":
        return _("Unknown field.")
    if kind in ("json_invalid", "model_type", "model_attributes_type"):
        return _("The body is not a JSON object.")
    if kind in ("int_type", "int_from_float", "int_parsing"):
        return _("Must be a whole number.")
    if kind in ("string_type", "string_unicode"):
        return _("Must be text.")
    if kind == "string_too_short":
        return _("Must not be empty.")
    if kind == "string_too_long":
        return _("At most %(n)s characters.", n=ctx.get("max_length"))
    if kind == "string_pattern_mismatch":
        return _("Not in the expected format.")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        return _("Out of the allowed range.")
    if kind in ("enum", "literal_error"):
        return _("Must be one of: %(choices)s.", choices=ctx.get("expected", ""))
    if kind == "instant_format":
        return _("Must be a moment with its UTC offset, such as 2026-12-03T23:59:00+08:00.")
    if kind.startswith("date"):
        return _("Must be a date written YYYY-MM-DD.")
    return problem["msg"]


def answer(body: BaseModel, status: int = 200):
    """A response model as JSON; a key with a default is sent only when the view set it."""
    response = jsonify(body.model_dump(mode="json", exclude_unset=True))
    response.status_code = status
    return response
