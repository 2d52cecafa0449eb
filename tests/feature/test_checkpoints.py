"""Signed checkpoints of the ledger: the insider's rewrite is caught, proofs check out with the standalone checker."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.ledger import checkpoints, entries, guard
from shop.ledger.chain import entry_hash
from shop.models import Draw, LedgerEntry, Lot
from shop.money import share_of
from tests.factories import receive

ROOT = Path(__file__).resolve().parents[2]
KEY = "11" * 32
NEW_KEY = "22" * 32


@pytest.fixture
def config_overrides():
    return {"LEDGER_SIGNING_KEYS": [KEY]}


def sell(clerk, goods, key, grams=500):
    body = {
        "idempotency_key": key,
        "payment_method": "cash",
        "lines": [{"product_id": goods["shrimp"], "quantity": grams}],
    }
    response = clerk.post("/api/counter/sales", json=body)
    assert response.status_code == 201, response.get_json()


@pytest.fixture
def chain(app, goods, as_role):
    """王's shrimp at a 50 % share, five sales: five credits (a consigned lot is credited as it sells)."""
    clerk = as_role("clerk")
    receive(clerk, goods["shrimp"], goods["wang"], 5000, share_bp=5000)
    for n in range(5):
        sell(clerk, goods, f"checkpoint-sale-{n}")
    return clerk


def run(app, *args):
    return app.test_cli_runner().invoke(args=["ledger", *args])


def rewrite(app):
    """The insider's rewrite: a credit and its draw raised by ¥10, every later hash recomputed, guards put back."""
    with app.app_context(), db.engine.begin() as conn:
        guard.remove(conn)
        table = LedgerEntry.__table__
        rows = [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.seq)).mappings()]
        target = next(r for r in rows if r["draw_id"] is not None)
        draw = conn.execute(sa.select(Draw.__table__).where(Draw.id == target["draw_id"])).mappings().one()
        assert draw["credit_fen"] + 1000 <= draw["amount_fen"]  # the rewrite stays within the draw's checks
        conn.execute(
            sa.update(Draw.__table__).where(Draw.id == draw["id"]).values(credit_fen=draw["credit_fen"] + 1000)
        )
        target["amount_fen"] += 1000
        prev = target["prev_hash"]
        for row in rows[target["seq"] - 1 :]:
            row["prev_hash"] = prev
            row["hash"] = entry_hash(prev, row)
            conn.execute(
                table.update()
                .where(table.c.seq == row["seq"])
                .values(amount_fen=row["amount_fen"], prev_hash=row["prev_hash"], hash=row["hash"])
            )
            prev = row["hash"]
        guard.install(conn)
    return target["seq"]


def rewrite_terms(app) -> int:
    """The whole insider's rewrite: the lot's share raised, every draw and credit of it made to agree, hashes redone.

    Every row then agrees with every other (draws with their lot, lines with their draws), so only a
    checkpoint taken before the rewrite can show it.
    """
    with app.app_context(), db.engine.begin() as conn:
        guard.remove(conn)
        lots, draws, table = Lot.__table__, Draw.__table__, LedgerEntry.__table__
        lot_id = conn.execute(sa.select(draws.c.lot_id).order_by(draws.c.id).limit(1)).scalar_one()
        conn.execute(lots.update().where(lots.c.id == lot_id).values(share_bp=7000))
        credits = {}
        for draw in conn.execute(sa.select(draws).where(draws.c.lot_id == lot_id)).mappings().all():
            credits[draw["id"]] = share_of(draw["amount_fen"], 7000)
            conn.execute(
                draws.update().where(draws.c.id == draw["id"]).values(share_bp=7000, credit_fen=credits[draw["id"]])
            )
        rows = [dict(r) for r in conn.execute(sa.select(table).order_by(table.c.seq)).mappings()]
        first = min(r["seq"] for r in rows if r["draw_id"] in credits)
        prev = rows[first - 2]["hash"] if first > 1 else rows[0]["prev_hash"]
        for row in rows[first - 1 :]:
            if row["draw_id"] in credits:
                row["amount_fen"] = credits[row["draw_id"]]
            row["prev_hash"], row["hash"] = prev, entry_hash(prev, row)
            conn.execute(
                table.update()
                .where(table.c.seq == row["seq"])
                .values(amount_fen=row["amount_fen"], prev_hash=row["prev_hash"], hash=row["hash"])
            )
            prev = row["hash"]
        guard.install(conn)
    return first


