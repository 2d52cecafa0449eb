"""A web worker loads the PDF, payment and spreadsheet libraries only when a request first needs them."""

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import base_config

#: Libraries most requests never use: each costs every worker megabytes it would hold for nothing.
HEAVY = ("reportlab", "stripe", "openpyxl", "zxcvbn")

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


def test_serving_the_shop_front_and_sign_in_loads_no_pdf_payment_or_spreadsheet_library(database_url, tmp_path):
    answer = served(database_url, tmp_path, ["/", "/login", "/healthz"])
    assert answer["pages"] == {"/": 200, "/login": 200, "/healthz": 200}
    assert answer["loaded"] == []


def test_the_check_sees_a_library_once_a_document_is_printed(database_url, tmp_path):
    answer = served(database_url, tmp_path, ["/"], also=["shop.pdf.statement"])
    assert answer["loaded"] == ["reportlab"]
