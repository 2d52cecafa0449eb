"""The officers' and the manager's dashboard pages over the generated year, against hand-written SQL and bare Jinja.

Three pages, each a GET through the Flask test client (the app's whole
request path but the HTTP server: session, sign-in check, the queries, the
templates), signed in through POST /api/session as the POS signs in. The test
client, not gunicorn, because the clock is set inside the worker's process:

- the manager's household list (/admin/households/): the first 200 households
  by code, each with its balance over the whole ledger and its income this month;
- the manager's review overview (/admin/review/): last month's state across
  all 10,000 households, and the first 100 still to settle;
- an officer's review list (/admin/review/): their 20 households, last month and this.

The baseline reads the same figures with hand-written SQL (one query per page
and month, and one for the manager's two counts) and renders them with bare
Jinja templates (no app). Both run in fresh
workers (bench.worker), so each also reports its peak memory. In the workers
the clock stands at noon on 31 December of the generated year, so "this
month" and "last month" are in the ledger. The figures both pages show
(codes, balances, incomes, states, counts) are checked equal before timing.
"""

import re
import statistics
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path

import sqlalchemy as sa

from .worker import project_app, resident_mib

PASSWORD = "bench dashboard 2026"
MANAGER, OFFICER = "bench-admin", "bench-officer0"
#: page name → (who, path, what the table calls it)
PAGES = {
    "households": (MANAGER, "/admin/households/", "Manager's household list"),
    "overview": (MANAGER, "/admin/review/", "Manager's review overview"),
    "todo": (OFFICER, "/admin/review/", "Officer's review list"),
}
#: What the pages show at most (shop.oversight.officer_view.ROWS_SHOWN and REVIEW_LIST_SHOWN).
ROWS_SHOWN, WAITING_SHOWN = 200, 100
TEMPLATES = Path(__file__).with_name("templates")

HOUSEHOLD_ROW = re.compile(r'data-household="([^"]+)".*?data-balance="(-?\d+)".*?data-month-income="(-?\d+)"', re.S)
REVIEW_COUNT = re.compile(r'data-count="(\w+)"><dt>.*?</dt><dd>(\d+)</dd>', re.S)
WAITING_ROW = re.compile(r'<li><a href="[^"]*" data-household="([^"]+)">.*?data-state="(\w+)"', re.S)
TODO_HOUSEHOLD = re.compile(r'data-household="([^"]+)">(.*?)</li>', re.S)
TODO_MONTH = re.compile(r'data-month="([\d-]+)">.*?data-state="(\w+)"', re.S)
REVIEW_LINKS = re.compile(r'<span class="review-count">(\d+)</span>')


def the_day(year: int) -> date:
    """The dashboard's today: the year's last day, so December is this month and November the last."""
    return date(year, 12, 31)


@contextmanager
def clock_at(day: date):
    """Set shop.clock to noon of `day` in Hainan: every business date and instant the app reads comes from it."""
    import shop.clock as clock

    real = clock.datetime
    instant = datetime.combine(day, clock_time(12), tzinfo=clock.BUSINESS_TZ)

    class Frozen(real):
        @classmethod
        def now(cls, tz=None):
            return instant.astimezone(tz) if tz else instant.astimezone().replace(tzinfo=None)

    clock.datetime = Frozen
    try:
        yield
    finally:
        clock.datetime = real


def give_passwords(app) -> None:
    """The generated manager and first officer get a password (generated accounts have none), to sign in with."""
    from shop.extensions import db
    from shop.models import User
    from shop.staff.accounts import hash_password

    with app.app_context():
        db.session.execute(
            sa.update(User).where(User.username.in_([MANAGER, OFFICER])).values(password_hash=hash_password(PASSWORD))
        )
        db.session.commit()


def median_ms(runs: int, fn) -> float:
    """The median of `runs` calls, in milliseconds."""
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        took.append(time.perf_counter() - started)
    return statistics.median(took) * 1000


def read_page(name: str, html: str) -> dict:
    """The figures a page shows, from its data attributes: the same parse for the app's page and the bare one."""
    if name == "households":
        return {"rows": HOUSEHOLD_ROW.findall(html), "links": REVIEW_LINKS.findall(html)}
    if name == "overview":
        return {"counts": REVIEW_COUNT.findall(html), "waiting": WAITING_ROW.findall(html)}
    return {"rows": [(code, TODO_MONTH.findall(block)) for code, block in TODO_HOUSEHOLD.findall(html)]}


# ---------------------------------------------------------------- the project, in its worker


def signed_in(app, username: str):
    """A test client signed in as the POS signs in: the session's CSRF token, then POST /api/session."""
    client = app.test_client()
    token = client.get("/api/session").get_json()["csrf_token"]
    answer = client.post(
        "/api/session", json={"username": username, "password": PASSWORD}, headers={"X-CSRFToken": token}
    )
    if answer.status_code != 200:
        raise RuntimeError(f"{username} could not sign in: {answer.status_code} {answer.get_data(as_text=True)[:200]}")
    return client


