"""A year of a county's ledger, generated fast: households, lots, sales, refunds, payouts and their chain.

Rows go in by bulk (COPY on PostgreSQL, executemany on SQLite), never through
the use cases, so a million entries take minutes rather than hours. The data
is still a valid ledger: every credit names its draw, every reversal its draw
reversal, every payout and adjustment its row, amounts match their causes and
the hash chain is computed with shop.ledger.chain.entry_hash, in date order.

Shape: each household supplies in about 30 % of months (a consignment lot at
the start of each such month, now and then a lot bought outright), so a month
has some 3,000 households with activity out of 10,000. Sales draw from those
lots every day; about one line in 200 is refunded within a week; households
are paid out at the end of most active months; a few approved adjustments.
On the 3rd of each month the officers review most of the month before (its
digest computed as shop.oversight.statements.digest_of computes it); December is left
for the dashboard's "today", the 31st, to find still open. Once written, January to November
are closed through the project (shop.ledger.closed_months), as a county's cron closes each
month once it is over; December stays open.
Left out, as no figure reads them: stock movements (a lot's stock on hand is
set from its draws at the end) and online orders.
"""

import hashlib
import queue
import random
import threading
from calendar import monthrange
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa

from shop.ledger.chain import GENESIS, entry_hash
from shop.money import price_for, share_of, split_fen
from shop.ops.demo import PRODUCTS, TOWNS, VILLAGES
from shop.oversight.statements import DIGEST_LENGTH
from shop.units import Unit

#: Share of a household's months in which it supplies goods.
ACTIVE_MONTHS = 0.3
#: Share of sale lines refunded (whole line, written off) within a week.
REFUNDED_LINES = 0.005
#: Share of active household-months that also deliver a lot the counter buys outright.
PURCHASE_LOTS = 0.03
#: Share of active household-months that end with a payout of the whole balance.
PAID_OUT = 0.7
#: Entries that are approved adjustments.
ADJUSTMENTS = 0.0005
#: Entries that are not sale credits, roughly: payouts, reversals, purchases, adjustments.
OTHER_ENTRIES = 0.025
#: Of the household-months with entries, the share the officer confirms, and the share disputed.
CONFIRMED_MONTHS = 0.85
DISPUTED_MONTHS = 0.02
#: The day of the next month on which officers review a month.
REVIEW_DAY = 3
SURNAMES = "王陈李符吴林黄刘张邢蔡周羊谢"
GIVEN = "亦明海成光德文华志国秀兰玉芳春金福永安家清发生强平"
VILLAGE_WORDS = "东南西北新美和安福昌头坡加来多龙塘湾"

