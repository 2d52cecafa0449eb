"""Products: the catalog buyers browse and the manager extends."""

import re
from dataclasses import dataclass, field
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _

from shop.catalog import pricing, product_images
from shop.clock import business_today
from shop.errors import Conflict, Invalid, NotFound
from shop.extensions import db
from shop.models import Order, OrderStatus, Product, ProductCategory, User, Village
from shop.money import MAX_FEN
from shop.stock import lots
from shop.transaction import atomic
from shop.units import Unit

SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")
#: Products on one page of the shop front: a few screens on a phone, and with every card's picture
#: the page stays far under the 150 KB a public page may weigh.
SHELF_PAGE_SIZE = 48


class DuplicateSku(Conflict):
    """Another product already has this SKU."""


class UnknownProduct(NotFound):
    """No product has this id."""


class PastTheLastPage(NotFound):
    """A page of the shelf beyond its last: the shelf has shrunk since the link was made, or the number is made up."""

    def __init__(self, last: int):
        super().__init__(_("There is no such page."))
        #: The shelf's last page now.
        self.last = last


#: What the manager may change about a product once it exists. Its SKU and unit stay: lots,
#: sales and printed labels carry them, and grams cannot become pieces after the fact.
EDITABLE = frozenset(
    {
        "name_zh",
        "name_en",
        "category",
        "price_fen",
        "price_per",
        "description_zh",
        "description_en",
        "cert_no",
        "cert_issuer",
        "cert_expires_on",
        "active",
    }
)


@dataclass(frozen=True)
class CatalogEntry:
    """A product as the catalog shows it: with what is on sale and where it comes from."""

    product: Product
    available: int
    villages: list[Village] = field(default_factory=list)


def create_product(
    *,
    sku: str,
    name_zh: str,
    unit: Unit,
    price_fen: int,
    price_per: int,
    name_en: str = "",
    category: ProductCategory = ProductCategory.OTHER,
    description_zh: str = "",
    description_en: str = "",
    cert_no: str | None = None,
    cert_issuer: str | None = None,
    cert_expires_on: date | None = None,
    active: bool = True,
    by: User | None = None,
) -> Product:
    """Add a product to the catalog, its price the first of its price history (`by` sets it)."""
    with atomic() as session:
        sku = sku.strip()
        if not SKU.fullmatch(sku):
            raise Invalid(_("A SKU is up to 40 letters, digits, '.', '_' or '-'."), "sku")
        if session.scalars(sa.select(Product.id).where(Product.sku == sku)).first():
            raise DuplicateSku(_("The SKU %(sku)s is taken.", sku=sku), "sku")
        if not name_zh.strip():
            raise Invalid(_("Name the product."), "name")
        product = Product(
            sku=sku,
            name_zh=name_zh.strip(),
            name_en=name_en.strip(),
            category=ProductCategory(category),
            unit=Unit(unit),
            price_fen=price_fen,
            price_per=price_per,
            description_zh=description_zh.strip(),
            description_en=description_en.strip(),
            cert_no=cert_no or None,
            cert_issuer=cert_issuer or None,
            cert_expires_on=cert_expires_on,
            active=active,
        )
        session.add(product)
        pricing.record_price(session, product, by)
    return product


def catalog(today: date, category: ProductCategory | None = None) -> list[CatalogEntry]:
    """Products on the shelf in the order they were added, in stock first, with availability and villages."""
    products = db.session.scalars(_on_shelf(Product, category)).all()
    available = lots.available_by_product(today)
    villages = lots.supplying_villages(today)
    entries = [CatalogEntry(p, available.get(p.id, 0), villages.get(p.id, [])) for p in products]
    return sorted(entries, key=lambda e: e.available == 0)


def _on_shelf(what, category: ProductCategory | None) -> sa.Select:
    """The active products (of a section), in the order they were added: the shelf's order before stock."""
    query = sa.select(what).where(Product.active)
    if category is not None:
        query = query.where(Product.category == category)
    return query.order_by(Product.id)


@dataclass(frozen=True)
class ShelfPage:
    """One page of the shelf: its products, which page it is and how many there are."""

    entries: list[CatalogEntry]
    number: int
    #: Pages of the whole shelf (or section); 1 when it is empty.
    count: int


