"""GET /api/openapi.json: the JSON API described as an OpenAPI 3.1 document.

Each API view carries an `Operation` (its body, query and answer models by name, set by `documented`);
the document walks the app's URL map, so it names every /api route the app really has, with
paths and methods as Flask routes them, roles and CSRF from the views' own declarations, and
schemas from the pydantic models the views parse and answer with (pydantic's own JSON Schema).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING

from flask import Flask

from shop.web.access import PUBLIC

if TYPE_CHECKING:
    from pydantic import BaseModel

#: A model of shop/web/api_models.py by its name ("SaleBody"), or a free-form JSON object (dict), or
#: another media type ("application/pdf"): names, so that declaring a view loads neither pydantic nor
#: the models (they load with the first API request or this document).
AnswerShape = str | type[dict]

#: Why the API answers each error status; the body is always an ErrorBody.
ERRORS = {
    400: "The X-CSRFToken header is missing or wrong (code `csrf_failed`), or the request could not be read.",
    401: "Not signed in (code `unauthenticated`).",
    403: "The caller's role may not do this, a clerk named another counter, or the password must be changed first.",
    404: "No such object, or not one the caller may see.",
    409: "It conflicts with what is recorded: too little stock, a duplicate, an idempotency key reused.",
    413: "The body is over 1 MiB.",
    415: "The body is not JSON.",
    422: "A field is missing or wrong: `fields` names each one.",
    429: "Too many attempts: wait a moment and try again.",
    500: "The server could not answer; the request may or may not have been recorded.",
}

#: What the schema cannot say, for readers of the document.
DESCRIPTION = (
    "The JSON API of the Bangfu Counter (帮扶专柜). Money is integer fen, stock integer grams or "
    "pieces. Sign in with POST /api/session (the session cookie); every write sends the session's "
    "CSRF token, from GET /api/session, in the X-CSRFToken header. Counter sales and refunds carry "
    'an idempotency key: sending the same body again replays it. The README\'s "JSON API" '
    "section has the rules in full."
)

#: A URL rule's variable: <converter(args):name> or <name>.
RULE_VARIABLE = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")

#: What each URL converter accepts, as a schema.
CONVERTER_SCHEMAS = {
    "id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
    "int": {"type": "integer", "minimum": 0},
}


@dataclass(frozen=True)
class Operation:
    """What an API view accepts and answers, for the document."""

    #: Each success status with what it answers.
    answers: dict[int, AnswerShape]
    #: The names of the body's and the query string's models.
    body: str | None = None
    query: str | None = None
    #: Error statuses of this view besides those every view of its kind has (see error_statuses).
    errors: tuple[int, ...] = field(default=())


def documented(
    answers: dict[int, AnswerShape],
    body: str | None = None,
    query: str | None = None,
    errors: tuple[int, ...] = (),
) -> Callable[[Callable], Callable]:
    """Describe an API view for the OpenAPI document (models by name); put it right under the route decorator."""

    def mark(view: Callable) -> Callable:
        view.operation = Operation(answers, body, query, errors)
        return view

    return mark


def openapi_document(app: Flask) -> dict:
    """The document for this app, made once: the URL map does not change while it runs."""
    if "openapi" not in app.extensions:
        app.extensions["openapi"] = _build(app)
    return app.extensions["openapi"]


def api_rules(app: Flask) -> list:
    """Every rule under /api, in a fixed order."""
    found = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/")]
    return sorted(found, key=lambda rule: rule.rule)


def _build(app: Flask) -> dict:
    described = []
    for rule in api_rules(app):
        view = app.view_functions[rule.endpoint]
        operation = getattr(view, "operation", None)
        if operation is not None:  # a route without one is left out (and a test names it)
            described.append((rule, view, operation))
    refs, schemas = _schemas([operation for _rule, _view, operation in described])
    paths: dict[str, dict] = {}
    for rule, view, operation in described:
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            path = RULE_VARIABLE.sub(r"{\g<name>}", rule.rule)
            paths.setdefault(path, {})[method.lower()] = _operation(rule, view, operation, method, refs)
    cookie = app.config.get("SESSION_COOKIE_NAME", "session")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Bangfu Counter JSON API", "version": _version(), "description": DESCRIPTION},
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "session": {"type": "apiKey", "in": "cookie", "name": cookie, "description": "The signed-in session."},
                "csrf": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-CSRFToken",
                    "description": "The session's CSRF token, from GET /api/session; every write sends it.",
                },
            },
        },
    }


def _version() -> str:
    try:
        return version("bangfu-counter")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "0"


def _schemas(operations: list[Operation]) -> tuple[dict, dict]:
    """Each model's $ref by (name, mode), and the schemas they point to: bodies as read, answers as written."""
    from pydantic.json_schema import models_json_schema

    pairs = {("ErrorBody", "serialization")}
    for operation in operations:
        if operation.body is not None:
            pairs.add((operation.body, "validation"))
        pairs.update((shape, "serialization") for shape in operation.answers.values() if _is_model(shape))
    ordered = sorted(pairs)
    found, top = models_json_schema(
        [(_model(name), mode) for name, mode in ordered], ref_template="#/components/schemas/{model}"
    )
    refs = {(model.__name__, mode): ref for (model, mode), ref in found.items()}
    return refs, top.get("$defs", {})


