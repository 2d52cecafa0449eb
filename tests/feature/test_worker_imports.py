"""A web worker loads the PDF, payment, spreadsheet, picture and API libraries only when a request first needs them."""

import json
import subprocess
import sys
from pathlib import Path

from werkzeug.security import generate_password_hash

from shop.config import ProductionConfig
from shop.staff import accounts
from tests.conftest import base_config

#: Libraries most requests never use: each costs every worker megabytes it would hold for nothing.
#: PIL decodes uploaded product pictures; xml.etree reads XLSX rosters; pydantic reads and writes the JSON API.
HEAVY = ("reportlab", "stripe", "openpyxl", "zxcvbn", "PIL", "xml.etree", "pydantic")

SERVE = """
import importlib, json, sys
from shop import create_app

config, paths, heavy, also = json.loads(sys.argv[1])
client = create_app(config).test_client()
pages = {path: client.get(path).status_code for path in paths}
for module in also:
    importlib.import_module(module)
print(json.dumps({"pages": pages, "loaded": [name for name in heavy if name in sys.modules]}))
"""


def served(database_url: str, tmp_path: Path, paths: list[str], also: list[str] = ()) -> dict:
    """In a fresh interpreter: make the app, serve the pages, import `also`; which heavy libraries it then holds."""
    config = base_config(database_url)
    config |= {"PERSONAL_DATA_KEYS": list(config["PERSONAL_DATA_KEYS"]), "PRODUCT_IMAGES_FOLDER": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", SERVE, json.dumps([config, paths, HEAVY, list(also)])],
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_serving_pages_loads_no_pdf_payment_spreadsheet_picture_or_api_library(database_url, tmp_path):
    answer = served(database_url, tmp_path, ["/", "/login", "/healthz"])
    assert answer["pages"] == {"/": 200, "/login": 200, "/healthz": 200}
    assert answer["loaded"] == []


def test_the_api_loads_pydantic_and_its_models_with_its_first_request(database_url, tmp_path):
    answer = served(database_url, tmp_path, ["/", "/api/session", "/api/openapi.json"])
    assert answer["pages"] == {"/": 200, "/api/session": 200, "/api/openapi.json": 200}
    assert answer["loaded"] == ["pydantic"]


def test_the_dummy_hash_a_wrong_username_is_checked_against_costs_what_a_real_one_does():
    """Written out, not hashed at import (scrypt's 32 MiB would set every worker's peak): same method, same cost."""
    real = generate_password_hash("any password", method=ProductionConfig.PASSWORD_HASH_METHOD)
    assert accounts._DUMMY_HASH.split("$")[0] == real.split("$")[0]


def test_the_check_sees_a_library_once_a_document_is_printed(database_url, tmp_path):
    answer = served(database_url, tmp_path, ["/"], also=["shop.pdf.statement"])
    assert answer["loaded"] == ["reportlab", "PIL"]  # reportlab draws pictures with Pillow


def test_the_check_sees_pillow_once_a_picture_is_read(database_url, tmp_path):
    answer = served(database_url, tmp_path, ["/"], also=["PIL.Image"])
    assert answer["loaded"] == ["PIL"]
