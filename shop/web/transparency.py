"""The ledger's public transparency pages: signed checkpoints, public keys, proofs, and a check anyone can run.

Everything here is public. A checkpoint is a signed Merkle root; an inclusion proof is an entry's
hash and the hashes beside its path to the root. A hash reveals nothing of the entry it stands for
(SHA-256 of the entry's fields and the hash before it), so proofs can be served to anyone: only
someone who already holds an entry (its household, on a statement) learns that it is included.
The check page uses the standalone checker, shop.ledger.proof_checker, the same file the bureau runs.
"""

import json

from flask import Blueprint, jsonify, render_template
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from shop.extensions import db, limiter
from shop.ledger import checkpoints, proof_checker
from shop.web.access import public

bp = Blueprint("transparency", __name__, url_prefix="/ledger")

#: The longest text the check page reads (a proof is about 3 KB; a year of daily checkpoints ~70 KB).
MAX_TEXT = 200_000
#: How many checkpoints the page lists (the JSON lists all).
LISTED = 60


@bp.get("/")
@public
def index():
    """The checkpoints, newest first, and how to keep them."""
    made = checkpoints.all_checkpoints()
    shown = [checkpoints.as_json(c) for c in reversed(made[-LISTED:])]
    return render_template("transparency/index.html", checkpoints=shown, total=len(made))


@bp.get("/checkpoints.json")
@public
def checkpoints_json():
    """Every signed checkpoint, oldest first: [{seq, root, signed_at, key_id, signature}]."""
    return jsonify([checkpoints.as_json(c) for c in checkpoints.all_checkpoints()])


@bp.get("/key")
@public
def key():
    """The public key that signed the latest checkpoint, with its id."""
    latest = checkpoints.latest()
    keys = {k.key_id: k for k in checkpoints.published_keys()}
    if latest is None or latest.key_id not in keys:
        return jsonify(error="no_checkpoint", message="No checkpoint has been signed yet."), 404
    return jsonify(checkpoints.key_json(keys[latest.key_id]))


@bp.get("/keys.json")
@public
def keys_json():
    """Every public key that has signed a checkpoint, oldest first, so old checkpoints verify after a rotation."""
    return jsonify([checkpoints.key_json(k) for k in checkpoints.published_keys()])


@bp.get("/proof/<int:seq>.json")
@public
@limiter.limit("60 per minute")
def proof(seq: int):
    """An entry's inclusion proof against the latest checkpoint (its hash reveals nothing of it)."""
    found = checkpoints.prove(seq) if 0 < seq < 2**62 else None
    if found is None:
        return jsonify(error="not_found", message=f"There is no entry {seq}."), 404
    return jsonify(found)


@bp.get("/consistency/<int:old>/<int:new>.json")
@public
@limiter.limit("60 per minute")
def consistency(old: int, new: int):
    """The RFC 9162 consistency proof that checkpoint `new` extends checkpoint `old` (by their seq)."""
    found = checkpoints.consistency(old, new) if max(old, new) < 2**62 else None
    if found is None:
        return jsonify(error="not_found", message="Both must be checkpoints, the older first."), 404
    return jsonify(found)


class CheckForm(FlaskForm):
    """A proof to check, and the checkpoints to check it against (the published ones if left empty)."""

    proof = TextAreaField(_l("Proof (JSON)"), validators=[DataRequired(), Length(max=MAX_TEXT)])
    checkpoints = TextAreaField(_l("Checkpoints you kept (JSON, optional)"), validators=[Length(max=MAX_TEXT)])


#: What the page says for each of the checker's answers.
VERDICTS = {
    "ok": _l("It checks out: this entry is in the signed checkpoint."),
    "unreadable": _l("This is not a proof or checkpoint list in the published form."),
    "not_yet": _l("This entry is not in a checkpoint yet: check again after the next daily checkpoint."),
    "not_published": _l("The checkpoint this proof cites is not among the checkpoints given."),
    "bad_signature": _l("It does not check out: the checkpoint is not signed by a published key."),
    "not_included": _l("It does not check out: the proof does not lead from this entry to the checkpoint's root."),
    "extends": _l("It checks out: the newer checkpoint extends the older one, and nothing before it was rewritten."),
    "not_kept": _l("The older checkpoint in this proof is not the one you kept."),
    "not_extended": _l("It does not check out: the newer checkpoint does not extend the older one."),
}


@bp.route("/check", methods=["GET", "POST"])
@public
@limiter.limit("30 per minute", methods=["POST"])
def check():
    """Paste a proof (and, if kept, the checkpoints) and be told whether it checks out."""
    form, verdict, status = CheckForm(), None, 200
    if form.validate_on_submit():
        verdict = _verdict(form.proof.data, form.checkpoints.data or "")
        status = 200 if verdict.ok else 422
    elif form.is_submitted():
        status = 422
    return render_template("transparency/check.html", form=form, verdict=verdict, verdicts=VERDICTS), status


def _verdict(proof_text: str, checkpoints_text: str) -> proof_checker.Verdict:
    """The standalone checker's answer, against the checkpoints pasted or else the published ones."""
    try:
        proof_data = json.loads(proof_text)
        kept = json.loads(checkpoints_text) if checkpoints_text.strip() else None
    except (ValueError, RecursionError):
        return proof_checker.Verdict(False, "unreadable", "not JSON")
    if kept is None:
        kept = [checkpoints.as_json(c) for c in checkpoints.all_checkpoints()]
    keys = [checkpoints.key_json(k) for k in checkpoints.published_keys()]
    db.session.rollback()  # reads only: end them before the pure check
    return proof_checker.check(proof_data, kept, keys)
