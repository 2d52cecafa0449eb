"""Demo data for `make run`: the first counter, Lingao's towns, households, products and lots.

Every record is looked up by its natural key before it is added, so seeding
twice changes nothing. Names and phone numbers are made up.
"""

import random
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa

from shop.catalog import pricing
from shop.clock import business_today, local_time, now_utc
from shop.extensions import db
from shop.ledger import entries
from shop.models import (
    Counter,
    Fulfilment,
    Household,
    HouseholdCategory,
    HouseholdStatus,
    Lot,
    Measure,
    MonitoringStatus,
    MonitorSubtype,
    MonthReview,
    MovementKind,
    Order,
    OrderPayment,
    PaymentMethod,
    Product,
    ProductCategory,
    ReviewOutcome,
    Role,
    SettlementMode,
    StockMovement,
    Town,
    User,
    Village,
)
from shop.oversight import reviews, statements
from shop.oversight.monitoring import add_months, month_start
from shop.selling.orders import place_order
from shop.selling.sales import LineRequest, record_sale
from shop.staff.accounts import hash_password
from shop.transaction import atomic
from shop.units import Unit
from shop.worklog import incomes, plans, visits

#: Every demo account signs in with this password. Never seed a live installation.
DEMO_PASSWORD = "bangfu-demo"

COUNTER = ("LC-JN", "临城江南市场对面专柜", "临高县临城镇江南市场正对面")

TOWNS = [
    ("临城镇", "Lincheng"),
    ("波莲镇", "Bolian"),
    ("东英镇", "Dongying"),
    ("博厚镇", "Bohou"),
    ("皇桐镇", "Huangtong"),
    ("多文镇", "Duowen"),
    ("和舍镇", "Heshe"),
    ("南宝镇", "Nanbao"),
    ("新盈镇", "Xinying"),
    ("调楼镇", "Diaolou"),
]

#: (town, village, English name, household code prefix, officer username)
VILLAGES = [
    ("临城镇", "大波村", "Dabo", "DB", "officer1"),
    ("和舍镇", "丛潭村", "Congtan", "CT", "officer2"),
    ("和舍镇", "茶胡村", "Chahu", "CH", "officer3"),
    ("和舍镇", "先光村", "Xianguang", "XG", "officer4"),
    ("和舍镇", "抱堂村", "Baotang", "BT", "officer4"),
]

#: (username, role, display name, town of a supervisor or inspector)
STAFF = [
    ("admin", Role.ADMIN, "李秀兰", None),
    ("clerk", Role.CLERK, "陈美玲", None),
    ("officer1", Role.OFFICER, "林海燕", None),
    ("officer2", Role.OFFICER, "符志强", None),
    ("officer3", Role.OFFICER, "王晓梅", None),
    ("officer4", Role.OFFICER, "吴国栋", None),
    ("heshe", Role.SUPERVISOR, "和舍镇大队长 羊文清", "和舍镇"),
    ("county", Role.SUPERVISOR, "县乡村振兴局 谢志明", None),
    ("inspector", Role.INSPECTOR, "县督查组 邢立新", None),
]

SURNAMES = "王陈李符吴林黄刘张邢蔡周羊谢"
GIVEN = "亦明海成光德文华志国秀兰玉芳春金福永安家清发生强平"


@dataclass(frozen=True)
class DemoProduct:
    sku: str
    name_zh: str
    name_en: str
    category: ProductCategory
    unit: Unit
    price_fen: int
    price_per: int
    image: str
    description_zh: str
    description_en: str
    certified: bool = True
    #: How many lots the demo shelf holds: 0 shows an out-of-stock product.
    lots: int = 3