def test_a_checkpoint_signs_the_ledgers_state_and_only_when_something_is_new(app, chain, client):
    made = run(app, "checkpoint")
    assert made.exit_code == 0 and "Checkpoint 5" in made.output
    again = run(app, "checkpoint")
    assert again.exit_code == 0 and "nothing written" in again.output
    listed = client.get("/ledger/checkpoints.json").get_json()
    assert [c["seq"] for c in listed] == [5]
    with app.app_context():
        hashes = [bytes.fromhex(h) for h in db.session.scalars(sa.select(LedgerEntry.hash).order_by(LedgerEntry.seq))]
    from shop.ledger import merkle

    assert listed[0]["root"] == merkle.MemoryTree(hashes).root().hex()
    assert set(listed[0]) == {"seq", "root", "signed_at", "key_id", "signature"}
    verified = run(app, "verify")
    assert verified.exit_code == 0 and "Ledger intact: 5 entries." in verified.output
    assert "Checkpoints intact: 1 checked." in verified.output


def test_nothing_to_sign_on_an_empty_ledger(app):
    result = run(app, "checkpoint")
    assert result.exit_code == 0 and "nothing written" in result.output


def test_the_insiders_rewrite_is_caught_by_the_checkpoint_taken_before_it(app, chain, goods, client, tmp_path):
    assert run(app, "checkpoint").exit_code == 0
    sell(chain, goods, "checkpoint-sale-later")
    assert run(app, "checkpoint").exit_code == 0
    kept = tmp_path / "checkpoints.json"
    kept.write_bytes(client.get("/ledger/checkpoints.json").data)

    # The probe (one credit and its draw raised by ¥10) no longer needs a checkpoint: the draw
    # no longer earns its lot's share. The whole rewrite makes every row agree.
    seq = rewrite_terms(app)
    assert seq <= 5
    with app.app_context():
        count, fault = entries.verify()
    assert fault is None and count == 6  # the chain alone, and its cross-checks, say nothing is wrong

    result = run(app, "verify")
    assert result.exit_code == 1
    assert "Ledger broken at checkpoint 5 (signed " in result.output
    assert "no longer give its root" in result.output
    assert "checkpoint 6" in result.output

    # The insider deletes the stored checkpoints too: the copy kept outside still catches the rewrite.
    with app.app_context(), db.engine.begin() as conn:
        for table in ("ledger_checkpoint", "ledger_tree_node"):
            guard.remove(conn, table)
            conn.execute(sa.text(f"DELETE FROM {table}"))
            guard.install(conn, table)
    assert run(app, "verify").exit_code == 0
    outside = run(app, "verify", "--checkpoints", str(kept))
    assert outside.exit_code == 1
    assert "Ledger broken at checkpoint 5 (signed " in outside.output


def test_a_kept_checkpoint_longer_than_the_ledger_fails(app, chain, client, tmp_path):
    """Entries removed from the end: a kept checkpoint covers more entries than the ledger now holds."""
    assert run(app, "checkpoint").exit_code == 0
    kept = tmp_path / "checkpoints.json"
    kept.write_bytes(client.get("/ledger/checkpoints.json").data)
    assert run(app, "verify", "--checkpoints", str(kept)).exit_code == 0
    data = json.loads(kept.read_text())
    data[0]["seq"] = 99
    kept.write_text(json.dumps(data))
    result = run(app, "verify", "--checkpoints", str(kept))
    assert result.exit_code == 1 and "checkpoint 99" in result.output