def project_job(url: str, year: int, runs: int) -> dict:
    """In a fresh worker: each page once to read its figures, then its median time over `runs`."""
    app = project_app(url)
    answer = {"pages": {}}
    with clock_at(the_day(year)):
        clients = {user: signed_in(app, user) for user in (MANAGER, OFFICER)}
        answer["ready_mib"] = resident_mib()
        for name, (user, path, _title) in PAGES.items():
            client = clients[user]

            def get(client=client, path=path):
                response = client.get(path, headers={"Accept-Language": "zh-CN"})
                if response.status_code != 200:
                    raise RuntimeError(f"GET {path} answered {response.status_code}")
                return response.get_data(as_text=True)

            answer["pages"][name] = {"figures": read_page(name, get()), "ms": median_ms(runs, get)}
    return answer


# ---------------------------------------------------------------- the baseline, in its worker

#: The first households by code, their place, balance over the whole ledger and net income since :month.
HOUSEHOLD_LIST = """
SELECT h.id, h.code, h.head_name, h.members, h.category, h.monitoring_status, v.name_zh, t.name_zh,
       COALESCE(SUM(CASE WHEN l.kind IN ('reversal', 'payout') THEN -l.amount_fen ELSE l.amount_fen END), 0),
       COALESCE(SUM(CASE WHEN l.entry_date >= :month AND l.kind <> 'payout'
                         THEN CASE WHEN l.kind = 'reversal' THEN -l.amount_fen ELSE l.amount_fen END END), 0)
FROM (SELECT id, code, head_name, members, category, monitoring_status, village_id
      FROM household ORDER BY code LIMIT :rows) h
JOIN village v ON v.id = h.village_id
JOIN town t ON t.id = v.town_id
LEFT JOIN household_ledger l ON l.household_id = h.id
GROUP BY h.id, h.code, h.head_name, h.members, h.category, h.monitoring_status, v.name_zh, t.name_zh
ORDER BY h.code
"""
#: Corrections waiting for approval, and disputes whose latest review is still unanswered.
WAITING_FOR_MANAGER = """
SELECT (SELECT COUNT(*) FROM adjustment WHERE status = 'pending'),
       (SELECT COUNT(*) FROM month_review r
        WHERE r.outcome = 'disputed' AND r.resolved_at IS NULL
          AND r.id = (SELECT MAX(id) FROM month_review o WHERE o.household_id = r.household_id AND o.month = r.month))
"""
#: Each household's month: its latest review and its entries (how many, the last seq), by code.
#: {mine} narrows every part to an officer's households, or is empty for the manager's all.
MONTH_STATES = """
SELECT h.id, h.code, h.head_name, v.name_zh, u.display_name, u.username,
       r.outcome, r.resolved_at, r.through_seq, COALESCE(a.entries, 0), COALESCE(a.last_seq, 0)
FROM household h
JOIN village v ON v.id = h.village_id
LEFT JOIN app_user u ON u.id = h.officer_id
LEFT JOIN (SELECT household_id, MAX(id) AS id FROM month_review
           WHERE month = :month {mine} GROUP BY household_id) latest
       ON latest.household_id = h.id
LEFT JOIN month_review r ON r.id = latest.id
LEFT JOIN (SELECT household_id, COUNT(*) AS entries, MAX(seq) AS last_seq FROM household_ledger
           WHERE entry_date >= :month AND entry_date <= :month_end {mine} GROUP BY household_id) a
       ON a.household_id = h.id
WHERE TRUE {mine_h}
ORDER BY h.code
"""
#: An officer's households, as MONTH_STATES narrows to them.
OFFICERS_OWN = (
    "household_id IN (SELECT id FROM household WHERE officer_id = (SELECT id FROM app_user WHERE username = :officer))"
)


def state_of(outcome, resolved_at, through_seq, entries: int, last_seq: int) -> str:
    """Where a month stands, as shop.oversight.officer_view.MonthStatus.state says it."""
    if outcome is None:
        return "none" if entries else "quiet"
    if outcome == "confirmed":
        return "amended" if last_seq > through_seq else "confirmed"
    return "answered" if resolved_at is not None else "disputed"