PRODUCTS = [
    DemoProduct(
        "LG-XG",
        "虾干",
        "Dried shrimp",
        ProductCategory.SEAFOOD,
        Unit.GRAM,
        6800,
        500,
        "img/products/dried-shrimp.svg",
        "临高近海捕捞的鲜虾，农户自家晾晒，肉质紧实，咸鲜回甘。",
        "Shrimp from Lingao's inshore waters, sun-dried by the household: firm, savoury, slightly sweet.",
    ),
    DemoProduct(
        "LG-XYZ",
        "小鱼仔",
        "Small dried fish",
        ProductCategory.SEAFOOD,
        Unit.GRAM,
        3000,
        500,
        "img/products/small-fish.svg",
        "小银鱼清洗后日晒而成，可油炸、煮粥、炒花生。",
        "Little silver fish washed and sun-dried; fry them, cook them in congee or toss with peanuts.",
    ),
    DemoProduct(
        "LG-YYG",
        "鱿鱼干",
        "Dried squid",
        ProductCategory.SEAFOOD,
        Unit.GRAM,
        9000,
        500,
        "img/products/dried-squid.svg",
        "整只鱿鱼剖开晒干，适合炭烤、煲汤。",
        "Whole squid split and dried; grill it over charcoal or simmer it in soup.",
    ),
    DemoProduct(
        "LG-XP",
        "虾皮",
        "Dried baby shrimp",
        ProductCategory.SEAFOOD,
        Unit.GRAM,
        2500,
        500,
        "img/products/baby-shrimp.svg",
        "淡晒虾皮，不额外加盐，补钙佳品，炒菜、煮汤都合适。",
        "Lightly dried baby shrimp with no added salt, for stir-fries and soups.",
    ),
    DemoProduct(
        "LG-MJY",
        "马鲛鱼干",
        "Dried Spanish mackerel",
        ProductCategory.SEAFOOD,
        Unit.GRAM,
        5500,
        500,
        "img/products/mackerel.svg",
        "海南传统马鲛鱼干，切块煎香即可下饭。",
        "Traditional Hainan dried mackerel: cut into pieces and pan-fry.",
    ),
    DemoProduct(
        "LG-MYG",
        "墨鱼干",
        "Dried cuttlefish",
        ProductCategory.SEAFOOD,
        Unit.GRAM,
        11000,
        500,
        "img/products/cuttlefish.svg",
        "肉厚味香，煲汤首选。",
        "Thick and fragrant, best in slow-cooked soups.",
        lots=0,
    ),
    DemoProduct(
        "LG-XJ",
        "临高虾酱（250克/瓶）",
        "Lingao shrimp paste (250 g jar)",
        ProductCategory.CONDIMENT,
        Unit.PIECE,
        1800,
        1,
        "img/products/shrimp-paste.svg",
        "按老方法发酵的虾酱，蒸肉、炒空心菜的好帮手。",
        "Shrimp paste fermented the old way; steam it with pork or fry it with water spinach.",
    ),
    DemoProduct(
        "LG-YYS",
        "鱿鱼丝（200克/包）",
        "Shredded squid (200 g pack)",
        ProductCategory.SEAFOOD,
        Unit.PIECE,
        2800,
        1,
        "img/products/squid-shreds.svg",
        "手撕鱿鱼丝，开袋即食。",
        "Hand-torn squid, ready to eat from the pack.",
    ),
    DemoProduct(
        "LG-HYD",
        "红树林海鸭蛋（6枚/盒）",
        "Mangrove sea duck eggs (box of 6)",
        ProductCategory.EGGS,
        Unit.PIECE,
        3600,
        1,
        "img/products/duck-eggs.svg",
        "红树林滩涂散养海鸭所产，蛋黄红润。",
        "Laid by ducks foraging on the mangrove flats; deep orange yolks.",
    ),
    DemoProduct(
        "LG-XY",
        "咸鱼",
        "Salted fish",
        ProductCategory.SEAFOOD,
        Unit.GRAM,
        4000,
        500,
        "img/products/salted-fish.svg",
        "渔家自制咸鱼，蒸肉饼、煲仔饭都香。",
        "Home-salted fish from a fishing family, for steamed pork patties and clay-pot rice.",
        certified=False,
        lots=2,
    ),
]


