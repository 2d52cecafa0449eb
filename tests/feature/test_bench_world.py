"""The bench's generated year is a world the project itself accepts, so `make bench` measures a real ledger."""

import sqlalchemy as sa

from bench import ledger
from shop.extensions import db
from shop.models import LedgerEntry


def test_the_generated_year_is_a_ledger_that_verifies(app, database_url):
    """A small year written the bench's bulk way: its chain, sums and closed months pass `ledger verify`."""
    made = ledger.generate(database_url, 2025, households=40, entries=1500)
    with app.app_context():
        written = db.session.scalar(sa.select(sa.func.count(LedgerEntry.seq)))
    assert written == made.entries > 1000
    verified = app.test_cli_runner().invoke(args=["ledger", "verify"])
    assert verified.exit_code == 0, verified.output
