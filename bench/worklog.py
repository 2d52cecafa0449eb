"""The county's work dashboard (/admin/work/county) over a generated work ledger, against the bare grouped COUNT.

The generator writes 10 towns of 5 villages, an officer for every 20 households, BENCH_WORK_HOUSEHOLDS
households (10,000; a third of them monitored, so scheduled for visits) and BENCH_WORK_MEASURES
measures (30,000) planned over the last 12 weeks, about half of them ticked off (some late), a
twentieth corrected, and a visit for most monitored households. The page is fetched through the
Flask test client as the manager (session, sign-in check, the grouped queries, the schedule, the
template); the baseline is one hand-written grouped COUNT of the measures per town, open and done,
on the same connection, no template. Both are timed in this process: the median of BENCH_PAGE_RUNS.
"""

import os
import random
from datetime import date, timedelta

import sqlalchemy as sa

from .dashboard import PASSWORD, median_ms, signed_in

MANAGER = "bench-work-admin"

#: The baseline: the measures that count, open and ticked off, per town, in one grouped query.
PER_TOWN = """
SELECT v.town_id,
       SUM(CASE WHEN d.id IS NULL THEN 1 ELSE 0 END),
       SUM(CASE WHEN d.id IS NULL THEN 0 ELSE 1 END)
FROM measure m
JOIN household h ON h.id = m.household_id
JOIN village v ON v.id = h.village_id
LEFT JOIN measure_done d ON d.measure_id = m.id
WHERE m.id NOT IN (SELECT corrects_id FROM measure WHERE corrects_id IS NOT NULL)
GROUP BY v.town_id
"""


def generate(app, households: int, measures: int, today: date) -> dict:
    """Write the places, officers, households, measures, tick-offs and visits; how many of each."""
    from shop.clock import now_utc
    from shop.extensions import db
    from shop.models import Household, Measure, MeasureDone, Role, Town, User, Village, Visit
    from shop.staff.accounts import hash_password
    from shop.worklog.rules import MeasureKind, VisitKind

    rng = random.Random(15)
    now = now_utc()
    start = today - timedelta(weeks=12)
    with app.app_context():
        conn = db.session.connection()
        manager = User(username=MANAGER, password_hash=hash_password(PASSWORD), role=Role.ADMIN)
        db.session.add(manager)
        db.session.flush()
        conn.execute(sa.insert(Town), [{"id": t, "name_zh": f"第{t}镇", "name_en": f"Town {t}"} for t in range(1, 11)])
        conn.execute(
            sa.insert(Village), [{"id": v, "town_id": (v - 1) // 5 + 1, "name_zh": f"第{v}村"} for v in range(1, 51)]
        )
        officers = max(1, households // 20)
        first = manager.id + 1
        conn.execute(
            sa.insert(User),
            [
                {"id": first + n, "username": f"bench-work-officer{n}", "password_hash": "!", "role": Role.OFFICER}
                for n in range(officers)
            ],
        )
        conn.execute(
            sa.insert(Household),
            [
                {
                    "id": h,
                    "code": f"W{h:05d}",
                    "head_name": "王亦明",
                    "members": 3,
                    "village_id": h % 50 + 1,
                    "category": "jiance" if h % 3 == 0 else "tuopin",
                    "monitor_subtype": "marginal" if h % 3 == 0 else None,
                    "monitoring_status": ("risk_eliminated" if h % 9 == 0 else "identified") if h % 3 == 0 else None,
                    "officer_id": first + h % officers,
                    "created_at": now - timedelta(weeks=13),
                }
                for h in range(1, households + 1)
            ],
        )
        rows, done, corrections = [], [], []
        for m in range(1, measures + 1):
            starts = start + timedelta(days=rng.randrange(84))
            rows.append(
                {
                    "id": m,
                    "household_id": rng.randrange(1, households + 1),
                    "kind": MeasureKind.INDUSTRY,
                    "title": "通过专柜销售虾干",
                }
                | {"starts_on": starts, "due_on": starts + timedelta(days=rng.randrange(7, 60))}
                | {"recorded_by_id": manager.id, "recorded_at": now}
            )
            if rng.random() < 0.5 and starts < today:
                on = starts + timedelta(days=rng.randrange((today - starts).days))
                done.append(
                    {"measure_id": m, "done_on": on, "evidence": "已完成", "late": rng.random() < 0.1}
                    | {"recorded_by_id": manager.id, "recorded_at": now}
                )
            elif rng.random() < 0.05:
                corrections.append(m)
        fixes = [
            rows[m - 1] | {"id": measures + n + 1, "corrects_id": m, "correction_reason": "更正"}
            for n, m in enumerate(corrections)
        ]
        conn.execute(sa.insert(Measure), rows + fixes)
        conn.execute(sa.insert(MeasureDone), done)
        visits = [
            {"household_id": h, "visited_on": today - timedelta(days=rng.randrange(60)), "kind": VisitKind.HOME}
            | {"findings": "正常", "risk_found": False, "late": rng.random() < 0.1}
            | {"recorded_by_id": manager.id, "recorded_at": now}
            for h in range(3, households + 1, 3)
            if rng.random() < 0.8
        ]
        conn.execute(sa.insert(Visit), visits)
        db.session.commit()
    return {"households": households, "measures": measures + len(fixes), "done": len(done), "visits": len(visits)}


def measure(app) -> list[dict]:
    """Milliseconds for the county dashboard against the bare grouped COUNT, and that their totals agree."""
    from shop.clock import business_today
    from shop.extensions import db

    households = int(os.environ.get("BENCH_WORK_HOUSEHOLDS", "10000"))
    measures = int(os.environ.get("BENCH_WORK_MEASURES", "30000"))
    runs = int(os.environ.get("BENCH_PAGE_RUNS", "5"))
    made = generate(app, households, measures, business_today())
    client = signed_in(app, MANAGER)

    def page() -> str:
        response = client.get("/admin/work/county", headers={"Accept-Language": "zh-CN"})
        if response.status_code != 200:
            raise RuntimeError(f"GET /admin/work/county answered {response.status_code}")
        return response.get_data(as_text=True)

    with app.app_context():

        def bare() -> list:
            return db.session.execute(sa.text(PER_TOWN)).all()

        counted = bare()
        shown = page()
        opened = sum(int(r[1]) for r in counted)
        if '<tr data-row="total">' not in shown or f">{opened}</td>" not in shown:
            raise AssertionError(f"the county page does not show the {opened} open measures the bare query counts")
        bare_ms = median_ms(runs, bare)
    page_ms = median_ms(runs, page)
    return [
        {
            "figure": f"County work dashboard, {made['households']} households, {made['measures']} measures, ms",
            "project": page_ms,
            "baseline": bare_ms,
            "better": "lower",
        }
    ]
