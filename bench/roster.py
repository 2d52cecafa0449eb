"""The household roster import: a generated county roster through the project's use case, against a bare insert.

Seeded first, with plain inserts: Lingao's ten towns, 20 villages each and BENCH_ROSTER_OFFICERS
officer accounts. Then two roster CSVs are written to a temporary folder: BENCH_ROSTER_ROWS
(50,000) and a fifth of that, every household new, a third of them 监测户 with a subtype, half
with a phone number (sealed at rest).

Project: shop.villages.roster.import_roster on the file, as `flask households import` runs it (the
command adds only a progress bar): streamed, checked and written in batches of 1,000 in one
transaction, each household with its first standing and its audit rows. Then the same large
file again, where every row is found unchanged. Baseline: csv.reader over the same file and one
executemany INSERT per 1,000 rows into a bare table of the same columns (ids looked up from dicts
loaded once), in one transaction: no checks, no history, no audit, no sealing.

Each side runs in a fresh worker process (bench.worker), which reports its peak resident memory:
the small and the large file side by side show whether memory grows with the file.
"""

import csv
import os
import random
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from .worker import in_worker, project_app, resident_mib

VILLAGES_PER_TOWN = 20
CATEGORIES = ("脱贫户", "监测户", "一般农户")
SUBTYPES = ("脆弱不稳定户", "边缘易致贫户", "突发严重困难户")
HEADER = ["户编号", "户主姓名", "乡镇", "村", "家庭人口", "户类别", "监测类型", "帮扶责任人", "联系电话"]
SURNAMES = "王符陈李林吴黄王周郑谢冯"

metadata = sa.MetaData()
bare_household = sa.Table(
    "bench_bare_household",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("code", sa.String(32), unique=True),
    sa.Column("head_name", sa.String(50)),
    sa.Column("members", sa.Integer),
    sa.Column("village_id", sa.Integer),
    sa.Column("category", sa.String(20)),
    sa.Column("monitor_subtype", sa.String(20)),
    sa.Column("officer_id", sa.Integer),
    sa.Column("phone", sa.Text),
)


