"""The till's sums are the server's: pos.js prices, converts and counts change as shop/money.py and shop/units.py do.

The till shows a line's price, the total and the change before the sale is sent; the server then
records its own figures. Any case where the two differ is a buyer told one price and charged
another, so the cases are many (seeded, so a failure repeats) and run in the page's own code.
"""

import random

import pytest

from shop.money import format_fen, parse_yuan, price_for
from shop.units import GRAMS_PER_JIN, grams_to_jin_text, parse_quantity

#: The same cases every run, so that a disagreement found once is found again.
SEED = 14
#: The largest quantity the till lets a clerk ring up (pos.js's MAX_QTY).
MAX_QTY = 10_000_000


def random_prices(rng: random.Random, n: int) -> list[tuple[int, int, int]]:
    """(quantity, price_fen, price_per) as shelves have them: per jin, per 100 g, per gram, per piece, per pack."""
    pers = [GRAMS_PER_JIN, 100, 1, 250, 1000, 3, 7]
    cases = [(rng.randint(0, MAX_QTY), rng.randint(0, 10_000_000), rng.choice(pers)) for _ in range(n)]
    # Small quantities and odd prices, where rounding half up to the fen shows.
    cases += [(rng.randint(0, 2000), rng.randint(1, 99_999), rng.choice(pers)) for _ in range(n)]
    return cases + [(333, 6800, 500), (1, 1, 2), (1, 3, 2), (3, 1, 2), (250, 6800, 500), (0, 6800, 500)]


def random_baskets(rng: random.Random, n: int) -> list[dict]:
    """Baskets of one to five lines and what the buyer hands over, as typed at the till."""
    baskets = []
    for _ in range(n):
        lines = [(rng.randint(1, 5000), rng.randint(1, 20_000), rng.choice([GRAMS_PER_JIN, 1, 100])) for _ in range(5)]
        count = rng.randint(1, 5)
        total = sum(price_for(*line) for line in lines[:count])
        tendered = max(0, total + rng.randint(-5000, 20_000))
        typed = (
            f"{tendered // 100}"
            if tendered % 100 == 0 and rng.random() < 0.5
            else f"{tendered // 100}.{tendered % 100:02d}"
        )
        baskets.append({"lines": lines, "count": count, "typed": typed})
    return baskets


def quantities_typed(rng: random.Random, n: int) -> list[str]:
    """Jin as a clerk types them on the keypad: whole, one or two decimals, some with full-width digits."""
    typed = []
    for _ in range(n):
        whole, decimals = rng.randint(0, 9999), rng.choice(["", "5", "25", "05", "1", "99", "50"])
        text = f"{whole}.{decimals}" if decimals else str(whole)
        typed.append(
            text.translate(str.maketrans("0123456789.", "０１２３４５６７８９．")) if rng.random() < 0.1 else text
        )
    return typed + ["0.5", "1", "1.5", "2", "0.01", "0.1", "0.10", "00.50", " 1.25 ", "１.５"]


def yuan_typed(rng: random.Random, n: int) -> list[str]:
    """Cash handed over as typed: whole yuan, jiao, fen, a ¥ sign, full-width digits."""
    typed = []
    for _ in range(n):
        fen = rng.randint(0, 9_999_999_999)
        text = rng.choice([f"{fen // 100}", f"{fen // 100}.{fen % 100:02d}", f"{fen // 100}.{fen % 100 // 10}"])
        typed.append(("¥" if rng.random() < 0.2 else "") + text)
    return typed + ["68", "68.5", "68.50", "0.01", "¥100", "￥20", "１００", "99999999.99", "68."]


def server_yuan(text: str) -> int | None:
    try:
        return parse_yuan(text)
    except ValueError:
        return None


def server_jin(text: str) -> int | None:
    try:
        return parse_quantity(text, "jin")
    except ValueError:
        return None


#: Runs the cases with the till's own functions; JS numbers that are not figures come back as null.
EVALUATE = """(c) => {
  const P = window.BangfuPos;
  const figure = (x) => (typeof x === 'number' && Number.isFinite(x) ? x : null);
  return {
    prices: c.prices.map(([q, f, per]) => P.priceFor(q, f, per)),
    fens: c.fens.map((f) => P.fen(f)),
    jins: c.grams.map((g) => P.jinText(g)),
    quantities: c.quantities.map((t) => figure(P.parseQuantity(t, 'jin'))),
    yuan: c.yuan.map((t) => figure(P.parseYuan(t))),
    change: c.baskets.map((b) => {
      const total = b.lines.slice(0, b.count).reduce((sum, [q, f, per]) => sum + P.priceFor(q, f, per), 0);
      const tendered = P.parseYuan(b.typed);
      return { total: total, short: tendered < total, text: P.fen(Math.abs(tendered - total)) };
    }),
  };
}"""


