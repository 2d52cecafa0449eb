"""The app compresses its own text answers (no proxy stands in front of `make serve`), and nothing else."""

import gzip
from datetime import timedelta

import brotli
from flask import Response, stream_with_context

from shop.clock import business_today

GZIP = {"Accept-Encoding": "gzip, deflate"}


def test_a_page_is_gzipped_for_a_browser_that_accepts_it_and_says_it_varies(client):
    response = client.get("/login", headers=GZIP)
    assert response.status_code == 200
    assert response.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in response.headers["Vary"]
    html = gzip.decompress(response.data).decode()
    assert "<form" in html and int(response.headers["Content-Length"]) == len(response.data)


def test_a_client_that_accepts_no_encoding_gets_the_plain_page(client):
    for headers in ({}, {"Accept-Encoding": "identity"}, {"Accept-Encoding": "gzip;q=0, identity"}):
        response = client.get("/login", headers=headers)
        assert "Content-Encoding" not in response.headers, headers
        assert b"<form" in response.data
        assert "Accept-Encoding" in response.headers["Vary"]


def test_brotli_is_preferred_when_offered(client):
    response = client.get("/static/css/app.css", headers={"Accept-Encoding": "gzip, br"})
    assert response.headers["Content-Encoding"] == "br"
    assert b":root" in brotli.decompress(response.data)


def test_a_static_file_is_compressed_keeps_its_etag_and_revalidates_with_304(client):
    plain = client.get("/static/css/app.css")
    packed = client.get("/static/css/app.css", headers=GZIP)
    assert gzip.decompress(packed.data) == plain.data
    assert len(packed.data) < len(plain.data) / 3
    # Each encoding has its own validator, so a cache never mixes them up.
    assert packed.headers["ETag"] != plain.headers["ETag"] and packed.headers["ETag"].endswith(':gzip"')
    again = client.get("/static/css/app.css", headers={**GZIP, "If-None-Match": packed.headers["ETag"]})
    assert again.status_code == 304 and again.data == b""
    plain_again = client.get("/static/css/app.css", headers={"If-None-Match": plain.headers["ETag"]})
    assert plain_again.status_code == 304


def test_a_tiny_answer_is_not_worth_compressing(client):
    small = client.get("/api/session", headers=GZIP)
    assert len(small.data) < 500 and "Content-Encoding" not in small.headers


def test_the_tills_service_worker_is_compressed_and_keeps_its_headers(as_role):
    response = as_role("clerk").client.get("/admin/counter/sw.js", headers=GZIP)
    assert response.status_code == 200
    assert response.headers["Service-Worker-Allowed"] == "/admin/counter/"
    assert b"networkFirst" in gzip.decompress(response.data)
    assert "no-store" in response.headers["Cache-Control"]


def test_pdfs_and_csv_downloads_go_out_as_they_are(goods, as_role):
    admin = as_role("admin")
    lot = {
        "product_id": goods["shrimp"],
        "household_id": goods["wang"],
        "quantity": 1000,
        "mode": "consignment",
        "best_before": (business_today() + timedelta(days=90)).isoformat(),
    }
    lot_id = admin.post("/api/lots", json=lot).get_json()["id"]
    pdf = admin.client.get(f"/admin/stock/lots/{lot_id}/labels.pdf", headers=GZIP)
    assert pdf.data.startswith(b"%PDF") and "Content-Encoding" not in pdf.headers
    month = f"{business_today():%Y-%m}"
    csv = admin.client.get(f"/admin/reports/month/{month}.csv", headers=GZIP)
    assert csv.status_code == 200 and csv.mimetype == "text/csv"
    assert "Content-Encoding" not in csv.headers and csv.data.startswith("\ufeff".encode())


def test_a_streamed_answer_is_passed_on_as_it_is_produced_never_held_back(app, client):
    def lines():
        for n in range(200):
            yield f"<p>line {n} of a long report, written as it is read</p>\n"

    def report():
        # HTML, which is compressed when it is whole: as a stream it must not be.
        return Response(stream_with_context(lines()), mimetype="text/html")

    app.add_url_rule("/streamed-report", "streamed_report", report)
    response = client.get("/streamed-report", headers=GZIP)
    assert response.is_streamed and "Content-Encoding" not in response.headers
    assert next(response.response).startswith(b"<p>line 0 ")
    response.close()
