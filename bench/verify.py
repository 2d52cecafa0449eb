"""`flask ledger verify` over the generated ledger, against a plain read of the same rows.

The project's side is shop.ledger.entries.verify: the hash chain recomputed with shop.ledger.chain.entry_hash,
every entry cross-checked with its cause, every draw with its lot, every sale line with its draws and
every review with its month. The baseline streams the same rows (the ledger in seq order, the sale
lines, the draws with their lots' terms, the reviews) and does nothing with them, so the ratio is what
the checks cost over reading. Each side runs in a fresh
worker (bench.worker), which reports its peak resident memory: verify's must stay near the
baseline's however many entries there are, since it reads the chain a chunk at a time.
"""

import time
from typing import TYPE_CHECKING

import sqlalchemy as sa

from .worker import in_worker, project_app, resident_mib

if TYPE_CHECKING:
    from .ledger import Ledger

#: Rows the baseline fetches at a time, as verify does.
BASELINE_CHUNK = 2000
#: What verify reads: the chain, then the sale lines, the draws with their lots' terms, and the reviews.
BASELINE_READS = (
    "SELECT * FROM household_ledger ORDER BY seq",
    "SELECT * FROM sale_line ORDER BY id",
    "SELECT draw.*, lot.household_id, lot.mode, lot.share_bp FROM draw JOIN lot ON lot.id = draw.lot_id"
    " ORDER BY draw.sale_line_id, draw.id",
    "SELECT id, household_id, month, through_seq, digest FROM month_review ORDER BY month, id",
)


def project_job(url: str) -> dict:
    """In a fresh worker: the project's verify, once."""
    from shop.ledger import entries

    app = project_app(url)
    with app.app_context():
        ready = resident_mib()
        started = time.perf_counter()
        count, fault = entries.verify()
        seconds = time.perf_counter() - started
    if fault is not None:
        raise RuntimeError(f"the generated ledger does not verify: {fault}")
    return {"seconds": seconds, "entries": count, "ready_mib": ready}


def baseline_job(url: str) -> dict:
    """In a fresh worker: every row verify reads, streamed, and dropped; the count is the ledger's."""
    engine = sa.create_engine(url)
    ready = resident_mib()
    started = time.perf_counter()
    counts = []
    with engine.connect() as conn:
        for sql in BASELINE_READS:
            rows = conn.execution_options(stream_results=True, yield_per=BASELINE_CHUNK).exec_driver_sql(sql)
            counts.append(sum(1 for _ in rows))
    count = counts[0]
    seconds = time.perf_counter() - started
    engine.dispose()
    return {"seconds": seconds, "entries": count, "ready_mib": ready}


def measure(url: str, ledger: "Ledger") -> list[dict]:
    """Seconds and the worker's peak memory of verify, against the plain read."""
    mine = in_worker("verify:project_job", url=url)
    bare = in_worker("verify:baseline_job", url=url)
    if mine["entries"] != bare["entries"]:
        raise RuntimeError(f"verify counted {mine['entries']} entries, the plain read {bare['entries']}")
    scale = f"{mine['entries']:,} entries"
    return [
        {
            "figure": f"Ledger verify, s ({scale})",
            "project": mine["seconds"],
            "baseline": bare["seconds"],
            "better": "lower",
        },
        {
            "figure": "Ledger verify, worker peak RSS (MiB)",
            "project": mine["peak_mib"],
            "baseline": bare["peak_mib"],
            "better": "lower",
            "ready_mib": {"project": mine["ready_mib"], "baseline": bare["ready_mib"]},
        },
    ]