def test_a_tampered_signature_or_an_unknown_key_fails(app, chain, client, tmp_path):
    assert run(app, "checkpoint").exit_code == 0
    published = client.get("/ledger/checkpoints.json").get_json()
    forged = dict(published[0])
    signature = bytearray(__import__("base64").b64decode(forged["signature"]))
    signature[0] ^= 1
    forged["signature"] = __import__("base64").b64encode(bytes(signature)).decode()
    kept = tmp_path / "forged.json"
    kept.write_text(json.dumps([forged]))
    result = run(app, "verify", "--checkpoints", str(kept))
    assert result.exit_code == 1 and "signature does not hold" in result.output
    stranger = dict(published[0], key_id="0123456789abcdef")
    kept.write_text(json.dumps([stranger]))
    assert run(app, "verify", "--checkpoints", str(kept)).exit_code == 1
    kept.write_text("not json")
    assert run(app, "verify", "--checkpoints", str(kept)).exit_code == 2
    kept.write_text('[{"seq": "x"}]')
    assert run(app, "verify", "--checkpoints", str(kept)).exit_code != 0


def test_old_checkpoints_still_verify_after_the_key_is_rotated(app, chain, goods, client):
    assert run(app, "checkpoint").exit_code == 0
    app.config["LEDGER_SIGNING_KEYS"] = [NEW_KEY, KEY]
    sell(chain, goods, "checkpoint-sale-rotated")
    assert run(app, "checkpoint").exit_code == 0
    keys = client.get("/ledger/keys.json").get_json()
    listed = client.get("/ledger/checkpoints.json").get_json()
    assert len(keys) == 2 and listed[0]["key_id"] != listed[1]["key_id"]
    assert client.get("/ledger/key").get_json()["key_id"] == listed[1]["key_id"]
    assert run(app, "verify").exit_code == 0


