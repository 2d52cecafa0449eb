"""The manager's product pages: adding, editing prices (audited), taking off sale, and product photos."""

import io
import json
import random
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from shop.extensions import db
from shop.models import AuditEvent, Product
from tests.conftest import Api
from tests.factories import receive


def send(user: Api, url: str, **fields):
    """Post a page's form as the browser would, with the session's CSRF token."""
    return user.client.post(url, data={"csrf_token": user.token or user.refresh_token(), **fields})


def upload(user: Api, product_id: int, data: bytes, filename: str = "photo.jpg", content_type: str = "image/jpeg"):
    """Send a file through the product page's photo form."""
    token = user.token or user.refresh_token()
    body = {"csrf_token": token, "image": (io.BytesIO(data), filename, content_type)}
    return user.client.post(f"/admin/products/{product_id}/picture", data=body, content_type="multipart/form-data")


def jpeg(width=1200, height=900, noisy=False, **options) -> bytes:
    """A photo; a noisy one compresses as badly as a real one, so its size is a real photo's."""
    picture = (
        Image.frombytes("RGB", (width, height), random.Random(7).randbytes(width * height * 3))
        if noisy
        else Image.new("RGB", (width, height), (200, 120, 60))
    )
    out = io.BytesIO()
    picture.save(out, "JPEG", **options)
    return out.getvalue()


def product_row(app, product_id: int) -> dict:
    """The stored product as plain values."""
    with app.app_context():
        p = db.session.get(Product, product_id)
        return {c: getattr(p, c) for c in ("sku", "name_zh", "unit", "price_fen", "price_per", "active", "image")}


def edit_form(app, product_id: int, **changes) -> dict:
    """The edit form as the page fills it in, with some fields changed."""
    with app.app_context():
        p = db.session.get(Product, product_id)
        fields = {
            "name_zh": p.name_zh,
            "name_en": p.name_en,
            "category": p.category.value,
            "price": f"{p.price_fen / 100:.2f}",
            "per": str(p.price_per),
            "description_zh": p.description_zh,
            "description_en": p.description_en,
            "cert_no": p.cert_no or "",
            "cert_issuer": p.cert_issuer or "",
            "cert_expires_on": p.cert_expires_on.isoformat() if p.cert_expires_on else "",
        }
        if p.active:
            fields["active"] = "y"
    fields.update(changes)
    return {k: v for k, v in fields.items() if v is not None}


def audit_events(app, entity="product") -> list[dict]:
    with app.app_context():
        rows = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == entity).order_by(AuditEvent.id))
        return [
            {"action": e.action, "before": json.loads(e.before or "{}"), "after": json.loads(e.after or "{}")}
            for e in rows
        ]


def sell(clerk: Api, product_id: int, quantity: int, key: str):
    body = {
        "idempotency_key": key,
        "payment_method": "cash",
        "lines": [{"product_id": product_id, "quantity": quantity}],
    }
    return clerk.post("/api/counter/sales", json=body)


def stored_photos(app) -> list[Path]:
    folder = Path(app.config["PRODUCT_IMAGES_FOLDER"])
    return sorted(folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------- adding and editing


def test_the_manager_adds_a_product_that_then_shows_in_the_catalog(app, admin):
    page = admin.client.get("/admin/products/new")
    assert page.status_code == 200
    response = send(
        admin,
        "/admin/products/new",
        sku="LG-YG",
        unit="g",
        name_zh="鱿鱼干",
        name_en="Dried squid",
        category="seafood",
        price="¥96.5",
        per="500",
        active="y",
    )
    assert response.status_code == 302
    with app.app_context():
        squid = db.session.scalars(sa.select(Product).where(Product.sku == "LG-YG")).one()
        assert (squid.price_fen, squid.price_per, squid.unit.value, squid.active) == (9650, 500, "g", True)
    assert "鱿鱼干" in admin.client.get("/admin/products/").get_data(as_text=True)
    assert "鱿鱼干" in admin.client.get("/").get_data(as_text=True)


def test_a_new_product_priced_per_jin_cannot_be_sold_by_the_piece(app, admin):
    response = send(
        admin, "/admin/products/new", sku="LG-YD", unit="piece", name_zh="鸭蛋", category="eggs", price="2", per="500"
    )
    assert response.status_code == 422
    assert "LG-YD" not in admin.client.get("/admin/products/").get_data(as_text=True)


def test_a_taken_sku_is_refused_with_a_message_beside_it(app, admin, goods):
    response = send(
        admin,
        "/admin/products/new",
        sku="LG-XG",
        unit="g",
        name_zh="又一个虾干",
        category="seafood",
        price="1",
        per="500",
    )
    assert response.status_code == 409
    assert "LG-XG" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Product)) == 2