def _model(name: str) -> type[BaseModel]:
    """The model of shop/web/api_models.py of this name."""
    from shop.web import api_models

    return getattr(api_models, name)


def _is_model(shape: AnswerShape) -> bool:
    """Whether an answer is a model's name (a media type has a slash, a JSON object is dict)."""
    return isinstance(shape, str) and "/" not in shape


def _operation(rule, view, operation: Operation, method: str, refs: dict) -> dict:
    """One method of one route as an OpenAPI operation object."""
    summary, _, rest = (view.__doc__ or "").strip().partition("\n")
    described = {
        "operationId": rule.endpoint.split(".", 1)[-1],
        "summary": summary,
        "tags": [rule.rule.split("/")[2]],
        "parameters": _path_parameters(rule) + _query_parameters(operation.query),
        "responses": _responses(rule, view, operation, method, refs),
        "security": _security(view, method),
    }
    if rest.strip():
        described["description"] = " ".join(rest.split())
    if operation.body is not None:
        schema = refs[(operation.body, "validation")]
        described["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
    return described


def _path_parameters(rule) -> list[dict]:
    return [
        {
            "name": found["name"],
            "in": "path",
            "required": True,
            "schema": CONVERTER_SCHEMAS.get(found["converter"] or "default", {"type": "string"}),
        }
        for found in RULE_VARIABLE.finditer(rule.rule)
    ]


def _query_parameters(query: str | None) -> list[dict]:
    if query is None:
        return []
    schema = _model(query).model_json_schema()
    required = set(schema.get("required", ()))
    return [
        {"name": name, "in": "query", "required": name in required, "schema": _query_value(prop)}
        for name, prop in schema["properties"].items()
    ]


def _query_value(prop: dict) -> dict:
    """A query argument's schema: a query string has no null, so an optional argument is simply left out."""
    value = {key: part for key, part in prop.items() if key not in ("anyOf", "title")}
    options = [option for option in prop.get("anyOf", ()) if option != {"type": "null"}]
    if len(options) == 1:
        value.update(options[0])
    elif options:
        value["anyOf"] = options
    if "default" in value and value["default"] is None:
        del value["default"]
    return value


def error_statuses(rule, view, operation: Operation, method: str) -> set[int]:
    """The error statuses a view may answer: its own, and those of every view that writes, reads a body, …"""
    statuses = {500, *operation.errors}
    if method != "GET":
        statuses.add(400)  # the CSRF token
    if operation.body is not None:
        statuses.update((413, 415, 422))
    if view.allowed_roles != PUBLIC:
        statuses.update((401, 403))
    if rule.arguments:
        statuses.add(404)
    return statuses


def _responses(rule, view, operation: Operation, method: str, refs: dict) -> dict:
    answers = {str(status): _answer(shape, refs) for status, shape in sorted(operation.answers.items())}
    error = {"application/json": {"schema": refs[("ErrorBody", "serialization")]}}
    for status in sorted(error_statuses(rule, view, operation, method)):
        answers[str(status)] = {"description": ERRORS[status], "content": error}
    return answers


def _answer(shape: AnswerShape, refs: dict) -> dict:
    if _is_model(shape):
        description = (_model(shape).__doc__ or shape).strip().partition("\n")[0]
        return {"description": description, "content": {"application/json": {"schema": refs[(shape, "serialization")]}}}
    if shape is dict:
        return {"description": "A JSON object.", "content": {"application/json": {"schema": {"type": "object"}}}}
    return {"description": shape, "content": {shape: {"schema": {"type": "string", "contentMediaType": shape}}}}


def _security(view, method: str) -> list[dict]:
    """Writes need the session's CSRF token (strangers have a session too); reads past the gate the session."""
    if method != "GET":
        return [{"session": [], "csrf": []}]
    if view.allowed_roles != PUBLIC:
        return [{"session": []}]
    return [{}]