@pytest.fixture(scope="module")
def cases() -> dict:
    """A few hundred of each kind of case, seeded."""
    rng = random.Random(SEED)
    return {
        "prices": random_prices(rng, 200),
        "fens": [rng.randint(-(10**10), 10**10) for _ in range(300)] + [0, 1, -1, 99, 100, 100_000, -123_456_789],
        "grams": [rng.randint(0, MAX_QTY) for _ in range(200)] + list(range(0, 1001)),
        "quantities": quantities_typed(rng, 300),
        "yuan": yuan_typed(rng, 300),
        "baskets": random_baskets(rng, 300),
    }


@pytest.fixture
def till_answers(till, cases) -> dict:
    """What the till's own code makes of every case."""
    return till.evaluate(EVALUATE, cases)


def test_the_api_is_frozen_so_the_page_cannot_swap_the_sums(till):
    assert till.evaluate("Object.isFrozen(window.BangfuPos)")
    assert sorted(till.evaluate("Object.keys(window.BangfuPos)")) == [
        "fen",
        "jinText",
        "parseQuantity",
        "parseYuan",
        "priceFor",
    ]


def test_line_prices_are_the_servers_to_the_fen(cases, till_answers):
    server = [price_for(*case) for case in cases["prices"]]
    assert till_answers["prices"] == server


def test_amounts_are_written_as_the_server_writes_them(cases, till_answers):
    assert till_answers["fens"] == [format_fen(f) for f in cases["fens"]]


def test_grams_read_as_the_same_jin(cases, till_answers):
    assert till_answers["jins"] == [grams_to_jin_text(g) for g in cases["grams"]]


def test_jin_typed_at_the_till_are_the_grams_the_server_reads(cases, till_answers):
    """Every quantity the till takes, the server's parser takes as the same grams (the keypad is the stricter)."""
    pairs = list(zip(cases["quantities"], till_answers["quantities"], strict=True))
    assert all(till is not None for _text, till in pairs)
    assert [(text, till) for text, till in pairs if server_jin(text) != till] == []


def test_yuan_typed_at_the_till_are_the_fen_the_server_reads(cases, till_answers):
    pairs = list(zip(cases["yuan"], till_answers["yuan"], strict=True))
    assert all(till is not None for _text, till in pairs)
    assert [(text, till) for text, till in pairs if server_yuan(text) != till] == []


def test_change_and_cash_short_are_the_servers(cases, till_answers):
    """The total is the sum of the lines' prices; change is what is handed over less it, short when below it."""
    for basket, answer in zip(cases["baskets"], till_answers["change"], strict=True):
        total = sum(price_for(*line) for line in basket["lines"][: basket["count"]])
        tendered = parse_yuan(basket["typed"])
        change_fen = tendered - total  # as GET /api/counter/sales/<id> gives change_fen
        assert answer == {"total": total, "short": change_fen < 0, "text": format_fen(abs(change_fen))}, basket


#: Texts only one side reads, each for a reason; both answers are pinned, so a change to either shows.
ONE_SIDED = [
    ("1.", "jin", 500, None),  # a point typed, its decimals not yet: the keypad previews 1 斤 meanwhile
    ("0.002", "jin", None, 1),  # the keypad stops at two decimals of a jin; the server takes any whole grams
    ("1,280", "yuan", None, 128_000),  # the till's cash field takes no thousands separators
    ("68元", "yuan", None, 6800),
    ("¥ 68", "yuan", None, 6800),
]


def test_the_few_texts_only_one_side_reads_are_known(till):
    """The till never sends text, only grams and fen; these differ in what is read, never in a figure."""
    server = {"jin": server_jin, "yuan": server_yuan}
    read = """([text, unit]) => {
      const x = unit === 'jin' ? window.BangfuPos.parseQuantity(text, 'jin') : window.BangfuPos.parseYuan(text);
      return Number.isFinite(x) ? x : null;
    }"""
    for text, unit, till_reads, server_reads in ONE_SIDED:
        assert (till.evaluate(read, [text, unit]), server[unit](text)) == (till_reads, server_reads), text