def test_a_proof_from_ledger_prove_checks_out_with_the_standalone_checker(app, chain, goods, client, tmp_path):
    assert run(app, "checkpoint").exit_code == 0
    sell(chain, goods, "checkpoint-sale-after")
    proved = run(app, "prove", "3")
    assert proved.exit_code == 0
    (tmp_path / "proof.json").write_text(proved.output)
    (tmp_path / "checkpoints.json").write_bytes(client.get("/ledger/checkpoints.json").data)
    (tmp_path / "key.json").write_bytes(client.get("/ledger/key").data)
    checker = ROOT / "shop" / "ledger" / "proof_checker.py"
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}

    def check(*names):
        args = [
            sys.executable,
            str(checker),
            *[str(tmp_path / n) for n in names[:-1]],
            "--key",
            str(tmp_path / names[-1]),
        ]
        return subprocess.run(args, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)

    ok = check("proof.json", "checkpoints.json", "key.json")
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "OK" in ok.stdout
    # As a module too.
    module = subprocess.run(
        [sys.executable, "-m", "shop.ledger.proof_checker", "proof.json", "checkpoints.json", "--key", "key.json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )
    assert module.returncode == 0, module.stdout + module.stderr

    proof = json.loads(proved.output)
    proof["leaf"] = "ab" * 32
    (tmp_path / "bad.json").write_text(json.dumps(proof))
    bad = check("bad.json", "checkpoints.json", "key.json")
    assert bad.returncode == 1 and "DOES NOT CHECK OUT" in bad.stdout

    # The entry sold after the checkpoint is not in one yet.
    later = run(app, "prove", "6")
    assert json.loads(later.output)["checkpoint"] is None
    assert run(app, "prove", "99").exit_code == 1


def test_proofs_for_the_integrator(app, chain, goods):
    assert run(app, "checkpoint").exit_code == 0
    sell(chain, goods, "checkpoint-sale-after")
    with app.app_context():
        latest, proofs = checkpoints.proofs_for(db.session, [1, 5, 6])
    assert latest["seq"] == 5
    assert proofs[1]["tree_size"] == 5 and proofs[5]["checkpoint"] == latest
    assert proofs[6]["checkpoint"] is None and proofs[6]["note"] == checkpoints.NOT_YET


def test_the_public_json_endpoints(app, chain, goods, client):
    assert client.get("/ledger/checkpoints.json").get_json() == []
    assert client.get("/ledger/keys.json").get_json() == []
    assert client.get("/ledger/key").status_code == 404
    assert client.get("/ledger/proof/1.json").get_json()["checkpoint"] is None
    assert run(app, "checkpoint").exit_code == 0
    sell(chain, goods, "checkpoint-sale-after")
    assert run(app, "checkpoint").exit_code == 0
    key = client.get("/ledger/key").get_json()
    assert key["algorithm"] == "Ed25519" and len(key["key_id"]) == 16
    proof = client.get("/ledger/proof/2.json").get_json()
    assert proof["tree_size"] == 6 and proof["seq"] == 2
    assert client.get("/ledger/proof/99.json").status_code == 404
    assert client.get("/ledger/proof/0.json").status_code == 404
    assert client.get("/ledger/proof/99999999999999999999.json").status_code == 404
    consistency = client.get("/ledger/consistency/5/6.json").get_json()
    from shop.ledger import merkle

    path = [bytes.fromhex(h) for h in consistency["consistency_path"]]
    old, new = bytes.fromhex(consistency["old"]["root"]), bytes.fromhex(consistency["new"]["root"])
    assert merkle.verify_consistency(5, 6, old, new, path)
    assert client.get("/ledger/consistency/6/5.json").status_code == 404
    assert client.get("/ledger/consistency/4/6.json").status_code == 404
    page = client.get("/ledger/", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200 and consistency["new"]["root"] in page.get_data(as_text=True)


def post_check(client, proof, kept=""):
    token = client.get("/ledger/check")
    assert token.status_code == 200
    text = token.get_data(as_text=True)
    csrf = text.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    return client.post("/ledger/check", data={"csrf_token": csrf, "proof": proof, "checkpoints": kept})


def test_the_check_page_uses_the_standalone_checker(app, chain, client):
    assert run(app, "checkpoint").exit_code == 0
    proof = client.get("/ledger/proof/4.json").get_data(as_text=True)
    ok = post_check(client, proof)
    assert ok.status_code == 200 and 'data-verdict="ok"' in ok.get_data(as_text=True)
    kept = client.get("/ledger/checkpoints.json").get_data(as_text=True)
    assert 'data-verdict="ok"' in post_check(client, proof, kept).get_data(as_text=True)
    forged = json.loads(proof)
    forged["audit_path"][0] = "00" * 32
    bad = post_check(client, json.dumps(forged))
    assert bad.status_code == 422 and 'data-verdict="not_included"' in bad.get_data(as_text=True)


@pytest.mark.parametrize(
    "proof, kept",
    [
        ("garbage", ""),
        ("{", ""),
        ("[]", ""),
        ("null", ""),
        ('{"seq": "1", "leaf": 5}', ""),
        ('{"seq": true, "leaf": "' + "ab" * 32 + '", "checkpoint": {}}', ""),
        ('{"seq": 1, "leaf": "' + "ab" * 32 + '", "checkpoint": {"seq": 1}, "audit_path": []}', ""),
        ('{"seq": 1, "leaf": "' + "zz" * 32 + '"}', ""),
        ('{"seq": 1, "leaf": "' + "ab" * 32 + '", "checkpoint": 5, "audit_path": 7}', ""),
        ("[" * 5000 + "]" * 5000, ""),
        ('{"seq": 1}', "{not json"),
        ('{"seq": 1, "leaf": "' + "ab" * 32 + '", "checkpoint": null}', '"a string"'),
        ("x" * 250_000, ""),
        ("", ""),
    ],
)
def test_the_check_page_answers_hostile_input_without_crashing(app, chain, client, proof, kept):
    assert run(app, "checkpoint").exit_code == 0
    response = post_check(client, proof, kept)
    assert 400 <= response.status_code < 500 or 'data-verdict="' in response.get_data(as_text=True)
    assert response.status_code != 500


def test_a_huge_body_is_refused(app, client):
    response = client.post("/ledger/check", data={"proof": "x" * (2 * 1024 * 1024)})
    assert 400 <= response.status_code < 500


def test_the_stored_tree_grows_checkpoint_by_checkpoint_and_answers_every_proof(app, goods, as_role, monkeypatch):
    """With small stored subtrees (2 entries and up), each checkpoint extends the stored nodes of the last."""
    from shop.ledger import merkle

    monkeypatch.setattr(checkpoints, "STORED_LEVEL", 1)
    monkeypatch.setattr(checkpoints, "BLOCK", 2)
    clerk = as_role("clerk")
    receive(clerk, goods["shrimp"], goods["wang"], 5000, share_bp=5000)
    sizes = []
    for n, batch in enumerate((1, 2, 4, 1, 3)):
        for k in range(batch):
            sell(clerk, goods, f"checkpoint-grow-{n}-{k}", grams=100)
        assert run(app, "checkpoint").exit_code == 0
        sizes.append(sum((1, 2, 4, 1, 3)[: n + 1]))
    with app.app_context():
        hashes = [bytes.fromhex(h) for h in db.session.scalars(sa.select(LedgerEntry.hash).order_by(LedgerEntry.seq))]
        made = checkpoints.all_checkpoints()
        assert [c.seq for c in made] == sizes
        for c in made:
            assert c.root == merkle.MemoryTree(hashes[: c.seq]).root().hex()
        latest, proofs = checkpoints.proofs_for(db.session, range(1, len(hashes) + 1))
        root = bytes.fromhex(latest["root"])
        for seq, proof in proofs.items():
            path = [bytes.fromhex(h) for h in proof["audit_path"]]
            assert merkle.verify_inclusion(hashes[seq - 1], seq - 1, len(hashes), path, root)
        for old in made:
            for new in made:
                if old.seq <= new.seq:
                    path = checkpoints.consistency(old.seq, new.seq)["consistency_path"]
                    path = [bytes.fromhex(h) for h in path]
                    roots = bytes.fromhex(old.root), bytes.fromhex(new.root)
                    assert merkle.verify_consistency(old.seq, new.seq, *roots, path)
        db.session.remove()
    assert run(app, "verify").exit_code == 0
    # A stored node rewritten: proofs would mislead, and verify says so.
    with app.app_context(), db.engine.begin() as conn:
        guard.remove(conn, "ledger_tree_node")
        conn.execute(
            sa.text("UPDATE ledger_tree_node SET hash = :h WHERE level = 1 AND node_index = 0"), {"h": "00" * 32}
        )
        guard.install(conn, "ledger_tree_node")
    result = run(app, "verify")
    assert result.exit_code == 1 and "the stored tree does not match entries 1 onwards" in result.output


@pytest.mark.parametrize("key", ["not-hex", "ab" * 31])
def test_a_signing_key_that_is_not_one_is_refused_and_nothing_is_written(app, chain, client, key):
    app.config["LEDGER_SIGNING_KEYS"] = [key]
    result = run(app, "checkpoint")
    assert result.exit_code == 2 and "64 hex digits" in result.output
    assert client.get("/ledger/checkpoints.json").get_json() == []


def test_without_a_configured_key_one_is_generated_once_into_the_instance_folder(app, chain, tmp_path, monkeypatch):
    from shop.ledger import signing

    app.config["LEDGER_SIGNING_KEYS"] = []
    monkeypatch.delenv("LEDGER_SIGNING_KEYS", raising=False)
    monkeypatch.setattr(app, "instance_path", str(tmp_path))
    assert run(app, "checkpoint").exit_code == 0
    kept = signing.instance_key_path(str(tmp_path))
    assert kept.stat().st_mode & 0o077 == 0 and len(kept.read_text().strip()) == 64
    with app.app_context():
        assert signing.key_id(signing.signing_keys()[0]) == checkpoints.latest().key_id
