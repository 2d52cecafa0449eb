"""A month's statements as a job over every core: households in batches, one worker process per core.

Each batch reads its households' month in a few queries (shop.oversight.statements.month_statements)
and the inclusion proofs of all its entries in one go, then renders and writes one PDF per household.
Workers are forked from the caller once its engine is disposed, each with its own connection pool;
the CJK font is registered before the fork, so no worker parses it again. A statement that fails is
reported by its household and the others are still written.
"""

import logging
import multiprocessing
import os
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from flask import Flask, current_app
from sqlalchemy.orm import joinedload

from shop.clock import now_utc
from shop.extensions import db
from shop.ledger import checkpoints
from shop.models import Household, Village
from shop.oversight import statement_pdf
from shop.oversight.statements import households_with_activity, month_statements

log = logging.getLogger(__name__)

#: What a statement prints as links: its verification address and the household's own page ("" if none).
#: The caller gives it (shop.web.urls.statement_links), since a domain builds no web addresses.
Links = Callable[[object], tuple[str, str]]

#: Households a worker reads and renders together: large enough that a query serves many, small enough
#: that a worker holds little and the last batches spread over every core.
BATCH = 40


@dataclass
class Outcome:
    """What a run (or one batch of it) wrote, and the households whose statement failed, with why."""

    written: int = 0
    failed: list[tuple[int, str]] = field(default_factory=list)

    def add(self, other: "Outcome") -> None:
        """Count another batch's outcome in this one."""
        self.written += other.written
        self.failed.extend(other.failed)


def default_workers() -> int:
    """One worker per core."""
    return os.cpu_count() or 1


def write_month(
    month: date,
    out: Path,
    base_url: str,
    links: Links,
    workers: int | None = None,
    done: Callable[[int], None] = lambda count: None,
    household_ids: Sequence[int] | None = None,
) -> Outcome:
    """Write the month's statement of every household with activity (or of those given) into out.

    done(n) is called after each batch of n households, written or failed.
    """
    ids = households_with_activity(month) if household_ids is None else list(household_ids)
    batches = [ids[at : at + BATCH] for at in range(0, len(ids), BATCH)]
    workers = max(1, min(workers or default_workers(), len(batches)))
    now = now_utc()  # one time printed on every statement of the run, whichever worker made it
    outcome = Outcome()
    if workers == 1:
        for batch in batches:
            outcome.add(write_batch(batch, month, out, now, links))
            done(len(batch))
        return outcome
    app = current_app._get_current_object()
    statement_pdf.load_font()  # parsed once here, shared with every worker by the fork
    db.session.remove()
    db.engine.dispose()  # no pooled connection may be shared with the workers
    context = multiprocessing.get_context("fork")
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker, initargs=(app, base_url)) as pool:
        futures = {pool.submit(write_batch, batch, month, out, now, links): batch for batch in batches}
        for future in as_completed(futures):
            batch = futures[future]
            try:
                outcome.add(future.result())
            except Exception as error:  # the worker died (killed, out of memory): its batch is lost, not the run
                outcome.failed.extend((household_id, _reason(error)) for household_id in batch)
            done(len(batch))
    return outcome


def _start_worker(app: Flask, base_url: str) -> None:
    """In a fresh worker: its own connections, and a request context so the QR links are absolute."""
    with app.app_context():
        db.engine.dispose(close=False)  # the parent's pool is the parent's: open our own
    app.test_request_context(base_url=base_url).push()


def write_batch(household_ids: Sequence[int], month: date, out: Path, now: datetime, links: Links) -> Outcome:
    """Read a batch of households' month together, then write each one's statement; failures are counted, not raised."""
    outcome = Outcome()
    try:
        try:
            statements = month_statements(_households(household_ids), month)
            seqs = [line.entry.seq for statement in statements for line in statement.lines]
            proved = checkpoints.proofs_for(db.session, seqs)
        except Exception as error:
            if len(household_ids) == 1:
                log.exception("statement of household %s failed", household_ids[0])
                return Outcome(failed=[(household_ids[0], _reason(error))])
            db.session.rollback()
            for household_id in household_ids:  # find the one that fails; write the others
                outcome.add(write_batch([household_id], month, out, now, links))
            return outcome
        for statement in statements:
            try:
                _write(statement, out, proved, now, links)
                outcome.written += 1
            except Exception as error:
                log.exception("statement of household %s failed", statement.household.id)
                outcome.failed.append((statement.household.id, _reason(error)))
        return outcome
    finally:
        db.session.remove()  # one batch at a time in memory: a county has thousands of households


def _households(household_ids: Sequence[int]) -> list[Household]:
    """The households with what their statement prints of them (village, town, officer), in one query."""
    query = (
        sa.select(Household)
        .where(Household.id.in_(household_ids))
        .options(joinedload(Household.village).joinedload(Village.town), joinedload(Household.officer))
        .order_by(Household.id)
    )
    return list(db.session.scalars(query))


def _write(statement, out: Path, proved, now: datetime, links: Links) -> None:
    """Render one statement and save it under its file name."""
    url, own_page = links(statement)
    document = statement_pdf.render(statement, url, own_page, proved=proved, now=now)
    (out / statement_pdf.filename(statement)).write_bytes(document)


def _reason(error: BaseException) -> str:
    """An error in one line, for the run's report."""
    return f"{type(error).__name__}: {error}".splitlines()[0][:200]
