"""What templates may call: money and quantity display, localised names, the language."""

from flask import Flask, g, has_request_context, url_for
from flask_babel import get_locale
from flask_babel import gettext as _

from shop.catalog import product_images
from shop.models import (
    HouseholdCategory,
    MonitoringStatus,
    MonitorSubtype,
    MovementKind,
    PaymentMethod,
    Product,
    ProductCategory,
    Role,
    SettlementMode,
    WriteOffReason,
)
from shop.money import format_fen
from shop.units import GRAMS_PER_JIN, Unit, grams_to_jin_text, grams_to_kg_text


def is_chinese() -> bool:
    """Whether the page is being shown in Chinese; decided once per request, since a shelf asks it per product."""
    if not has_request_context():
        return str(get_locale()).startswith("zh")
    chinese = g.get(_CHINESE)
    if chinese is None:
        chinese = str(get_locale()).startswith("zh")
        setattr(g, _CHINESE, chinese)
    return chinese


_CHINESE = "_bangfu_is_chinese"


def localised(obj, attribute: str = "name") -> str:
    """The English name of a product, town or village when English is chosen and known."""
    if not is_chinese():
        english = getattr(obj, f"{attribute}_en", "")
        if english:
            return english
    return getattr(obj, f"{attribute}_zh")


def quantity_text(qty: int, unit: Unit) -> str:
    """A stock quantity as a shopper reads it: 6.5 斤 / 3.25 kg, or 12 件 / 12 pcs."""
    if unit is Unit.GRAM:
        if is_chinese():
            jin = grams_to_jin_text(qty)
            # A crumb under 0.01 斤 would read "0 斤": say its grams instead.
            return _("%(g)s g", g=qty) if jin == "0" and qty else _("%(n)s jin", n=jin)
        return _("%(n)s kg", n=grams_to_kg_text(qty))
    return _("%(n)s pcs", n=qty)


def staff_quantity_text(quantity: int, unit: Unit) -> str:
    """A quantity as staff read it at the counter, exact and in the till's units: 250 g (0.5 jin), or 2 pcs."""
    if unit is Unit.GRAM:
        jin = grams_to_jin_text(quantity)
        return _("%(g)s g (%(jin)s jin)", g=quantity, jin=jin) if jin != "0" else _("%(g)s g", g=quantity)
    return _("%(n)s pcs", n=quantity)


def price_text(product: Product) -> str:
    """The shelf price: ¥68.00 / 斤 in Chinese, ¥68.00 / 500 g in English, per piece for packs."""
    price = format_fen(product.price_fen)
    per = product.price_per
    if product.unit is Unit.GRAM:
        if not is_chinese():
            return f"{price} / {per} g"
        return f"{price} / " + {GRAMS_PER_JIN: "斤", 2 * GRAMS_PER_JIN: "公斤"}.get(per, f"{per} 克")
    if per == 1:
        return _("%(price)s / piece", price=price)
    return _("%(price)s / %(n)s pieces", price=price, n=per)


def share_text(share_bp: int) -> str:
    """Basis points as a percentage without needless zeros: 9000 → 90%, 8750 → 87.5%."""
    whole, hundredths = divmod(share_bp, 100)
    return f"{whole}.{hundredths:02d}".rstrip("0").rstrip(".") + "%"


def label(value) -> str:
    """The words for a role, category, subtype, status or shelf section."""
    return {
        Role.ADMIN: _("Counter manager"),
        Role.CLERK: _("Clerk"),
        Role.OFFICER: _("Assistance officer"),
        Role.SUPERVISOR: _("Supervisor"),
        HouseholdCategory.TUOPIN: _("Lifted out of poverty"),
        HouseholdCategory.JIANCE: _("Under monitoring"),
        HouseholdCategory.YIBAN: _("Ordinary household"),
        MonitorSubtype.UNSTABLE: _("Unstable after lifting"),
        MonitorSubtype.MARGINAL: _("Marginal, prone to poverty"),
        MonitorSubtype.SUDDEN: _("Sudden severe hardship"),
        MonitoringStatus.IDENTIFIED: _("Monitored"),
        MonitoringStatus.RISK_ELIMINATED: _("Risk eliminated"),
        MonitoringStatus.RELAPSED: _("Relapsed"),
        ProductCategory.SEAFOOD: _("Dried seafood"),
        ProductCategory.CONDIMENT: _("Sauces"),
        ProductCategory.EGGS: _("Eggs"),
        ProductCategory.OTHER: _("Other goods"),
        PaymentMethod.CASH: _("Cash"),
        PaymentMethod.WECHAT_QR: _("WeChat Pay QR"),
        PaymentMethod.ALIPAY_QR: _("Alipay QR"),
        PaymentMethod.CARD: _("Bank card"),
        PaymentMethod.STRIPE: _("Paid online"),
        WriteOffReason.SPOILED: _("Spoiled"),
        WriteOffReason.DAMAGED: _("Damaged"),
        WriteOffReason.SAMPLE: _("Sample for tasting"),
        MovementKind.RECEIPT: _("Received"),
        MovementKind.SALE: _("Sold"),
        MovementKind.RESTOCK: _("Restocked after refund"),
        MovementKind.WRITE_OFF: _("Written off"),
        MovementKind.STOCKTAKE: _("Stocktake"),
        MovementKind.RETURN: _("Returned to household"),
        MovementKind.TRANSFER_OUT: _("Moved to another counter"),
        MovementKind.TRANSFER_IN: _("Moved in from another counter"),
        SettlementMode.CONSIGNMENT: _("Consignment"),
        SettlementMode.PURCHASE: _("Purchase"),
    }.get(value, str(value))


def product_image_url(product: Product) -> str:
    """The product's picture: an uploaded photo, a drawing under static/ (the demo's), or the shared placeholder."""
    if product_images.is_stored_name(product.image):
        return url_for("catalog.product_picture", name=product.image)
    return url_for("static", filename=product.image or "img/products/placeholder.svg")


def register(app: Flask) -> None:
    """Make the helpers available in every template."""
    app.jinja_env.filters["fen"] = format_fen
    app.jinja_env.filters["localised"] = localised
    app.jinja_env.globals.update(
        localised=localised,
        quantity_text=quantity_text,
        staff_quantity_text=staff_quantity_text,
        price_text=price_text,
        label=label,
        share_text=share_text,
        product_image_url=product_image_url,
        is_chinese=is_chinese,
    )