#: Columns written per table, in the order of the row tuples; tables listed in foreign-key order.
COLUMNS = {
    "town": ("id", "name_zh", "name_en"),
    "village": ("id", "town_id", "name_zh", "name_en"),
    "counter": ("id", "code", "name", "address", "active", "created_at"),
    "app_user": ("id", "username", "password_hash", "role", "display_name", "active", "created_at"),
    "household": (
        "id",
        "code",
        "head_name",
        "members",
        "village_id",
        "category",
        "monitor_subtype",
        "monitoring_status",
        "officer_id",
        "created_at",
    ),
    "product": (
        "id",
        "sku",
        "name_zh",
        "name_en",
        "category",
        "unit",
        "price_fen",
        "price_per",
        "description_zh",
        "description_en",
        "active",
        "created_at",
    ),
    "lot": (
        "id",
        "product_id",
        "household_id",
        "counter_id",
        "qty_received",
        "qty_on_hand",
        "best_before",
        "received_at",
        "received_by_id",
        "mode",
        "share_bp",
        "purchase_price_fen",
        "trace_token",
    ),
    "sale": (
        "id",
        "idempotency_key",
        "request_digest",
        "counter_id",
        "channel",
        "clerk_id",
        "payment_method",
        "total_fen",
        "sold_on",
        "sold_at",
        "created_at",
    ),
    "sale_line": (
        "id",
        "sale_id",
        "product_id",
        "product_name",
        "unit",
        "price_fen",
        "price_per",
        "quantity",
        "amount_fen",
    ),
    "draw": (
        "id",
        "sale_line_id",
        "lot_id",
        "household_id",
        "mode",
        "share_bp",
        "quantity",
        "amount_fen",
        "credit_fen",
    ),
    "refund": ("id", "sale_id", "restock", "amount_fen", "note", "refunded_by_id", "created_at"),
    "refund_line": ("id", "refund_id", "sale_line_id", "quantity", "amount_fen"),
    "draw_reversal": ("id", "refund_line_id", "draw_id", "household_id", "quantity", "amount_fen", "credit_fen"),
    "payout": (
        "id",
        "household_id",
        "amount_fen",
        "method",
        "reference",
        "note",
        "paid_on",
        "balance_before_fen",
        "paid_by_id",
        "created_at",
    ),
    "adjustment": (
        "id",
        "household_id",
        "amount_fen",
        "entry_date",
        "reason",
        "status",
        "requested_by_id",
        "requested_at",
        "decided_by_id",
        "decided_at",
        "decision_note",
    ),
    "month_review": (
        "id",
        "household_id",
        "month",
        "outcome",
        "note",
        "through_seq",
        "digest",
        "income_fen",
        "closing_balance_fen",
        "reviewed_by_id",
        "reviewed_at",
        "resolved_by_id",
        "resolved_at",
        "resolution",
    ),
    "household_ledger": (
        "id",
        "seq",
        "household_id",
        "kind",
        "amount_fen",
        "entry_date",
        "draw_id",
        "lot_id",
        "draw_reversal_id",
        "payout_id",
        "adjustment_id",
        "category",
        "monitoring_status",
        "created_by_id",
        "created_at",
        "prev_hash",
        "hash",
    ),
}


@dataclass(frozen=True)
class Ledger:
    """What was generated: the ids a benchmark needs and how much of everything there is."""

    year: int
    admin_id: int
    households: int
    entries: int
    rows: dict
    #: Households with at least one entry, per month number.
    active: dict[int, int]
    #: Each household's twelve net incomes, summed as the entries were made: the answer both reports must give.
    income: dict[int, list[int]]


@dataclass
class LotStock:
    """A consignment lot on the shelf this month, and how much of it is left to draw."""

    id: int
    household: int
    product: int
    share_bp: int
    left: int


class Writer:
    """Buffers rows per table; a second thread writes each batch in foreign-key order, one transaction per batch.

    The database's own work (B-trees, checks, COPY parsing) runs outside the GIL,
    so on two cores it overlaps with generating the next batch.
    """

    def __init__(self, engine: sa.Engine):
        self.engine = engine
        self.rows = defaultdict(list)
        self.written = defaultdict(int)
        self.batches = queue.Queue(maxsize=1)
        self.failure: BaseException | None = None
        self.thread = threading.Thread(target=self._write_batches, name="bench-ledger-writer", daemon=True)
        self.thread.start()

    def add(self, table: str, row: tuple) -> None:
        self.rows[table].append(row)

    def flush(self) -> None:
        """Hand the rows so far to the writer (waiting while it is still busy with the previous batch)."""
        if self.failure:
            raise self.failure
        self.batches.put(self.rows)
        self.rows = defaultdict(list)

    def close(self) -> None:
        """Write what is left and wait for the writer to finish."""
        self.flush()
        self.batches.put(None)
        self.thread.join()
        if self.failure:
            raise self.failure

    def _write_batches(self) -> None:
        while (batch := self.batches.get()) is not None:
            if self.failure:
                continue  # drain, so the generator never blocks on a dead writer
            try:
                self._write(batch)
            except BaseException as error:  # re-raised in the generating thread
                self.failure = error

    def _write(self, batch: dict) -> None:
        with self.engine.begin() as conn:
            raw = conn.connection.driver_connection
            for table, columns in COLUMNS.items():
                if rows := batch.get(table):
                    _bulk(raw, conn.dialect.name, table, columns, rows)
                    self.written[table] += len(rows)