def test_a_price_change_applies_to_the_next_sale_and_not_to_the_sales_before_it(app, admin, clerk, goods):
    receive(clerk, goods["shrimp"], goods["wang"], 5000)
    before = sell(clerk, goods["shrimp"], 500, "till-1-price-1")
    assert before.get_json()["total_fen"] == 6800

    response = send(admin, f"/admin/products/{goods['shrimp']}", **edit_form(app, goods["shrimp"], price="72.50"))
    assert response.status_code == 302

    after = sell(clerk, goods["shrimp"], 500, "till-1-price-2")
    assert after.get_json()["total_fen"] == 7250
    assert clerk.get(f"/api/counter/sales/{before.get_json()['id']}").get_json()["total_fen"] == 6800


def test_a_price_change_is_in_the_audit_trail_and_the_products_price_history(app, admin, goods):
    send(admin, f"/admin/products/{goods['shrimp']}", **edit_form(app, goods["shrimp"], price="72.5", per="1000"))
    change = [e for e in audit_events(app) if e["action"] == "update"][-1]
    assert change["before"] == {"price_fen": 6800, "price_per": 500}
    assert change["after"] == {"price_fen": 7250, "price_per": 1000}
    page = admin.client.get(f"/admin/products/{goods['shrimp']}").get_data(as_text=True)
    history = page[page.index('id="prices"') :]
    assert history.index("¥72.50") < history.index("¥68.00")  # newest first
    assert "admin" in history


def test_taking_a_product_off_sale_takes_it_off_the_catalog_and_the_till(app, admin, clerk, client, goods):
    receive(clerk, goods["shrimp"], goods["wang"], 5000)
    form = edit_form(app, goods["shrimp"])
    del form["active"]  # an unticked box is not sent
    assert send(admin, f"/admin/products/{goods['shrimp']}", **form).status_code == 302
    assert product_row(app, goods["shrimp"])["active"] is False
    catalog = client.get("/").get_data(as_text=True)
    assert f'href="/products/{goods["shrimp"]}"' not in catalog
    assert f'href="/products/{goods["paste"]}"' in catalog
    assert client.get(f"/products/{goods['shrimp']}").status_code == 404
    assert sell(clerk, goods["shrimp"], 500, "till-1-off").status_code == 422


@pytest.mark.parametrize(
    "price",
    ["abc", "68.555", "-1", "", "1e3", "99999999999999999", "<script>", "68\x00"],
)
def test_a_price_that_is_no_amount_is_refused_and_changes_nothing(app, admin, goods, price):
    before = product_row(app, goods["shrimp"])
    response = send(admin, f"/admin/products/{goods['shrimp']}", **edit_form(app, goods["shrimp"], price=price))
    assert response.status_code == 422
    assert product_row(app, goods["shrimp"]) == before
    assert [e for e in audit_events(app) if e["action"] == "update"] == []


def test_the_sku_and_unit_cannot_be_changed_by_adding_them_to_the_form(app, admin, goods):
    form = edit_form(app, goods["shrimp"], sku="HACKED", unit="piece", name_zh="虾干（新）")
    assert send(admin, f"/admin/products/{goods['shrimp']}", **form).status_code == 302
    row = product_row(app, goods["shrimp"])
    assert (row["sku"], row["unit"].value, row["name_zh"]) == ("LG-XG", "g", "虾干（新）")


def test_a_blank_name_is_refused(app, admin, goods):
    response = send(admin, f"/admin/products/{goods['shrimp']}", **edit_form(app, goods["shrimp"], name_zh="   "))
    assert response.status_code == 422
    assert product_row(app, goods["shrimp"])["name_zh"] == "虾干"


def test_a_product_that_does_not_exist_is_a_404(admin):
    assert admin.client.get("/admin/products/99999").status_code == 404
    assert send(admin, "/admin/products/99999", name_zh="x", category="other", price="1", per="1").status_code == 404
    assert upload(admin, 99999, jpeg()).status_code == 404


@pytest.mark.parametrize("role", ["clerk", "officer", "county"])
def test_only_the_manager_edits_products(app, as_role, goods, role):
    user = as_role(role)
    assert user.client.get("/admin/products/").status_code == 403
    response = send(user, f"/admin/products/{goods['shrimp']}", **edit_form(app, goods["shrimp"], price="1"))
    assert response.status_code == 403
    assert upload(user, goods["shrimp"], jpeg()).status_code == 403
    assert product_row(app, goods["shrimp"])["price_fen"] == 6800


# ---------------------------------------------------------------- photos


def test_an_uploaded_photo_is_served_by_the_app_and_shown_in_the_catalog(app, admin, client, goods):
    response = upload(admin, goods["shrimp"], jpeg(3000, 2000))
    assert response.status_code == 302
    name = product_row(app, goods["shrimp"])["image"]
    assert re.fullmatch(r"[0-9a-f]{64}\.jpg", name)
    url = f"/pictures/products/{name}"
    assert url in client.get("/").get_data(as_text=True)
    assert url in client.get(f"/products/{goods['shrimp']}").get_data(as_text=True)

    served = client.get(url)
    assert served.status_code == 200
    assert served.mimetype == "image/jpeg"
    assert "immutable" in served.headers["Cache-Control"]
    assert served.headers["X-Content-Type-Options"] == "nosniff"
    assert Image.open(io.BytesIO(served.data)).size == (800, 533)