def seed() -> dict[str, int]:
    """Add whatever demo data is missing, in one transaction; return how many rows were added."""
    kinds = (
        "counters",
        "towns",
        "villages",
        "users",
        "households",
        "products",
        "lots",
        "sales",
        "orders",
        "reviews",
        "work records",
    )
    added = dict.fromkeys(kinds, 0)
    today = business_today()
    with atomic():
        counter = _counter(added)
        towns = {name: _town(name, en, added) for name, en in TOWNS}
        staff = {
            name: _user(name, role, display, towns.get(town), counter, added) for name, role, display, town in STAFF
        }
        households = []
        rng = random.Random(2022)
        for town, village_name, village_en, prefix, officer in VILLAGES:
            village = _village(towns[town], village_name, village_en, added)
            for n in range(1, 9):
                households.append(_household(f"{prefix}{n:03d}", village, staff[officer], staff["admin"], rng, added))
        for n, spec in enumerate(PRODUCTS):
            product = _product(spec, n, today, added)
            for i in range(spec.lots):
                # Spread each product's lots over households of different villages.
                supplier = households[(5 * n + 13 * i) % len(households)]
                _lot(product, supplier, counter, staff["clerk"], n + i, today, added)
    added["sales"] = _history(today) + _sales(today)
    added["orders"] = _orders(today)
    added["reviews"] = _reviews(today)
    added["work records"] = _worklog(today)
    return added


#: A buyer's phone for the demo's online order (a reserved test range, not a real number).
DEMO_BUYER_PHONE = "13800000000"
DEMO_BUYER_NAME = "林女士"


def _orders(today: date) -> int:
    """One pay-at-pickup order waiting at the counter, so the till has an order to collect."""
    # The phone is sealed: its last four digits and the buyer's name find the demo's order.
    demo_order = sa.select(Order.id).where(
        Order.contact_phone_last4 == DEMO_BUYER_PHONE[-4:], Order.contact_name == "林女士"
    )
    if _first(demo_order):
        return 0
    skus = dict(db.session.execute(sa.select(Product.sku, Product.id)).all())
    place_order(
        lines=[LineRequest(skus["LG-XG"], 500), LineRequest(skus["LG-XJ"], 1)],
        name=DEMO_BUYER_NAME,
        phone=DEMO_BUYER_PHONE,
        fulfilment=Fulfilment.PICKUP,
        address="",
        payment=OrderPayment.PAY_AT_PICKUP,
        today=today,
    )
    return 1


#: A morning at the counter: (key, payment method, [(sku, grams or pieces)], cash handed over).
SALES = [
    ("demo-sale-001", PaymentMethod.CASH, [("LG-XG", 250), ("LG-XJ", 2)], 10000),
    ("demo-sale-002", PaymentMethod.WECHAT_QR, [("LG-YYG", 500)], None),
    ("demo-sale-003", PaymentMethod.ALIPAY_QR, [("LG-XYZ", 1000), ("LG-HYD", 1)], None),
    ("demo-sale-004", PaymentMethod.CASH, [("LG-XP", 333)], 2000),
]


def _sales(today: date) -> int:
    """Ring up the demo sales through the till's own use case; their keys make a second run add none."""
    clerk = _first(sa.select(User).where(User.username == "clerk"))
    skus = dict(db.session.execute(sa.select(Product.sku, Product.id)).all())
    recorded = 0
    for key, method, lines, tendered in SALES:
        requests = [LineRequest(skus[sku], qty) for sku, qty in lines]
        _, created = record_sale(
            idempotency_key=key, payment_method=method, lines=requests, clerk=clerk, today=today, tendered_fen=tendered
        )
        recorded += created
    return recorded


#: Six months of trade before today, so the households' income charts have a history: one
#: sale on the 15th of each month, a little more each month (grams of each product).
HISTORY = [("LG-XG", 250), ("LG-XYZ", 250), ("LG-YYG", 150), ("LG-XP", 100)]
HISTORY_MONTHS = 6