def _bulk(raw, dialect: str, table: str, columns: tuple, rows: list[tuple]) -> None:
    """COPY on PostgreSQL; executemany on SQLite."""
    names = ", ".join(columns)
    if dialect == "postgresql":
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    raw.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})", rows)


def bulk_engine(url: str) -> sa.Engine:
    """An engine for loading only: on SQLite, no fsync and a big page cache (the file is thrown away anyway)."""
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    if engine.dialect.name == "sqlite":

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection, _record):
            # Foreign keys unchecked: the generator makes every reference itself, and
            # `flask --app shop ledger verify` plus PRAGMA foreign_key_check passed on its output.
            for pragma in ("synchronous = OFF", "cache_size = -262144", "foreign_keys = OFF"):
                dbapi_connection.execute(f"PRAGMA {pragma}")

    return engine


def at(day: date, hour: int = 2, minute: int = 0) -> datetime:
    """A naive UTC instant on a business day (10:00 in Hainan is 02:00 UTC)."""
    return datetime.combine(day, time(hour, minute))


class SqliteDates:
    """Dates and instants written as SQLAlchemy writes them to SQLite (text), memoised per day."""

    def __init__(self):
        self.days, self.instants = {}, {}

    def day(self, value: date) -> str:
        if (text := self.days.get(value)) is None:
            text = self.days[value] = value.isoformat()
        return text

    def at(self, value: date, hour: int = 2, minute: int = 0) -> str:
        key = (value, hour, minute)
        if (text := self.instants.get(key)) is None:
            text = self.instants[key] = f"{at(value, hour, minute):%Y-%m-%d %H:%M:%S}.000000"
        return text


class NativeDates:
    """Dates and instants as Python values, for PostgreSQL's COPY."""

    @staticmethod
    def day(value: date) -> date:
        return value

    at = staticmethod(at)