def test_the_photo_kept_carries_no_location(app, admin, goods):
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (19.0, 54.0, 36.0), 3: "E", 4: (109.0, 41.0, 24.0)}
    assert upload(admin, goods["shrimp"], jpeg(exif=exif.tobytes())).status_code == 302
    (kept,) = stored_photos(app)
    assert not Image.open(kept).getexif()


@pytest.mark.parametrize(
    ("data", "filename", "content_type"),
    [
        (b"<html><script>alert(1)</script></html>", "photo.jpg", "image/jpeg"),
        (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "photo.svg", "image/svg+xml"),
        (b"\xff\xd8\xff<?php system($_GET['c']); ?>", "shell.php.jpg", "image/jpeg"),
        (b"GIF89a" + b"\x00" * 64, "anim.gif", "image/gif"),
        (b"", "empty.jpg", "image/jpeg"),
    ],
    ids=["html-as-jpg", "svg", "php-behind-jpeg-head", "gif", "empty"],
)
def test_a_file_that_is_not_a_photo_is_refused_whatever_it_is_called(app, admin, goods, data, filename, content_type):
    response = upload(admin, goods["shrimp"], data, filename, content_type)
    assert response.status_code == 422
    assert "JPEG" in response.get_data(as_text=True) or "照片" in response.get_data(as_text=True)
    assert product_row(app, goods["shrimp"])["image"] is None
    assert stored_photos(app) == []
    assert [e for e in audit_events(app) if e["action"] == "update"] == []


def test_a_photo_over_the_size_limit_is_refused_with_413(app, admin, goods):
    app.config["PRODUCT_IMAGE_MAX_BYTES"] = 200_000
    big = jpeg(600, 600, noisy=True, quality=95)
    assert len(big) > 200_000 + 64 * 1024
    response = upload(admin, goods["shrimp"], big)
    assert response.status_code == 413
    assert product_row(app, goods["shrimp"])["image"] is None
    assert stored_photos(app) == []


def test_a_small_png_declaring_30_million_pixels_is_refused_before_it_is_decoded(app, admin, goods):
    out = io.BytesIO()
    Image.new("1", (6000, 5000)).save(out, "PNG")  # a few KB that decode to 30 Mpx
    assert len(out.getvalue()) < 200_000
    response = upload(admin, goods["shrimp"], out.getvalue(), "shrimp.png", "image/png")
    assert response.status_code == 422
    assert "6000 × 5000" in response.get_data(as_text=True)
    assert product_row(app, goods["shrimp"])["image"] is None
    assert stored_photos(app) == []


def test_a_photo_just_over_the_limit_inside_the_envelope_is_refused_by_the_use_case(app, admin, goods):
    small = jpeg(400, 300)
    app.config["PRODUCT_IMAGE_MAX_BYTES"] = len(small) - 1
    assert upload(admin, goods["shrimp"], small).status_code == 422
    assert stored_photos(app) == []


def test_a_photo_larger_than_the_apps_body_limit_is_still_taken(app, admin, goods):
    big = jpeg(1000, 1000, noisy=True, quality=95)
    assert len(big) > app.config["MAX_CONTENT_LENGTH"]
    assert upload(admin, goods["shrimp"], big).status_code == 302
    assert product_row(app, goods["shrimp"])["image"]


@pytest.mark.parametrize(
    "filename", ["../../../etc/passwd", "..\\..\\win.ini", "/etc/cron.d/x.jpg", "虾干.jpg\x00.php"]
)
def test_the_uploads_name_never_decides_where_it_is_stored(app, admin, goods, filename):
    assert upload(admin, goods["shrimp"], jpeg(), filename).status_code == 302
    (kept,) = stored_photos(app)
    assert re.fullmatch(r"[0-9a-f]{64}\.jpg", kept.name)
    assert product_row(app, goods["shrimp"])["image"] == kept.name


def test_uploading_without_a_file_asks_for_one(app, admin, goods):
    response = send(admin, f"/admin/products/{goods['shrimp']}/picture")
    assert response.status_code == 422
    assert product_row(app, goods["shrimp"])["image"] is None


@pytest.mark.parametrize(
    "name",
    ["..%2f..%2fsecret_key", "x.jpg", "A" * 64 + ".jpg", "a" * 64 + ".png", "a" * 64 + ".jpg.part", "a" * 64 + ".jpg"],
)
def test_only_stored_photos_are_served(client, name):
    assert client.get(f"/pictures/products/{name}").status_code == 404


def test_a_photo_can_be_removed_and_the_placeholder_comes_back(app, admin, client, goods):
    upload(admin, goods["shrimp"], jpeg())
    assert send(admin, f"/admin/products/{goods['shrimp']}/picture/remove").status_code == 302
    assert product_row(app, goods["shrimp"])["image"] is None
    assert "placeholder.svg" in client.get(f"/products/{goods['shrimp']}").get_data(as_text=True)
    change = [e for e in audit_events(app) if e["action"] == "update"][-1]
    assert change["after"] == {"image": None}
