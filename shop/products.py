"""Products: the catalog buyers browse and the manager extends."""

import re
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from flask_babel import gettext as _

from . import stock
from .errors import Conflict, Invalid
from .extensions import db
from .models import Product, ProductCategory, Village
from .transaction import atomic
from .units import Unit

SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")


class DuplicateSku(Conflict):
    """Another product already has this SKU."""


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
) -> Product:
    """Add a product to the catalog."""
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
        )
        session.add(product)
    return product


def catalog(today: date, category: ProductCategory | None = None) -> list[CatalogEntry]:
    """Products on the shelf in the order they were added, in stock first, with availability and villages."""
    query = sa.select(Product).where(Product.active)
    if category is not None:
        query = query.where(Product.category == category)
    products = db.session.scalars(query.order_by(Product.id)).all()
    available = stock.available_by_product(today)
    villages = stock.supplying_villages(today)
    entries = [CatalogEntry(p, available.get(p.id, 0), villages.get(p.id, [])) for p in products]
    return sorted(entries, key=lambda e: e.available == 0)


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