def _history(today: date) -> int:
    """Ring up a sale on the 15th of each of the last six months, dated that day, through the till's use case."""
    clerk = _first(sa.select(User).where(User.username == "clerk"))
    skus = dict(db.session.execute(sa.select(Product.sku, Product.id)).all())
    recorded = 0
    first = add_months(month_start(today), -HISTORY_MONTHS)
    for n in range(HISTORY_MONTHS):
        day = add_months(first, n).replace(day=15)
        lines = [LineRequest(skus[sku], grams * (n + 2) // 2) for sku, grams in HISTORY]
        _, created = record_sale(
            idempotency_key=f"demo-history-{day:%Y-%m}",
            payment_method=PaymentMethod.WECHAT_QR,
            lines=lines,
            clerk=clerk,
            today=day,
        )
        recorded += created
    return recorded


def _reviews(today: date) -> int:
    """Last month's first household with income is confirmed by its officer, the second disputed, once."""
    if _first(sa.select(MonthReview.id)):
        return 0
    month = add_months(month_start(today), -1)
    active = statements.households_with_activity(month)
    households = db.session.scalars(sa.select(Household).where(Household.id.in_(active)).order_by(Household.code))
    verdicts = [
        (ReviewOutcome.CONFIRMED, ""),
        (ReviewOutcome.DISPUTED, "户主说本月交了 3 斤虾干，账上只见一笔，请核对收货单。"),
    ]
    reviewed = 0
    for household, (outcome, note) in zip(list(households), verdicts, strict=False):
        seen = statements.month_statement(household, month)
        reviews.review_month(
            household_id=household.id,
            month=month,
            outcome=outcome,
            note=note,
            seen_digest=seen.digest,
            by=household.officer,
        )
        reviewed += 1
    return reviewed


def _worklog(today: date) -> int:
    """officer1's first monitored household gets a plan, two visits (one typed in late) and declared income, once."""
    if _first(sa.select(Measure.id)):
        return 0
    officer = db.session.scalars(sa.select(User).where(User.username == "officer1")).one()
    household = db.session.scalars(
        sa.select(Household)
        .where(Household.officer_id == officer.id, Household.category == HouseholdCategory.JIANCE)
        .order_by(Household.code)
    ).first()
    if household is None:
        return 0
    days = timedelta
    plans.add_measure(
        household.id,
        kind="industry",
        title="通过帮扶专柜代销虾干，稳定销路",
        due_on=today + days(60),
        sells_through_counter=True,
        by=officer,
    )
    job = plans.add_measure(
        household.id, kind="employment", title="推荐长子到县城水产加工厂务工", due_on=today + days(20), by=officer
    )
    clinic = plans.add_measure(
        household.id, kind="medical", title="办理慢性病门诊报销", due_on=today + days(5), by=officer
    )
    plans.tick_off(job.id, done_on=today - days(10), evidence="已签劳动合同，月工资 3200 元", by=officer)
    plans.correct_measure(
        clinic.id,
        kind="medical",
        title="办理慢性病门诊报销（含医保二次报销）",
        due_on=today + days(15),
        reason="补充医保二次报销",
        by=officer,
    )
    home, _ = visits.record_visit(
        household.id, visits.VisitRequest(today - days(2), "home", "家中虾干晾晒正常，长子已上班。", False), by=officer
    )
    visits.record_visit(
        household.id,
        visits.VisitRequest(today - days(20), "phone", "电话了解就医情况，报销材料已交。", True),
        by=officer,
    )
    since, until = today - days(120), today - days(1)
    lines = [
        incomes.IncomeLine("wages", 960_000, since, until, "劳动合同及工资条"),
        incomes.IncomeLine("transfer", 120_000, since, until, "一卡通流水"),
        incomes.IncomeLine("medical_cost", 80_000, since, until, "医院票据"),
    ]
    incomes.declare_income(household.id, lines, by=officer, visit_id=home.id)
    return 4 + 1 + 2 + len(lines)  # measures (one a correction), a tick-off, visits, declared figures


def _first(query):
    return db.session.scalars(query).first()


def _counter(added) -> Counter:
    code, name, address = COUNTER
    counter = _first(sa.select(Counter).where(Counter.code == code))
    if counter is None:
        counter = Counter(code=code, name=name, address=address)
        db.session.add(counter)
        added["counters"] += 1
    return counter


def _town(name: str, english: str, added) -> Town:
    town = _first(sa.select(Town).where(Town.name_zh == name))
    if town is None:
        town = Town(name_zh=name, name_en=english)
        db.session.add(town)
        added["towns"] += 1
    return town


def _village(town: Town, name: str, english: str, added) -> Village:
    db.session.flush()
    village = _first(sa.select(Village).where(Village.town_id == town.id, Village.name_zh == name))
    if village is None:
        village = Village(town=town, name_zh=name, name_en=english)
        db.session.add(village)
        added["villages"] += 1
    return village


def _user(username: str, role: Role, display: str, town: Town | None, counter: Counter, added) -> User:
    user = _first(sa.select(User).where(User.username == username))
    if user is None:
        user = User(
            username=username,
            password_hash=hash_password(DEMO_PASSWORD),
            role=role,
            display_name=display,
            town=town,
            counter=counter if role is Role.CLERK else None,
        )
        db.session.add(user)
        added["users"] += 1
    return user


def _household(code: str, village: Village, officer: User, admin: User, rng: random.Random, added) -> Household:
    # Draw the made-up facts even when the household exists, so the rest stay the same.
    name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice((1, 2))))
    members = rng.randint(1, 6)
    phone = "1" + rng.choice("3589") + "".join(str(rng.randint(0, 9)) for _ in range(9))
    roll = rng.random()
    household = _first(sa.select(Household).where(Household.code == code))
    if household is not None:
        return household
    if roll < 0.4:
        history = [(HouseholdCategory.TUOPIN, None, None, date(2019, 12, 20))]
    elif roll < 0.75:
        subtype = rng.choice(list(MonitorSubtype))
        history = [(HouseholdCategory.JIANCE, subtype, MonitoringStatus.IDENTIFIED, date(2022, 6, 15))]
        if roll > 0.6:
            history.append((HouseholdCategory.JIANCE, subtype, MonitoringStatus.RISK_ELIMINATED, date(2024, 3, 1)))
        if roll > 0.72:
            history.append((HouseholdCategory.JIANCE, subtype, MonitoringStatus.RELAPSED, date(2025, 9, 10)))
    else:
        history = [(HouseholdCategory.YIBAN, None, None, date(2023, 1, 5))]
    category, subtype, status, _ = history[-1]
    household = Household(
        code=code,
        head_name=name,
        members=members,
        village=village,
        category=category,
        monitor_subtype=subtype,
        monitoring_status=status,
        officer=officer,
        phone=phone,
    )
    db.session.add(household)
    for category, subtype, status, effective_on in history:
        db.session.add(
            HouseholdStatus(
                household=household,
                category=category,
                monitor_subtype=subtype,
                monitoring_status=status,
                effective_on=effective_on,
                note="演示数据",
                recorded_by=admin,
            )
        )
    added["households"] += 1
    return household