class Generator:
    """One pass over the year, day by day, writing rows as it goes."""

    def __init__(self, engine: sa.Engine, year: int, households: int, entries: int, seed: int = 2022):
        self.writer = Writer(engine)
        self.year, self.households, self.target = year, households, entries
        self.rng = random.Random(seed)
        self.ids = defaultdict(int)
        self.seq, self.prev_hash = 0, GENESIS
        self.balance = defaultdict(int)
        self.refunds_due = defaultdict(list)
        self.household_status = {}
        self.household_officer = {}
        self.active_households = defaultdict(set)
        #: Per (household, month): a running sha256 of the month's entry hashes, and how many went in.
        self.month_digests = {}
        #: Per month: each active household's balance when the month closed.
        self.closing = {}
        self.income = {}
        self.dates = SqliteDates() if engine.dialect.name == "sqlite" else NativeDates()

    def next_id(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def run(self) -> Ledger:
        self.places_and_people()
        self.products = self.catalogue()
        self.plan_months()
        start = date(self.year, 1, 1)
        days = 366 if monthrange(self.year, 2)[1] == 29 else 365
        self.draws_per_day = max(1, round(self.target * (1 - OTHER_ENTRIES) / days))
        for n in range(days):
            self.day(start + timedelta(days=n))
            if len(self.writer.rows["household_ledger"]) >= 50_000:
                self.writer.flush()
        self.writer.close()
        return Ledger(
            year=self.year,
            admin_id=self.admin,
            households=self.households,
            entries=self.seq,
            rows=dict(self.writer.written),
            active={m: len(hs) for m, hs in sorted(self.active_households.items())},
            income=self.income,
        )

    # -- the county, its staff and its households

    def places_and_people(self) -> None:
        w = self.writer
        towns = {}
        for name, english in TOWNS:
            towns[name] = self.next_id("town")
            w.add("town", (towns[name], name, english))
        named = defaultdict(list)
        for town, village, english, _prefix, _officer in VILLAGES:
            named[town].append((village, english))
        villages = []
        for town, town_id in towns.items():
            names = list(named[town])
            while len(names) < 5:
                candidate = self.rng.choice(VILLAGE_WORDS) + self.rng.choice(VILLAGE_WORDS) + "村"
                if candidate not in (n for n, _ in names):
                    names.append((candidate, ""))
            for village, english in names:
                villages.append(self.next_id("village"))
                w.add("village", (villages[-1], town_id, village, english))
        created = self.dates.at(date(self.year - 1, 12, 1))
        w.add(
            "counter",
            (self.next_id("counter"), "LC-JN", "临城江南市场对面专柜", "临高县临城镇江南市场正对面", True, created),
        )
        self.counter = 1
        self.admin = self.user("bench-admin", "admin", "李秀兰", created)
        self.second_admin = self.user("bench-admin2", "admin", "符海燕", created)
        self.clerk = self.user("bench-clerk", "clerk", "陈美玲", created)
        officers = [
            self.user(f"bench-officer{n}", "officer", self.name(), created)
            for n in range(max(1, self.households // 20))
        ]
        for n in range(self.households):
            self.household(n, villages[n % len(villages)], officers[n % len(officers)], created)

    def user(self, username: str, role: str, display: str, created: datetime) -> int:
        user_id = self.next_id("app_user")
        # An unusable password hash: nobody signs in as a generated account.
        self.writer.add("app_user", (user_id, username, "!", role, display, True, created))
        return user_id

    def name(self) -> str:
        return self.rng.choice(SURNAMES) + "".join(self.rng.choices(GIVEN, k=self.rng.choice((1, 2))))

    def household(self, n: int, village: int, officer: int, created: datetime) -> None:
        household_id = self.next_id("household")
        category = self.rng.choices(("tuopin", "jiance", "yiban"), (5, 2, 3))[0]
        subtype = self.rng.choice(("unstable", "marginal", "sudden")) if category == "jiance" else None
        status = self.rng.choice(("identified", "identified", "risk_eliminated")) if category == "jiance" else None
        self.household_status[household_id] = (category, status)
        self.household_officer[household_id] = officer
        row = (
            household_id,
            f"H{n + 1:05d}",
            self.name(),
            self.rng.randint(1, 6),
            village,
            category,
            subtype,
            status,
            officer,
            created,
        )
        self.writer.add("household", row)

    def catalogue(self) -> list[tuple]:
        products = []
        for spec in PRODUCTS:
            product_id = self.next_id("product")
            row = (
                product_id,
                spec.sku,
                spec.name_zh,
                spec.name_en,
                spec.category.value,
                spec.unit.value,
                spec.price_fen,
                spec.price_per,
                "",
                "",
                True,
                self.dates.at(date(self.year - 1, 12, 1)),
            )
            self.writer.add("product", row)
            products.append((product_id, spec.name_zh, spec.unit, spec.price_fen, spec.price_per))
        return products

    # -- the lots of each household's active months

    def plan_months(self) -> None:
        """A consignment lot for every active household-month; now and then a lot bought outright."""
        self.lots = {}  # month -> list of LotStock
        self.purchases = defaultdict(list)  # day -> [(lot id, household, price)]
        speciality = {h: self.rng.randrange(len(self.products)) for h in range(1, self.households + 1)}
        for month in range(1, 13):
            first = date(self.year, month, 1)
            stocked = []
            for household in range(1, self.households + 1):
                if self.rng.random() >= ACTIVE_MONTHS:
                    continue
                product_id, _name, unit, price_fen, price_per = self.products[speciality[household]]
                # Enough for a busy month: about 28 draws of up to 2.5 kg, or of up to 5 pieces.
                qty = 150_000 if unit is Unit.GRAM else 400
                share = self.rng.choice((8000, 8500, 9000, 9500))
                lot_id = self.lot(product_id, household, qty, first, "consignment", share, None)
                stocked.append(LotStock(lot_id, household, product_id, share, qty))
                if self.rng.random() < PURCHASE_LOTS:
                    day = first + timedelta(days=self.rng.randrange(monthrange(self.year, month)[1]))
                    price = price_for(qty // 10, price_fen, price_per) * 7 // 10
                    purchase = self.lot(product_id, household, qty // 10, day, "purchase", None, price)
                    self.purchases[day].append((purchase, household, price))
            self.lots[month] = stocked

    def lot(self, product: int, household: int, qty: int, day: date, mode: str, share_bp, price) -> int:
        lot_id = self.next_id("lot")
        row = (
            lot_id,
            product,
            household,
            self.counter,
            qty,
            qty,
            self.dates.day(day + timedelta(days=180)),
            self.dates.at(day, 1),
            self.clerk,
            mode,
            share_bp,
            price,
            f"bench{lot_id:011d}",
        )
        self.writer.add("lot", row)
        return lot_id

    # -- one business day

    def day(self, day: date) -> None:
        for lot_id, household, price in self.purchases.pop(day, ()):
            self.entry(day, household, "credit", price, lot_id=lot_id)
        self.sales(day)
        for line in self.refunds_due.pop(day, ()):
            self.refund(day, line)
        expected = self.target * ADJUSTMENTS / 365
        for _ in range(int(expected) + (self.rng.random() < expected % 1)):
            self.adjustment(day)
        if day.day == monthrange(day.year, day.month)[1]:
            self.payouts(day)
            self.closing[day.month] = {h: self.balance[h] for h in self.active_households[day.month]}
        if day.day == REVIEW_DAY and day.month > 1:
            self.reviews(day, day.month - 1)

    def sales(self, day: date) -> None:
        """The day's draws, grouped into lines of one or two lots of a product, and lines into sales."""
        stocked = [lot for lot in self.lots[day.month] if lot.left > 0]
        if not stocked:
            return
        by_product = defaultdict(list)
        for _ in range(self.rng.randint(self.draws_per_day * 9 // 10, self.draws_per_day * 11 // 10)):
            lot = self.rng.choice(stocked)
            unit = self.products[lot.product - 1][2]
            qty = min(lot.left, 50 * self.rng.randint(2, 50) if unit is Unit.GRAM else self.rng.randint(1, 5))
            if qty <= 0:
                continue
            lot.left -= qty
            by_product[lot.product].append((lot, qty))
        lines = []
        for product, draws in by_product.items():
            while draws:
                take = 2 if len(draws) > 1 and self.rng.random() < 0.5 and draws[0][0] is not draws[1][0] else 1
                lines.append((product, draws[:take]))
                draws = draws[take:]
        self.rng.shuffle(lines)
        while lines:
            take = self.rng.randint(1, 3)
            self.sale(day, lines[:take])
            lines = lines[take:]

    def sale(self, day: date, lines: list) -> None:
        sale_id = self.next_id("sale")
        created = self.dates.at(day, self.rng.randint(0, 9), self.rng.randint(0, 59))
        priced = []
        for product_id, draws in lines:
            _pid, name, unit, price_fen, price_per = self.products[product_id - 1]
            quantity = sum(qty for _lot, qty in draws)
            amount = price_for(quantity, price_fen, price_per)
            parts = split_fen(amount, [qty for _lot, qty in draws])
            line_id = self.next_id("sale_line")
            priced.append((line_id, product_id, name, unit.value, price_fen, price_per, quantity, amount, draws, parts))
        total = sum(p[7] for p in priced)
        method = self.rng.choice(("cash", "wechat_qr", "alipay_qr"))
        self.writer.add(
            "sale",
            (
                sale_id,
                f"bench-{sale_id}",
                "0" * 64,
                self.counter,
                "counter",
                self.clerk,
                method,
                total,
                self.dates.day(day),
                created,  # sold_at: rung up when recorded
                created,
            ),
        )
        for line_id, product_id, name, unit, price_fen, price_per, quantity, amount, draws, parts in priced:
            self.writer.add(
                "sale_line", (line_id, sale_id, product_id, name, unit, price_fen, price_per, quantity, amount)
            )
            made = []
            for (lot, qty), part in zip(draws, parts, strict=True):
                draw_id = self.next_id("draw")
                credit = share_of(part, lot.share_bp)
                self.writer.add(
                    "draw", (draw_id, line_id, lot.id, lot.household, "consignment", lot.share_bp, qty, part, credit)
                )
                if credit > 0:
                    self.entry(day, lot.household, "credit", credit, draw_id=draw_id)
                made.append((draw_id, lot.household, qty, part, credit))
            if self.rng.random() < REFUNDED_LINES:
                due = min(day + timedelta(days=self.rng.randint(0, 7)), date(self.year, 12, 31))
                self.refunds_due[due].append((sale_id, line_id, quantity, amount, made))

    def refund(self, day: date, line: tuple) -> None:
        """A whole line given back and written off: each draw's credit is reversed."""
        sale_id, line_id, quantity, amount, draws = line
        refund_id, refund_line_id = self.next_id("refund"), self.next_id("refund_line")
        self.writer.add("refund", (refund_id, sale_id, False, amount, "", self.clerk, self.dates.at(day, 5)))
        self.writer.add("refund_line", (refund_line_id, refund_id, line_id, quantity, amount))
        for draw_id, household, qty, part, credit in draws:
            reversal_id = self.next_id("draw_reversal")
            self.writer.add("draw_reversal", (reversal_id, refund_line_id, draw_id, household, qty, part, credit))
            if credit > 0:
                self.entry(day, household, "reversal", credit, draw_reversal_id=reversal_id)

    def adjustment(self, day: date) -> None:
        household = self.rng.randint(1, self.households)
        amount = self.rng.randint(100, 5000)
        if self.balance[household] >= amount and self.rng.random() < 0.3:
            amount = -amount
        adjustment_id = self.next_id("adjustment")
        row = (
            adjustment_id,
            household,
            amount,
            self.dates.day(day),
            "补记漏记的收益（基准测试数据）",
            "approved",
            self.admin,
            self.dates.at(day, 3),
            self.second_admin,
            self.dates.at(day, 4),
            "",
        )
        self.writer.add("adjustment", row)
        self.entry(day, household, "adjustment", amount, adjustment_id=adjustment_id)

    def payouts(self, day: date) -> None:
        """At the month's end, most households that supplied this month are paid their whole balance."""
        for lot in self.lots[day.month]:
            balance = self.balance[lot.household]
            if balance <= 0 or self.rng.random() >= PAID_OUT:
                continue
            payout_id = self.next_id("payout")
            method, reference = ("bank_transfer", f"BK{payout_id:010d}") if self.rng.random() < 0.4 else ("cash", "")
            self.writer.add(
                "payout",
                (
                    payout_id,
                    lot.household,
                    balance,
                    method,
                    reference,
                    "",
                    self.dates.day(day),
                    balance,
                    self.admin,
                    self.dates.at(day, 8),
                ),
            )
            self.entry(day, lot.household, "payout", balance, payout_id=payout_id)

    def reviews(self, day: date, month: int) -> None:
        """Officers review most of last month's household-months: confirmed, or disputed (half answered)."""
        first = date(self.year, month, 1)
        for household in sorted(self.active_households[month]):
            digest = self.month_digest(household, month)
            chance = self.rng.random()
            if chance >= CONFIRMED_MONTHS + DISPUTED_MONTHS:
                continue
            confirmed = chance < CONFIRMED_MONTHS
            answered = not confirmed and self.rng.random() < 0.5
            row = (
                self.next_id("month_review"),
                household,
                self.dates.day(first),
                "confirmed" if confirmed else "disputed",
                "" if confirmed else "有一笔销售数量与农户记录不符（基准测试数据）",
                self.seq,
                digest,
                self.income.get(household, [0] * 12)[month - 1],
                self.closing[month][household],
                self.household_officer[household],
                self.dates.at(day, 3),
                self.admin if answered else None,
                self.dates.at(day, 6) if answered else None,
                "已与农户核对，数量无误（基准测试数据）" if answered else "",
            )
            self.writer.add("month_review", row)

    def month_digest(self, household: int, month: int) -> str:
        """The month's digest as shop.oversight.statements.digest_of makes it, from the hashes already fed in."""
        hasher, _count = self.month_digests.pop((household, month))
        return hasher.hexdigest()[:DIGEST_LENGTH]

    def entry(self, day: date, household: int, kind: str, amount: int, **cause) -> None:
        """Append one entry to the chain, hashed as shop.ledger.entries.append hashes it."""
        self.seq += 1
        category, status = self.household_status[household]
        fields = {
            "seq": self.seq,
            "household_id": household,
            "kind": kind,
            "amount_fen": amount,
            "entry_date": day,
            "draw_id": cause.get("draw_id"),
            "lot_id": cause.get("lot_id"),
            "draw_reversal_id": cause.get("draw_reversal_id"),
            "payout_id": cause.get("payout_id"),
            "adjustment_id": cause.get("adjustment_id"),
            "category": category,
            "monitoring_status": status,
            "created_by_id": self.admin if kind in ("payout", "adjustment") else self.clerk,
        }
        digest = entry_hash(self.prev_hash, fields)
        row = [self.seq, *fields.values(), self.dates.at(day, 9), self.prev_hash, digest]
        row[5] = self.dates.day(day)  # entry_date, as the database takes it
        self.writer.add("household_ledger", row)
        self.prev_hash = digest
        self.feed_month_digest(household, day, digest)
        signed = -amount if kind in ("reversal", "payout") else amount
        self.balance[household] += signed
        if kind != "payout":
            self.income.setdefault(household, [0] * 12)[day.month - 1] += signed
        self.active_households[day.month].add(household)

    def feed_month_digest(self, household: int, day: date, digest: str) -> None:
        """Add an entry's hash to its household-month's digest: the text is "id|YYYY-MM|" and the hashes by seq."""
        key = (household, day.month)
        if (running := self.month_digests.get(key)) is None:
            running = self.month_digests[key] = [hashlib.sha256(f"{household}|{day:%Y-%m}|".encode()), 0]
        running[0].update(("," + digest if running[1] else digest).encode())
        running[1] += 1


def generate(url: str, year: int, households: int, entries: int) -> Ledger:
    """Write a year's ledger of about `entries` entries over `households` households; close its months as cron would."""
    engine = bulk_engine(url)
    try:
        ledger = _generate(engine, year, households, entries)
    finally:
        engine.dispose()
    close_months(url, year)
    return ledger


def close_months(url: str, year: int) -> None:
    """Close January to November through the project, as `flask ledger close-month` from cron on each 1st would.

    December stays open: the dashboard's today is the 31st. Each closing reads the chain's head
    as it is now (the whole year): the months' rows are the same, only their through_seq differs.
    """
    from shop import create_app
    from shop.extensions import db
    from shop.ledger.closed_months import close_months as close

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench"})
    with app.app_context():
        for month in range(1, 12):
            close(date(year, month, 1))
        db.session.remove()
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            for table in ("ledger_closing", "closed_household_month"):
                conn.exec_driver_sql(f"ANALYZE {table}")
        db.engine.dispose()


def _generate(engine: sa.Engine, year: int, households: int, entries: int) -> Ledger:
    ledger = Generator(engine, year, households, entries).run()
    with engine.begin() as conn:
        # Stock on hand is what the draws left (refunds wrote the goods off).
        drawn = "COALESCE((SELECT SUM(quantity) FROM draw WHERE draw.lot_id = lot.id), 0)"
        conn.exec_driver_sql(f"UPDATE lot SET qty_on_hand = qty_received - {drawn}")
        if conn.dialect.name == "postgresql":
            for table, columns in COLUMNS.items():
                if "id" in columns:
                    conn.exec_driver_sql(
                        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"
                    )
    # Statistics (and on PostgreSQL the visibility map) as a live database's autovacuum would keep them.
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
    else:
        with engine.begin() as conn:
            conn.exec_driver_sql("ANALYZE")
    return ledger
