"""What templates may call: money and quantity display, localised names, the language."""

from datetime import date

from flask import Flask, url_for
from flask_babel import format_date
from flask_babel import gettext as _

from shop.catalog import product_images
from shop.ledger.chain import EntryKind
from shop.models import (
    AdjustmentStatus,
    HouseholdCategory,
    HouseholdField,
    MonitoringStatus,
    MonitorSubtype,
    MovementKind,
    PaymentMethod,
    PayoutMethod,
    Product,
    ProductCategory,
    ReviewOutcome,
    Role,
    SettlementMode,
    User,
    WriteOffReason,
)
from shop.money import format_fen
from shop.units import GRAMS_PER_JIN, Unit
from shop.villages import households
from shop.wording import is_chinese, quantity_text, staff_quantity_text


def localised(obj, attribute: str = "name") -> str:
    """The English name of a product, town or village when English is chosen and known."""
    if not is_chinese():
        english = getattr(obj, f"{attribute}_en", "")
        if english:
            return english
    return getattr(obj, f"{attribute}_zh")


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


def unit_price_text(line) -> str:
    """A line's frozen shelf price on screen: ¥68.00 / jin."""
    price = format_fen(line.price_fen)
    if line.unit is Unit.GRAM:
        if line.price_per == GRAMS_PER_JIN:
            return _("%(price)s / jin", price=price)
        return _("%(price)s / %(n)s g", price=price, n=line.price_per)
    if line.price_per == 1:
        return _("%(price)s / piece", price=price)
    return _("%(price)s / %(n)s pieces", price=price, n=line.price_per)


def words(value) -> str:
    """The words for an entry kind, payout method, adjustment status or review outcome."""
    return {
        EntryKind.CREDIT: _("Credit"),
        EntryKind.REVERSAL: _("Refund reversal"),
        EntryKind.PAYOUT: _("Payout"),
        EntryKind.ADJUSTMENT: _("Correction"),
        PayoutMethod.CASH: _("Cash"),
        PayoutMethod.BANK_TRANSFER: _("Bank transfer"),
        AdjustmentStatus.PENDING: _("Waiting for approval"),
        AdjustmentStatus.APPROVED: _("Approved"),
        AdjustmentStatus.REJECTED: _("Rejected"),
        ReviewOutcome.CONFIRMED: _("Confirmed"),
        ReviewOutcome.DISPUTED: _("Disputed"),
        HouseholdField.HEAD_NAME: _("Head of the household"),
        HouseholdField.MEMBERS: _("Members"),
        HouseholdField.PHONE: _("Phone"),
        HouseholdField.VILLAGE: _("Village"),
        HouseholdField.OFFICER: _("Officer"),
        households.FROM_PAGE: _("household page"),
        households.FROM_API: _("API"),
        households.FROM_IMPORT: _("roster import"),
        households.FROM_ACCOUNT: _("staff account"),
    }.get(value, str(value))


def month_text(month: date) -> str:
    """A month as people write it: 2026年5月, or May 2026."""
    return f"{month.year}年{month.month}月" if is_chinese() else format_date(month, "MMM y")


def signed_text(fen: int) -> str:
    """An amount with its sign spelled out, so a take-back never reads as income: +¥12.00 / -¥3.00."""
    return ("+" if fen > 0 else "") + format_fen(fen)


def person(user: User | None) -> str:
    """A staff member as pages name them."""
    return (user.display_name or user.username) if user else "—"


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
        Role.INSPECTOR: _("Inspector"),
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
