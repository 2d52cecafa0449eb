"""The public check of a printed statement, opened from its QR code: does the paper match the ledger?

The QR code carries the household's id, the month and the month's digest (a
fingerprint of its entries' hashes, shop.oversight.statements.digest_of). The page
recomputes the month and answers one of three ways:

- the digest is the month's digest now: the statement matches the ledger;
- it is the digest of the first k of the month's entries (in chain order): the
  statement was printed before the later entries were written (more sales, or
  amendments after the month was confirmed), and the page says how many;
- anything else: the statement does not match.

A statement that does not match, an unknown household, a month not yet begun
and a malformed address all get the same 404 page saying the statement does
not match the ledger. One answer for all of them means the page cannot be used
to learn which household ids exist; 404 also tells scripts the address names
nothing valid, while a person still reads a clear warning. Nothing personal is
shown beyond the masked head's name.

The link's address honours PUBLIC_BASE_URL (shop.web.urls.public_url).
"""

import re
from dataclasses import dataclass

from flask import Blueprint, current_app, render_template

from shop.clock import business_today
from shop.extensions import db, limiter
from shop.models import Household
from shop.oversight.monitoring import InvalidMonth, month_start, parse_month
from shop.oversight.statements import MonthStatement, digest_of, month_statement
from shop.web.access import public

bp = Blueprint("verify", __name__, url_prefix="/verify")

#: What a digest looks like on paper: lowercase hex of shop.oversight.statements.DIGEST_LENGTH digits.
DIGEST = re.compile(r"[0-9a-f]{16}")

MATCH, EARLIER, MISMATCH = "match", "earlier", "mismatch"


@dataclass(frozen=True)
class Verdict:
    """How a printed digest compares with the ledger: MATCH, EARLIER (with how many entries came later) or MISMATCH."""

    state: str
    later_entries: int = 0


def check(statement: MonthStatement, digest: str) -> Verdict:
    """Compare a printed digest with the month as the ledger holds it now."""
    if digest == statement.digest:
        return Verdict(MATCH)
    hashes = [line.entry.hash for line in sorted(statement.lines, key=lambda line: line.entry.seq)]
    household_id, month = statement.household.id, statement.month
    for printed in range(len(hashes)):
        if digest_of(household_id, month, hashes[:printed]) == digest:
            return Verdict(EARLIER, len(hashes) - printed)
    return Verdict(MISMATCH)


@bp.get("/statement/<id:household_id>/<month>/<digest>")
@public
@limiter.limit("30 per minute")
def statement(household_id: int, month: str, digest: str):
    """Say whether a printed statement matches the ledger, with the month's figures when it does."""
    digest = digest.strip().lower()
    try:
        first = parse_month(month)
    except InvalidMonth:
        return not_matching()
    if not DIGEST.fullmatch(digest) or first > month_start(business_today()):
        return not_matching()
    household = db.session.get(Household, household_id)
    if household is None:
        return not_matching()
    account = month_statement(household, first)
    verdict = check(account, digest)
    if verdict.state == MISMATCH:
        return not_matching()
    return private(render_template("verify/statement.html", statement=account, verdict=verdict, digest=digest))


def not_matching():
    """The one answer for a statement the ledger does not hold."""
    return private(render_template("verify/statement.html", statement=None, verdict=Verdict(MISMATCH))), 404


def private(body: str):
    """The page names a household's month: not cached, not indexed, its address not sent on."""
    response = current_app.make_response(body)
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
