"""GET and POST /api/products: the public list and the manager adding products."""

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import Product
from tests.conftest import PASTE, SHRIMP


def product_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Product.id)))


def test_the_manager_adds_a_product_and_everyone_sees_it(staff, as_role, api):
    response = as_role("admin").post("/api/products", json=SHRIMP)
    assert response.status_code == 201
    new_id = response.get_json()["id"]
    listed = api.get("/api/products").get_json()
    assert listed == [
        {
            "id": new_id,
            "sku": "LG-XG",
            "name": "虾干",
            "name_en": "Dried shrimp",
            "category": "other",
            "unit": "g",
            "price_fen": 6800,
            "price_per": 500,
            "available": 0,
        }
    ]


def test_a_product_keeps_its_optional_facts(staff, as_role):
    body = {
        **PASTE,
        "name_en": "Shrimp paste",
        "category": "condiment",
        "description_zh": "老方法发酵。\n\t开瓶冷藏",
        "cert_no": "LGBF-2025-007",
        "cert_issuer": "临高县乡村振兴局",
        "cert_expires_on": "2027-12-31",
    }
    new_id = as_role("admin").post("/api/products", json=body).get_json()["id"]
    with staff.app_context():
        product = db.session.get(Product, new_id)
        assert (product.cert_no, product.cert_issuer, str(product.cert_expires_on)) == (
            "LGBF-2025-007",
            "临高县乡村振兴局",
            "2027-12-31",
        )
        assert product.category.value == "condiment"
        assert product.description_zh == "老方法发酵。\n\t开瓶冷藏"


@pytest.mark.parametrize("role", ["clerk", "officer", "heshe", "county"])
def test_only_the_manager_adds_products(staff, as_role, role):
    response = as_role(role).post("/api/products", json=SHRIMP)
    assert response.status_code == 403
    assert response.get_json()["error"]["code"] == "forbidden"
    assert product_count(staff) == 0


def test_strangers_must_sign_in_to_add_products(staff, api):
    response = api.post("/api/products", json=SHRIMP)
    assert response.status_code == 401
    assert response.get_json()["error"]["code"] == "unauthenticated"
    assert product_count(staff) == 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"price_fen": 68.5}, "price_fen"),
        ({"price_fen": "6800"}, "price_fen"),
        ({"price_fen": True}, "price_fen"),
        ({"price_fen": -1}, "price_fen"),
        ({"price_fen": 10**20}, "price_fen"),
        ({"price_per": 0}, "price_per"),
        ({"unit": "kg"}, "unit"),
        ({"name": "   "}, "name"),
        ({"name": "虾" * 101}, "name"),
        ({"sku": ""}, "sku"),
        ({"sku": "a b"}, "sku"),
        ({"sku": "<script>"}, "sku"),
        ({"name": "虾\u0000干"}, "name"),
        ({"name": "虾\n干"}, "name"),
        ({"description_zh": "nul \u0000 byte"}, "description_zh"),
        ({"category": "weapons"}, "category"),
        ({"cert_expires_on": "31/12/2027"}, "cert_expires_on"),
        ({"price": 6800}, "price"),
    ],
)
def test_a_bad_field_is_422_and_names_the_field(staff, as_role, change, field):
    response = as_role("admin").post("/api/products", json={**SHRIMP, **change})
    assert response.status_code == 422
    error = response.get_json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"]
    assert product_count(staff) == 0


@pytest.mark.parametrize("missing", ["sku", "name", "unit", "price_fen", "price_per"])
def test_a_missing_field_is_422(staff, as_role, missing):
    body = {k: v for k, v in SHRIMP.items() if k != missing}
    response = as_role("admin").post("/api/products", json=body)
    assert response.status_code == 422
    assert response.get_json()["error"]["fields"][missing] == "此项必填。"


LONE_SURROGATE = '{"sku": "\ud800"}'.encode("utf-8", "surrogatepass")


@pytest.mark.parametrize("raw", [b"{", b"[]", b"null", b'"text"', b"", b"\xff\xfe", LONE_SURROGATE])
def test_a_body_that_is_not_a_json_object_is_422(staff, as_role, raw):
    admin = as_role("admin")
    response = admin.client.post(
        "/api/products", data=raw, content_type="application/json", headers={"X-CSRFToken": admin.token}
    )
    assert response.status_code == 422
    assert product_count(staff) == 0


def test_a_form_post_instead_of_json_is_415(staff, as_role):
    admin = as_role("admin")
    response = admin.client.post("/api/products", data=SHRIMP, headers={"X-CSRFToken": admin.token})
    assert response.status_code == 415
    assert response.get_json()["error"]["code"] == "unsupported_media_type"


def test_a_taken_sku_is_409(staff, as_role):
    admin = as_role("admin")
    admin.post("/api/products", json=SHRIMP)
    response = admin.post("/api/products", json={**SHRIMP, "name": "另一种虾干"})
    assert response.status_code == 409
    assert "sku" in response.get_json()["error"]["fields"]
    assert product_count(staff) == 1


def test_an_oversized_body_is_413(staff, as_role):
    response = as_role("admin").post("/api/products", json={**SHRIMP, "description_zh": "虾" * 600_000})
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "too_large"
    assert product_count(staff) == 0


def test_errors_speak_english_when_english_is_chosen(staff, as_role):
    admin = as_role("admin")
    admin.client.set_cookie("lang", "en")
    response = admin.post("/api/products", json={k: v for k, v in SHRIMP.items() if k != "name"})
    assert response.get_json()["error"]["fields"]["name"] == "This field is required."