def _product(spec: DemoProduct, n: int, today: date, added) -> Product:
    product = _first(sa.select(Product).where(Product.sku == spec.sku))
    if product is None:
        product = Product(
            sku=spec.sku,
            name_zh=spec.name_zh,
            name_en=spec.name_en,
            category=spec.category,
            unit=spec.unit,
            price_fen=spec.price_fen,
            price_per=spec.price_per,
            image=spec.image,
            description_zh=spec.description_zh,
            description_en=spec.description_en,
            cert_no=f"LGBF-2025-{n + 1:03d}" if spec.certified else None,
            cert_issuer="临高县乡村振兴局" if spec.certified else None,
            cert_expires_on=date(today.year + 1, 12, 31) if spec.certified else None,
        )
        db.session.add(product)
        pricing.record_price(db.session, product, None)
        added["products"] += 1
    return product


def _lot(product: Product, household: Household, counter: Counter, clerk: User, i: int, today: date, added) -> None:
    """Add a lot of made-up size, terms and dates; `i` varies them."""
    db.session.flush()
    exists = _first(sa.select(Lot.id).where(Lot.product_id == product.id, Lot.household_id == household.id))
    if exists:
        return
    weighed = product.unit is Unit.GRAM
    qty = (1500 + 750 * (i % 7)) if weighed else (12 + 6 * (i % 5))
    purchase = i % 3 == 1
    lot = Lot(
        product=product,
        household=household,
        counter=counter,
        qty_received=qty,
        qty_on_hand=qty,
        best_before=today + timedelta(days=90 + 30 * (i % 6)),
        received_by=clerk,
        # Received before the six months of history the demo sells from them.
        received_at=now_utc() - timedelta(days=200 + 3 * (i % 5), hours=i % 9),
        mode=SettlementMode.PURCHASE if purchase else SettlementMode.CONSIGNMENT,
        share_bp=None if purchase else 9000,
        purchase_price_fen=(qty * product.price_fen * 7 // (10 * product.price_per)) if purchase else None,
    )
    db.session.add(lot)
    db.session.add(StockMovement(lot=lot, kind=MovementKind.RECEIPT, qty_delta=qty, by=clerk, at=lot.received_at))
    entries.credit_purchase(db.session, lot, local_time(lot.received_at).date(), clerk)
    added["lots"] += 1