def seed(app, officers: int) -> None:
    """Towns, villages and officer accounts, inserted plainly (the import is what is measured)."""
    from werkzeug.security import generate_password_hash

    from shop.extensions import db
    from shop.models import Counter, Role, Town, User, Village
    from shop.ops.demo import TOWNS

    hashed = generate_password_hash("bench password 2026", method="pbkdf2:sha256:1000")
    with app.app_context():
        db.session.add(Counter(code="LC-JN", name="临城江南市场对面专柜"))
        towns = [Town(name_zh=zh, name_en=en) for zh, en in TOWNS]
        db.session.add_all(towns)
        villages = [f"{town.name_zh[:2]}{n:02d}村" for town in towns for n in range(VILLAGES_PER_TOWN)]
        db.session.add_all(Village(town=towns[i // VILLAGES_PER_TOWN], name_zh=name) for i, name in enumerate(villages))
        db.session.flush()
        rows = [
            {"username": f"officer{n:04d}", "password_hash": hashed, "role": Role.OFFICER, "display_name": ""}
            for n in range(officers)
        ]
        db.session.execute(sa.insert(User), rows)
        db.session.commit()


def write_roster(path: Path, rows: int, prefix: str, officers: int) -> None:
    """A roster CSV of `rows` new households, the same every run."""
    from shop.ops.demo import TOWNS

    rng = random.Random(rows)
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(HEADER)
        for n in range(rows):
            town = TOWNS[n % len(TOWNS)][0]
            category = CATEGORIES[n % 3]
            out.writerow(
                [
                    f"{prefix}{n:06d}",
                    SURNAMES[n % len(SURNAMES)] + "某" * rng.randint(1, 2),
                    town,
                    f"{town[:2]}{rng.randrange(VILLAGES_PER_TOWN):02d}村",
                    rng.randint(1, 8),
                    category,
                    SUBTYPES[n % 3] if category == "监测户" else "",
                    f"officer{rng.randrange(officers):04d}",
                    f"13{rng.randrange(10**9):09d}" if n % 2 else "",
                ]
            )


def project_job(url: str, file: str) -> dict:
    """In a fresh worker: the roster through shop.villages.roster.import_roster, as the command runs it."""
    from shop.villages import roster

    app = project_app(url)
    with app.app_context():
        ready = resident_mib()
        started = time.perf_counter()
        with open(file, "rb") as source:
            report = roster.import_roster(source, Path(file).name, by=None, keep=0)
        seconds = time.perf_counter() - started
    if report.refused:
        raise AssertionError(f"the generated roster was refused: {report.refused[:3]}")
    return {
        "seconds": seconds,
        "ready_mib": ready,
        "added": report.added,
        "updated": report.updated,
        "unchanged": report.unchanged,
    }


def baseline_job(url: str, file: str) -> dict:
    """In a fresh worker: csv.reader and an executemany INSERT per 1,000 rows, in one transaction."""
    engine = sa.create_engine(url)
    metadata.create_all(engine)
    ready = resident_mib()
    started = time.perf_counter()
    with engine.begin() as conn:
        towns = dict(conn.execute(sa.text("SELECT name_zh, id FROM town")).all())
        villages = {(t, n): i for i, t, n in conn.execute(sa.text("SELECT id, town_id, name_zh FROM village"))}
        officers = dict(conn.execute(sa.text("SELECT username, id FROM app_user")).all())
        with open(file, encoding="utf-8", newline="") as f:
            reader = csv.reader(f)
            next(reader)
            batch, count = [], 0
            for code, name, town, village, members, category, subtype, officer, phone in reader:
                batch.append(
                    {
                        "code": code,
                        "head_name": name,
                        "members": int(members),
                        "village_id": villages[(towns[town], village)],
                        "category": category,
                        "monitor_subtype": subtype or None,
                        "officer_id": officers[officer],
                        "phone": phone or None,
                    }
                )
                if len(batch) == 1000:
                    conn.execute(sa.insert(bare_household), batch)
                    count += len(batch)
                    batch = []
            if batch:
                conn.execute(sa.insert(bare_household), batch)
                count += len(batch)
    seconds = time.perf_counter() - started
    with engine.begin() as conn:
        conn.execute(sa.delete(bare_household))
    engine.dispose()
    return {"seconds": seconds, "ready_mib": ready, "added": count}


def _households(url: str) -> int:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        count = conn.execute(sa.text("SELECT COUNT(*) FROM household")).scalar_one()
    engine.dispose()
    return count


def measure(app, url: str) -> list[dict]:
    """Seconds and worker peak memory for the small and large roster, and the large one imported again."""
    rows = int(os.environ.get("BENCH_ROSTER_ROWS", "50000"))
    officers = int(os.environ.get("BENCH_ROSTER_OFFICERS", "2000"))
    small_rows = rows // 5
    seed(app, officers)
    figures = []
    with tempfile.TemporaryDirectory(prefix="bangfu-roster-") as folder:
        small, large = Path(folder) / "roster-small.csv", Path(folder) / "roster-large.csv"
        write_roster(small, small_rows, "S", officers)
        write_roster(large, rows, "L", officers)
        runs = {}
        for name, file, count in (("small", small, small_rows), ("large", large, rows)):
            bare = in_worker("roster:baseline_job", url=url, file=str(file))
            mine = in_worker("roster:project_job", url=url, file=str(file))
            if mine["added"] != count or bare["added"] != count:
                raise AssertionError(f"{name}: {mine['added']} and {bare['added']} rows imported, not {count}")
            runs[name] = (mine, bare, count)
        again = in_worker("roster:project_job", url=url, file=str(large))
        if again["unchanged"] != rows or _households(url) != rows + small_rows:
            raise AssertionError(f"importing the same roster again changed something: {again}")
        bare_again = runs["large"][1]
    for name in ("small", "large"):
        mine, bare, count = runs[name]
        figures += [
            {
                "figure": f"Roster import, {count:,} new households (s)",
                "project": mine["seconds"],
                "baseline": bare["seconds"],
                "better": "lower",
                "rows_per_second": {"project": count / mine["seconds"], "baseline": count / bare["seconds"]},
            },
            {
                "figure": f"Roster import, {count:,} rows, worker peak RSS (MiB)",
                "project": mine["peak_mib"],
                "baseline": bare["peak_mib"],
                "better": "lower",
                "ready_mib": {"project": mine["ready_mib"], "baseline": bare["ready_mib"]},
            },
        ]
    figures += [
        {
            "figure": f"Roster re-import, {rows:,} rows all unchanged (s)",
            "project": again["seconds"],
            "baseline": bare_again["seconds"],
            "better": "lower",
        },
        {
            "figure": f"Roster re-import, {rows:,} rows, worker peak RSS (MiB)",
            "project": again["peak_mib"],
            "baseline": bare_again["peak_mib"],
            "better": "lower",
        },
    ]
    return figures