def catalog_page(today: date, category: ProductCategory | None, number: int) -> ShelfPage:
    """Page `number` (from 1) of the catalog, in its order: only that page's products are loaded.

    In stock first depends on what lots, holds and counters leave on sale, which is worked out for
    every product anyway; so the order is settled on product ids alone and just the page's products
    are read. Raises PastTheLastPage beyond the last page.
    """
    ids = list(db.session.scalars(_on_shelf(Product.id, category)))
    available = lots.available_by_product(today)
    ids.sort(key=lambda product_id: available.get(product_id, 0) == 0)  # stable: in the order added within each
    count = max(1, -(-len(ids) // SHELF_PAGE_SIZE))
    if number > count:
        raise PastTheLastPage(count)
    shown = ids[(number - 1) * SHELF_PAGE_SIZE : number * SHELF_PAGE_SIZE]
    found = {p.id: p for p in db.session.scalars(sa.select(Product).where(Product.id.in_(shown)))} if shown else {}
    villages = lots.supplying_villages(today, shown)
    entries = [CatalogEntry(found[i], available.get(i, 0), villages.get(i, [])) for i in shown if i in found]
    return ShelfPage(entries, number, count)


def next_hold_lapse(now: datetime) -> datetime | None:
    """When the next online order's hold on stock lapses, freeing it for the shelf; None if none is live."""
    return db.session.scalar(
        sa.select(sa.func.min(Order.expires_at)).where(
            Order.status == OrderStatus.AWAITING_PAYMENT, Order.expires_at > now
        )
    )


def product_on_sale(product_id: int) -> Product | None:
    """An active product by id."""
    product = db.session.get(Product, product_id)
    return product if product is not None and product.active else None


def categories_in_use() -> list[ProductCategory]:
    """The shelf sections that have at least one product on sale."""
    used = set(db.session.scalars(sa.select(Product.category).where(Product.active).distinct()))
    return [c for c in ProductCategory if c in used]


def active_products() -> list[Product]:
    """Every product on sale, in catalog order."""
    return list(db.session.scalars(sa.select(Product).where(Product.active).order_by(Product.category, Product.id)))


def find_product(product_id: int) -> Product:
    """A product, on sale or not, by id."""
    return _found(db.session.get(Product, product_id))


def _locked(session, product_id: int) -> Product:
    """A product to change, locked against another change until the transaction ends."""
    return _found(session.get(Product, product_id, with_for_update=True))


def _found(product: Product | None) -> Product:
    if product is None:
        raise UnknownProduct(_("There is no such product."))
    return product


def all_products() -> list[Product]:
    """Every product, on sale first, then in the order they were added."""
    return list(db.session.scalars(sa.select(Product).order_by(Product.active.desc(), Product.id)))


def update_product(product_id: int, by: User | None = None, **changes) -> Product:
    """Change a product's names, section, price, descriptions, certificate or whether it is on sale.

    A new price applies from now: it is added to the price history, which prices every later sale
    (a sale queued offline before now keeps the old one). Sales already made keep theirs (their
    lines froze it), and the audit trail keeps the old and the new values with who changed them.
    """
    unknown = set(changes) - EDITABLE
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    with atomic() as session:
        found = _locked(session, product_id)
        _check_changes(changes)
        before = (found.price_fen, found.price_per)
        for name, value in changes.items():
            setattr(found, name, _normalised(name, value))
        if (found.price_fen, found.price_per) != before:
            pricing.record_price(session, found, by)
    return found


#: Optional text a blank entry clears, rather than storing an empty string.
_BLANK_IS_NONE = frozenset({"cert_no", "cert_issuer"})


def _normalised(name: str, value):
    """A field's value as stored: text trimmed, a blank optional field cleared, a section as its enum."""
    if name == "category":
        return ProductCategory(value)
    if isinstance(value, str):
        value = value.strip()
        return None if not value and name in _BLANK_IS_NONE else value
    return value


def _check_changes(changes: dict) -> None:
    """Refuse a nameless product or a price the till cannot charge."""
    if "name_zh" in changes and not (changes["name_zh"] or "").strip():
        raise Invalid(_("Name the product."), "name_zh")
    if "price_fen" in changes and not 0 <= changes["price_fen"] <= MAX_FEN:
        raise Invalid(_("The price is out of range."), "price")
    if "price_per" in changes and not 0 < changes["price_per"] <= 1_000_000:
        raise Invalid(_("The price must be per a positive quantity."), "price_per")


def set_picture(product_id: int, upload: bytes) -> Product:
    """Give a product the picture in an upload, checked by its content and stored re-encoded."""
    picture = product_images.normalise(upload, current_app.config["PRODUCT_IMAGE_MAX_BYTES"])
    with atomic() as session:
        found = _locked(session, product_id)
        # Written before the row points at it; if the commit fails, an unused file is all that is left.
        product_images.store(picture)
        found.image = picture.name
    return found


def remove_picture(product_id: int) -> Product:
    """Show the shared placeholder instead of the product's picture (the file stays for the audit trail)."""
    with atomic() as session:
        found = _locked(session, product_id)
        found.image = None
    return found


def till_catalog(counter_id: int) -> list[tuple]:
    """Each active product with its JSON for the till, counting only what is on sale at this counter."""
    available = lots.available_at_counter(counter_id, business_today())
    return [
        (
            p,
            {
                "id": p.id,
                "sku": p.sku,
                "name": p.name_zh,
                "name_en": p.name_en,
                "unit": p.unit.value,
                "price_fen": p.price_fen,
                "price_per": p.price_per,
                "available": available.get(p.id, 0),
            },
        )
        for p in active_products()
    ]
