"""A household and an inspector check the household's entries against the published checkpoint.

The proofs come from the household's own page and from the printed statement, and are checked by
the standalone checker, run as a separate program against what /ledger/ publishes.
"""

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from shop.money import format_fen
from tests.factories import receive

from .test_checkpoints import KEY, rewrite, run, sell
from .test_household_own_page import pay
from .test_review_pages import month_url
from .test_statements import pdf_text

ROOT = Path(__file__).resolve().parents[2]
HEX = r"[0-9a-f]{64}"


@pytest.fixture
def config_overrides():
    return {"LEDGER_SIGNING_KEYS": [KEY]}


@pytest.fixture
def signed(app, goods, as_role):
    """王 sells three times and 符 has a purchased lot; a checkpoint is signed; then 王 sells once more."""
    clerk = as_role("clerk")
    receive(clerk, goods["shrimp"], goods["wang"], 5000, share_bp=5000)
    for n in range(3):
        sell(clerk, goods, f"proof-sale-{n}")
    receive(clerk, goods["paste"], goods["fu"], 10, mode="purchase", purchase_price_fen=9000)
    assert run(app, "checkpoint").exit_code == 0
    sell(clerk, goods, "proof-sale-late")
    return clerk


def checker(tmp_path, client, proof: dict) -> subprocess.CompletedProcess:
    """The standalone checker, as a household's grandson would run it: the proof, the published list and key."""
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    (tmp_path / "checkpoints.json").write_bytes(client.get("/ledger/checkpoints.json").data)
    (tmp_path / "key.json").write_bytes(client.get("/ledger/key").data)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    args = [sys.executable, str(ROOT / "shop" / "ledger" / "proof_checker.py"), "proof.json", "checkpoints.json"]
    return subprocess.run(
        [*args, "--key", "key.json"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60
    )


def own_page(as_role, household_id: int) -> str:
    issued = as_role("officer").post(f"/api/households/{household_id}/link", json={})
    assert issued.status_code == 201, issued.get_json()
    return urlparse(issued.get_json()["url"]).path


def test_the_households_page_names_the_checkpoint_and_proves_each_entry(app, signed, goods, as_role, client, tmp_path):
    page = own_page(as_role, goods["wang"])
    html = client.get(page).get_data(as_text=True)
    published = client.get("/ledger/checkpoints.json").get_json()[-1]
    assert published["root"] in html
    seqs = [int(s) for s in re.findall(rf"{re.escape(page)}/proof/(\d+)\.json", html)]
    assert sorted(seqs) == sorted(set(seqs)) and len(seqs) == 4  # 王's four credits, each with its proof

    proof = client.get(f"{page}/proof/{min(seqs)}.json")
    assert proof.status_code == 200 and proof.headers["Cache-Control"] == "private, no-store"
    done = checker(tmp_path, client, proof.get_json())
    assert done.returncode == 0, done.stdout + done.stderr

    # The sale after the checkpoint has no proof yet, and says so.
    later = client.get(f"{page}/proof/{max(seqs)}.json").get_json()
    assert later["checkpoint"] is None and later["audit_path"] is None

    # A leaf changed on the way does not check out.
    forged = proof.get_json() | {"leaf": "ab" * 32}
    assert checker(tmp_path, client, forged).returncode == 1


def test_another_households_entry_is_not_proved_through_this_households_link(app, signed, goods, as_role, client):
    page = own_page(as_role, goods["wang"])
    html = client.get(page).get_data(as_text=True)
    wangs = {int(s) for s in re.findall(r"/proof/(\d+)\.json", html)}
    fus = ({1, 2, 3, 4, 5} - wangs).pop()  # 符's purchase credit
    assert client.get(f"{page}/proof/{fus}.json").status_code == 404
    assert client.get(f"{page}/proof/999.json").status_code == 404
    assert client.get(f"/h/{'x' * 30}/proof/1.json").status_code == 404


def test_the_page_says_plainly_when_nothing_is_signed_yet(app, goods, as_role, client):
    receive(as_role("clerk"), goods["shrimp"], goods["wang"], 5000, share_bp=5000)
    sell(as_role("clerk"), goods, "proof-unsigned")
    html = client.get(own_page(as_role, goods["wang"]), headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "has not signed its account book yet" in html


def proofs_on_paper(text: str) -> tuple[dict, list[dict]]:
    """The checkpoint and the proofs read back from a statement's text, as the checker takes them."""
    flat = " ".join(text.split())
    head = re.search(rf"checkpoint seq (\d+) signed_at (\S+) key_id (\w+) root ({HEX}) signature (\S+)", flat)
    assert head, flat[-2000:]
    seq, signed_at, key_id, root, signature = head.groups()
    checkpoint = {"seq": int(seq), "root": root, "signed_at": signed_at, "key_id": key_id, "signature": signature}
    proofs = []
    for block in re.finditer(rf"seq (\d+) tree_size (\d+) leaf ({HEX}) audit_path \(\d+\):((?: {HEX})*)", flat):
        path = re.findall(HEX, block.group(4))
        proofs.append(
            {"seq": int(block.group(1)), "tree_size": int(block.group(2)), "leaf": block.group(3)}
            | {"audit_path": path, "checkpoint": checkpoint}
        )
    return checkpoint, proofs


def test_a_proof_printed_on_the_statement_checks_out_with_the_standalone_checker(
    app, signed, goods, as_role, client, tmp_path
):
    text = pdf_text(as_role("officer").client.get(month_url(goods["wang"]) + "/statement.pdf").data)
    assert "账本包含证明" in text
    checkpoint, proofs = proofs_on_paper(text)
    assert checkpoint == client.get("/ledger/checkpoints.json").get_json()[-1]
    assert len(proofs) == 3  # the three sales signed; the fourth is named as not in a checkpoint yet
    assert "尚未纳入签名检查点" in text
    for proof in proofs:
        done = checker(tmp_path, client, proof)
        assert done.returncode == 0, (proof, done.stdout + done.stderr)
    forged = proofs[0] | {"audit_path": list(reversed(proofs[0]["audit_path"])) + ["00" * 32]}
    assert checker(tmp_path, client, forged).returncode == 1


def extension(tmp_path, client, old: int, new: int, kept: bytes) -> subprocess.CompletedProcess:
    """The standalone checker on a consistency proof, against the checkpoints the reader kept."""
    (tmp_path / "kept.json").write_bytes(kept)
    (tmp_path / "consistency.json").write_bytes(client.get(f"/ledger/consistency/{old}/{new}.json").data)
    (tmp_path / "keys.json").write_bytes(client.get("/ledger/keys.json").data)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    args = [sys.executable, str(ROOT / "shop" / "ledger" / "proof_checker.py"), "consistency.json", "kept.json"]
    return subprocess.run(
        [*args, "--key", "keys.json"], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60
    )


def test_whoever_kept_an_old_checkpoint_sees_the_new_one_extends_it(app, signed, goods, client, tmp_path):
    kept = client.get("/ledger/checkpoints.json").data
    old = json.loads(kept)[-1]["seq"]
    sell(signed, goods, "proof-sale-more")
    assert run(app, "checkpoint").exit_code == 0
    newest = client.get("/ledger/checkpoints.json").get_json()[-1]["seq"]
    done = extension(tmp_path, client, old, newest, kept)
    assert done.returncode == 0 and "extends" in done.stdout, done.stdout + done.stderr
    # The page answers the same, in words.
    page = client.get("/ledger/check", headers={"Accept-Language": "en"}).get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    body = {"proof": client.get(f"/ledger/consistency/{old}/{newest}.json").get_data(as_text=True), "checkpoints": ""}
    if token:
        body["csrf_token"] = token.group(1)
    answered = client.post("/ledger/check", data=body, headers={"Accept-Language": "en"})
    assert answered.status_code == 200 and "extends the older one" in answered.get_data(as_text=True)
    # A kept copy that differs from what is served is named.
    forged = json.loads(kept)
    forged[-1]["root"] = "ab" * 32
    assert extension(tmp_path, client, old, newest, json.dumps(forged).encode()).returncode == 1


def test_a_rewrite_behind_a_kept_checkpoint_shows_in_the_next_consistency_proof(app, signed, goods, client, tmp_path):
    kept = client.get("/ledger/checkpoints.json").data
    old = json.loads(kept)[-1]["seq"]
    rewrite(app)
    sell(signed, goods, "proof-sale-after-rewrite")
    assert run(app, "checkpoint").exit_code == 0
    newest = client.get("/ledger/checkpoints.json").get_json()[-1]["seq"]
    done = extension(tmp_path, client, old, newest, kept)
    assert done.returncode == 1 and "does not extend" in done.stdout, done.stdout + done.stderr


def test_the_household_sees_the_same_figures_as_its_officer(app, signed, goods, as_role, client):
    pay(app, goods["wang"], 2000)
    page = own_page(as_role, goods["wang"])
    html = client.get(page).get_data(as_text=True)
    ledger = as_role("officer").get(f"/api/households/{goods['wang']}/ledger").get_json()
    shown = re.search(r'data-figure="balance">([^<]+)<', html).group(1)
    assert shown == format_fen(ledger["balance_fen"]) and ledger["balance_fen"] > 0
    assert {int(s) for s in re.findall(r"/proof/(\d+)\.json", html)} == {e["seq"] for e in ledger["entries"]}
    for figure in ("credited_fen", "paid_out_fen"):
        assert f"<dd>{format_fen(ledger[figure])}</dd>" in html, figure
