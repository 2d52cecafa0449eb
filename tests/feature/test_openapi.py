"""GET /api/openapi.json: a valid OpenAPI 3.1 document naming every /api route, and the API answering as it says.

The last test lets schemathesis loose on the API, signed in as the manager: for every operation
in the document it generates requests (as the schema allows, and as it does not), sends them to
the app in this process, and checks that none is answered with a 5xx and that every answer
matches the schema of its status. The budget is small and fixed (derandomised), so it runs on
both databases in every `make test`.
"""

import collections
import re
import time
from datetime import timedelta

import hypothesis
import pytest
import schemathesis
import sqlalchemy as sa
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from shop.clock import business_today
from shop.extensions import db
from shop.models import Counter, SaleLine
from shop.web.openapi import RULE_VARIABLE
from tests.conftest import Api

#: Examples per operation and generation mode: enough to find a crash, few enough for every run.
EXAMPLES = {GenerationMode.POSITIVE: 10, GenerationMode.NEGATIVE: 5}


def document(client) -> dict:
    response = client.get("/api/openapi.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    return response.get_json()


def test_the_document_is_valid_openapi_3_1_and_public(client):
    found = document(client)  # a stranger, never signed in
    assert found["openapi"].startswith("3.1")
    validate(found)
    schemes = found["components"]["securitySchemes"]
    assert schemes["csrf"] == {**schemes["csrf"], "type": "apiKey", "in": "header", "name": "X-CSRFToken"}
    assert schemes["session"]["in"] == "cookie"


def test_every_api_route_and_method_is_in_the_document(app, client):
    paths = document(client)["paths"]
    missing = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        path = RULE_VARIABLE.sub(r"{\g<name>}", rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if method.lower() not in paths.get(path, {}):
                missing.append(f"{method} {rule.rule} ({rule.endpoint}): describe it with @documented(...)")
    assert not missing, "\n".join(missing)


def test_errors_are_described_with_the_json_error_body(client):
    found = document(client)
    error = found["components"]["schemas"]["ErrorBody"]
    assert error["required"] == ["error"]
    detail = found["components"]["schemas"]["ErrorDetail"]
    assert set(detail["required"]) == {"code", "message", "fields"}
    sale = found["paths"]["/api/counter/sales"]["post"]
    assert {"400", "401", "403", "409", "415", "422", "500"} <= set(sale["responses"])
    assert sale["responses"]["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"
    }
    assert sale["security"] == [{"session": [], "csrf": []}]
    # And a real error matches it: a stranger's sale is a 401 of that shape.
    body = client.post("/api/counter/sales", json={}).get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message", "fields"}


def test_a_model_answer_is_the_same_json_as_before(app, goods, as_role):
    # The models add nothing and drop nothing: an order without Stripe has no `stripe` key at all.
    api = Api(app.test_client())
    api.refresh_token()
    lot = {"product_id": goods["shrimp"], "household_id": goods["wang"], "quantity": 2000, "mode": "consignment"}
    lot["best_before"] = (business_today() + timedelta(days=90)).isoformat()
    assert as_role("clerk").post("/api/lots", json=lot).status_code == 201
    body = {
        "lines": [{"product_id": goods["shrimp"], "quantity": 250}],
        "contact": {"name": "林女士", "phone": "13812345678"},
        "fulfilment": "pickup",
        "payment": "pay_at_pickup",
    }
    placed = api.post("/api/orders", json=body)
    assert placed.status_code == 201, placed.get_json()
    assert set(placed.get_json()) == {"id", "counter_id", "token", "number", "total_fen", "status", "expires_at"}
    assert placed.get_json()["expires_at"].endswith("Z")


# ---------------------------------------------------------------- schemathesis


def scene(goods, as_role) -> dict:
    """Real objects for the path parameters, so that generated requests also reach past the 404s."""
    clerk = as_role("clerk")
    lot = {"product_id": goods["shrimp"], "household_id": goods["wang"], "quantity": 5000, "mode": "consignment"}
    lot["best_before"] = (business_today() + timedelta(days=90)).isoformat()
    lot_id = clerk.post("/api/lots", json=lot).get_json()["id"]
    sale = {
        "idempotency_key": "fuzz-scene-1",
        "payment_method": "cash",
        "lines": [{"product_id": goods["shrimp"], "quantity": 500}],
    }
    sale_id = clerk.post("/api/counter/sales", json=sale).get_json()["id"]
    order = {
        "lines": [{"product_id": goods["shrimp"], "quantity": 250}],
        "contact": {"name": "林女士", "phone": "13812345678"},
        "fulfilment": "pickup",
        "payment": "pay_at_pickup",
    }
    token = clerk.post("/api/orders", json=order).get_json()["token"]
    measure = {
        "kind": "industry",
        "title": "专柜销售虾干",
        "due_on": (business_today() + timedelta(days=30)).isoformat(),
    }
    measure_id = as_role("admin").post(f"/api/households/{goods['wang']}/measures", json=measure).get_json()["id"]
    with clerk.client.application.app_context():
        line_id = db.session.scalars(sa.select(SaleLine.id).where(SaleLine.sale_id == sale_id)).first()
        counter_id = db.session.scalars(sa.select(Counter.id)).first()
    return {
        "line_id": line_id,
        "counter_id": counter_id,
        "product_id": goods["shrimp"],
        "household_id": goods["wang"],
        "lot_id": lot_id,
        "sale_id": sale_id,
        "token": token,
        "measure_id": measure_id,
    }


def strategies(operation, real: dict, mode: GenerationMode):
    """The operation's cases: generated throughout, and (schema-true ones) naming real objects in path and body."""
    generated = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.NEGATIVE:
        return generated
    names = set(re.findall(r"\{(\w+)\}", operation.path))
    if names:
        pinned = operation.as_strategy(generation_mode=mode, path_parameters={n: real[n] for n in names})
    else:
        pinned = generated
    return st.one_of(generated, pinned.map(lambda case: naming_real_objects(case, real)))


def naming_real_objects(case, real: dict):
    """The case with each id in its body replaced by a real object's, and sold now rather than at a random instant."""
    if isinstance(case.body, dict):
        case.body = with_real_ids(case.body, real)
        case.body.pop("sold_at", None)
    return case


def with_real_ids(value, real: dict):
    if isinstance(value, dict):
        named = {k: real[k] for k, v in value.items() if k in real and isinstance(v, int | float)}
        return {k: named.get(k, with_real_ids(v, real)) for k, v in value.items()}
    if isinstance(value, list):
        return [with_real_ids(item, real) for item in value]
    return value


def signing_out_last(operation) -> tuple:
    """DELETE /api/session ends the session the others run in, so it goes last."""
    return (operation.path == "/api/session" and operation.method.upper() == "DELETE", operation.path, operation.method)


@pytest.fixture
def config_overrides() -> dict:
    # Stripe is not configured (orders by Stripe are a clean 422); the order budget must not end the run early.
    return {"ORDER_RATE_LIMIT": "10000 per minute", "LOGIN_RATE_LIMIT": "10000 per minute"}


def test_schemathesis_finds_no_server_error_and_no_answer_unlike_its_schema(app, goods, as_role):
    real = scene(goods, as_role)
    admin = as_role("admin")
    cookies = {"session": admin.client.get_cookie("session").value}
    # Identity: the WSGI client does not undo the app's gzip as a browser would.
    headers = {"X-CSRFToken": admin.token, "Accept-Encoding": "identity"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    operations = sorted((result.ok() for result in schema.get_all_operations()), key=signing_out_last)
    assert len(operations) >= 25
    checks = [not_a_server_error, response_schema_conformance]
    started = time.monotonic()
    answered = collections.Counter()
    for operation in operations:
        for mode, examples in EXAMPLES.items():

            @given(case=strategies(operation, real, mode))
            @settings(
                max_examples=examples,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
                phases=[Phase.explicit, Phase.generate, Phase.shrink],
            )
            def run(case):
                response = case.call(headers=headers, cookies=cookies)
                answered[response.status_code] += 1
                if response.status_code == 401 and response.json()["error"]["code"] == "unauthenticated":
                    answered["signed out"] += 1
                case.validate_response(response, checks=checks)

            try:
                run()
            except hypothesis.errors.Unsatisfiable:
                continue  # some operations have no negative form (a GET without parameters)
    took = time.monotonic() - started
    print(f"\nschemathesis: {len(operations)} operations in {took:.1f} s, answered {dict(answered)}")
    # Past the gates too: the signed-in session held, and some requests were done, not only refused.
    assert answered[200] and answered[201] and not answered["signed out"]