def month_rows(conn, month: date, officer: str | None) -> list[dict]:
    """MONTH_STATES for every household, or an officer's."""
    mine = f"AND {OFFICERS_OWN}" if officer else ""
    sql = sa.text(MONTH_STATES.format(mine=mine, mine_h=mine.replace("household_id", "h.id"))).bindparams(
        sa.bindparam("month", type_=sa.Date), sa.bindparam("month_end", type_=sa.Date)
    )
    end = (month.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
    params = {"month": month, "month_end": end} | ({"officer": officer} if officer else {})
    rows = []
    for hid, code, head, village, display, username, outcome, resolved, through, entries, last in conn.execute(
        sql, params
    ):
        state = state_of(outcome, resolved, through, int(entries), int(last))
        rows.append(
            {"id": hid, "code": code, "name": masked(head), "village": village, "officer": display or username}
            | {"state": state, "entries": int(entries), "month": f"{month:%Y-%m}"}
        )
    return rows


def fen(amount: int) -> str:
    """¥1,280.00, -¥3.00."""
    return f"{'-' if amount < 0 else ''}¥{abs(amount) // 100:,}.{abs(amount) % 100:02d}"


def masked(name: str) -> str:
    """王亦明 → 王**."""
    return name[:1] + "*" * (len(name) - 1) if len(name) > 1 else "*" * len(name)


def bare_households(conn, month: date) -> dict:
    sql = sa.text(HOUSEHOLD_LIST).bindparams(sa.bindparam("month", type_=sa.Date))
    rows = [
        {"id": r[0], "code": r[1], "name": masked(r[2]), "members": r[3], "category": r[4], "status": r[5]}
        | {"village": r[6], "town": r[7], "balance": int(r[8]), "earned": int(r[9])}
        for r in conn.execute(sql, {"month": month, "rows": ROWS_SHOWN + 1})
    ]
    pending, disputes = conn.execute(sa.text(WAITING_FOR_MANAGER)).one()
    return {"households": rows[:ROWS_SHOWN], "more": len(rows) > ROWS_SHOWN, "pending": pending, "disputes": disputes}


def bare_overview(conn, month: date) -> dict:
    rows = month_rows(conn, month, None)
    counts = {s: 0 for s in ("confirmed", "amended", "disputed", "answered", "none", "quiet")}
    for row in rows:
        counts[row["state"]] += 1
    waiting = [r for r in rows if r["state"] in ("none", "amended", "disputed", "answered")]
    disputes = conn.execute(sa.text(WAITING_FOR_MANAGER)).one()[1]
    return {"counts": counts, "total": len(rows), "waiting": waiting[:WAITING_SHOWN], "disputes": disputes}


def bare_todo(conn, months: tuple[date, date]) -> dict:
    by_month = [month_rows(conn, month, OFFICER) for month in months]
    return {"rows": list(zip(*by_month, strict=True)), "months": [f"{m:%Y-%m}" for m in months]}


def baseline_job(url: str, year: int, runs: int) -> dict:
    """In a fresh worker: each page's figures from hand-written SQL, rendered by bare Jinja; median of `runs`."""
    import jinja2

    engine = sa.create_engine(url)
    templates = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True)
    templates.filters["fen"] = fen
    this_month = the_day(year).replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    pages = {
        "households": lambda conn: templates.get_template("bare_households.html").render(
            bare_households(conn, this_month)
        ),
        "overview": lambda conn: templates.get_template("bare_overview.html").render(bare_overview(conn, last_month)),
        "todo": lambda conn: templates.get_template("bare_todo.html").render(bare_todo(conn, (last_month, this_month))),
    }
    answer = {"pages": {}, "ready_mib": resident_mib()}
    for name, page in pages.items():

        def get(page=page):
            with engine.connect() as conn:
                return page(conn)

        answer["pages"][name] = {"figures": read_page(name, get()), "ms": median_ms(runs, get)}
    return answer


# ---------------------------------------------------------------- the figures


def check_same(project: dict, baseline: dict) -> None:
    """Refuse to time different answers: every page's figures must match the hand-written SQL's."""
    for name in PAGES:
        mine, bare = project["pages"][name]["figures"], baseline["pages"][name]["figures"]
        shown = sum(len(v) for v in mine.values())
        if mine != bare or not shown:
            raise AssertionError(f"the {name} page shows {str(mine)[:300]}, the hand-written SQL {str(bare)[:300]}")


def measure(app, url: str, year: int, runs: int) -> list[dict]:
    """Milliseconds per page (median of `runs`) and the worker's peak memory, the app against SQL and bare Jinja."""
    from .worker import in_worker

    give_passwords(app)
    mine = in_worker("dashboard:project_job", url=url, year=year, runs=runs)
    bare = in_worker("dashboard:baseline_job", url=url, year=year, runs=runs)
    check_same(mine, bare)
    rows = [
        {
            "figure": f"{title} page, ms (median of {runs})",
            "project": mine["pages"][name]["ms"],
            "baseline": bare["pages"][name]["ms"],
            "better": "lower",
            "goal": "review_overview_ms" if name == "overview" else None,
        }
        for name, (_user, _path, title) in PAGES.items()
    ]
    rows.append(
        {
            "figure": "Dashboard pages, worker peak RSS (MiB)",
            "project": mine["peak_mib"],
            "baseline": bare["peak_mib"],
            "better": "lower",
            "goal": "worker_memory",
            "ready_mib": {"project": mine["ready_mib"], "baseline": bare["ready_mib"]},
        }
    )
    return rows
