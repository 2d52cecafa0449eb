"""The database models: counters, staff, households, products, lots, stock movements and sales.

Money columns are integer fen and quantity columns integer grams or pieces;
the unit is in the column name. CHECK constraints repeat the rules the use
cases enforce, so that no code path (or hand-written SQL) can break them.
"""

import secrets
from datetime import date, datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship, validates

from shop.clock import now_utc
from shop.extensions import db
from shop.ledger.chain import EntryKind
from shop.privacy import mask_name, mask_phone
from shop.sealing import Sealed
from shop.selling.order_flow import OrderStatus
from shop.units import Unit
from shop.villages.standing import HouseholdCategory, MonitoringStatus, MonitorSubtype
from shop.worklog.rules import IncomeSource, MeasureKind, ProposalStep, VisitKind


def _enum(enum_cls: type[StrEnum], name: str) -> sa.Enum:
    """Store a StrEnum as its value in a VARCHAR guarded by a CHECK constraint."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


def _unchecked_enum(enum_cls: type[StrEnum]) -> sa.Enum:
    """Store a StrEnum as its value in a VARCHAR(20) with no CHECK constraint (a column older than _enum)."""
    return sa.Enum(
        enum_cls,
        native_enum=False,
        create_constraint=False,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Role(StrEnum):
    """What a staff account may do."""

    ADMIN = "admin"  # the counter manager
    CLERK = "clerk"
    OFFICER = "officer"  # 帮扶责任人
    SUPERVISOR = "supervisor"  # a town leader, or the county bureau when town is empty
    INSPECTOR = "inspector"  # 督查: an inspection team or discipline inspector; reads, never writes


class ProductCategory(StrEnum):
    """Shelf sections of the catalog."""

    SEAFOOD = "seafood"  # 海产干货
    CONDIMENT = "condiment"  # 调味酱料
    EGGS = "eggs"  # 禽蛋
    OTHER = "other"


class SettlementMode(StrEnum):
    """How the household supplying a lot is paid."""

    CONSIGNMENT = "consignment"  # 代销: credited a share of each sale
    PURCHASE = "purchase"  # 收购: bought outright, credited at intake


class MovementKind(StrEnum):
    """Why a lot's stock on hand changed."""

    RECEIPT = "receipt"  # 收货: the lot arrived
    SALE = "sale"  # drawn by a sale
    RESTOCK = "restock"  # a refunded sale put back on the shelf
    WRITE_OFF = "write_off"  # 报损: spoiled, damaged, given as a sample
    STOCKTAKE = "stocktake"  # 盘点: counted differs from expected
    RETURN = "return"  # 退回农户: unsold goods taken back by the household
    TRANSFER_OUT = "transfer_out"  # 调出: part of the lot moved to another counter
    TRANSFER_IN = "transfer_in"  # 调入: the moved part arrived as a lot of its own


class WriteOffReason(StrEnum):
    """Why goods left the shelf without being sold."""

    SPOILED = "spoiled"  # 变质
    DAMAGED = "damaged"  # 破损
    SAMPLE = "sample"  # 试吃样品


class PaymentMethod(StrEnum):
    """How a buyer paid."""

    CASH = "cash"
    WECHAT_QR = "wechat_qr"  # the counter's WeChat Pay QR code
    ALIPAY_QR = "alipay_qr"
    CARD = "card"
    STRIPE = "stripe"  # online: card, Alipay or WeChat Pay through Stripe


#: What a clerk may take at the counter; Stripe is for online orders only.
COUNTER_METHODS = (PaymentMethod.CASH, PaymentMethod.WECHAT_QR, PaymentMethod.ALIPAY_QR, PaymentMethod.CARD)


class SaleChannel(StrEnum):
    """Where a sale was made."""

    COUNTER = "counter"
    ONLINE = "online"


class Fulfilment(StrEnum):
    """How an online order reaches its buyer."""

    PICKUP = "pickup"  # 到店自提
    DELIVERY = "delivery"


class OrderPayment(StrEnum):
    """How an online order is to be paid."""

    STRIPE = "stripe"
    PAY_AT_PICKUP = "pay_at_pickup"  # 到店付款


class PayoutMethod(StrEnum):
    """How the counter paid a household."""

    CASH = "cash"
    BANK_TRANSFER = "bank_transfer"


class AdjustmentStatus(StrEnum):
    """Where a proposed correction stands: it reaches the ledger only when approved."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class RefundStatus(StrEnum):
    """Where an online order's refund stands: asked of the payment service, applied, or refused by it."""

    PENDING = "pending"  # asked; nothing given back yet
    SUCCEEDED = "succeeded"  # the money went back and the households' credits are reversed
    FAILED = "failed"  # refused or cancelled by the payment service: nothing was given back


class ReviewOutcome(StrEnum):
    """What an officer concluded about a household's month."""

    CONFIRMED = "confirmed"  # 审核确认
    DISPUTED = "disputed"  # 有异议


def new_trace_token() -> str:
    """An unguessable token for a lot's public trace page, short enough for a small QR code."""
    return secrets.token_urlsafe(12)


class Counter(db.Model):
    """A place where goods are received and sold (a 专柜)."""

    __tablename__ = "counter"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    address: Mapped[str] = mapped_column(sa.String(200), default="")
    #: When buyers may come, as the manager writes it (such as 每天 8:00-18:00); empty when not given.
    opening_hours: Mapped[str] = mapped_column(sa.String(100), default="", server_default="")
    #: The counter's phone for buyers; empty when not given.
    phone: Mapped[str] = mapped_column(sa.String(20), default="", server_default="")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=now_utc)


class Town(db.Model):
    """One of the county's towns (镇)."""

    __tablename__ = "town"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_en: Mapped[str] = mapped_column(sa.String(80))

    villages: Mapped[list["Village"]] = relationship(back_populates="town")


class Village(db.Model):
    """A village (村) within a town."""

    __tablename__ = "village"
    __table_args__ = (sa.UniqueConstraint("town_id", "name_zh"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    town_id: Mapped[int] = mapped_column(sa.ForeignKey("town.id"))
    name_zh: Mapped[str] = mapped_column(sa.String(60))
    name_en: Mapped[str] = mapped_column(sa.String(80), default="")

    town: Mapped[Town] = relationship(back_populates="villages")


def normalise_username(username: str) -> str:
    """Usernames compare without case or surrounding spaces."""
    return (username or "").strip().lower()


class User(UserMixin, db.Model):
    """A staff account. Buyers do not have accounts."""

    __tablename__ = "app_user"
    __table_args__ = (
        sa.CheckConstraint("town_id IS NULL OR role IN ('supervisor', 'inspector')", name="town_only_for_supervisor"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stored lower-case, so that "Wang" and "wang" are one account.
    username: Mapped[str] = mapped_column(sa.String(40), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(256))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    display_name: Mapped[str] = mapped_column(sa.String(60), default="")
    active: Mapped[bool] = mapped_column(default=True)
    #: The counter a clerk works at; staff without one use the first counter.
    counter_id: Mapped[int | None] = mapped_column(sa.ForeignKey("counter.id"))
    #: A supervisor's or inspector's town; an empty town means the whole county.
    town_id: Mapped[int | None] = mapped_column(sa.ForeignKey("town.id"))
    #: Set when the manager resets the password: the user must choose a new one at next sign-in.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    password_changed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    counter: Mapped[Counter | None] = relationship()
    town: Mapped[Town | None] = relationship()

    @property
    def is_active(self) -> bool:
        """Flask-Login refuses sessions of deactivated accounts."""
        return self.active


class Household(db.Model):
    """A listed household that supplies goods and is credited for them."""

    __tablename__ = "household"
    __table_args__ = (
        sa.CheckConstraint("members > 0", name="members_positive"),
        sa.CheckConstraint(
            "category = 'jiance' OR (monitor_subtype IS NULL AND monitoring_status IS NULL)",
            name="monitoring_only_for_jiance",
        ),
        sa.CheckConstraint("category <> 'jiance' OR monitoring_status IS NOT NULL", name="jiance_has_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(32), unique=True)
    head_name: Mapped[str] = mapped_column(sa.String(50))
    #: People in the household; income is judged per capita.
    members: Mapped[int]
    village_id: Mapped[int] = mapped_column(sa.ForeignKey("village.id"), index=True)
    category: Mapped[HouseholdCategory] = mapped_column(_enum(HouseholdCategory, "category"))
    monitor_subtype: Mapped[MonitorSubtype | None] = mapped_column(_enum(MonitorSubtype, "subtype"))
    monitoring_status: Mapped[MonitoringStatus | None] = mapped_column(_enum(MonitoringStatus, "monitoring_status"))
    #: The assistance officer (帮扶责任人) answerable for this household.
    officer_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id"), index=True)
    #: A mainland mobile number, sealed at rest (shop.sealing); pages show it masked.
    phone: Mapped[str | None] = mapped_column(Sealed())
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    village: Mapped[Village] = relationship()
    officer: Mapped[User | None] = relationship()
    #: Oldest first; two changes on one day in the order they were recorded.
    statuses: Mapped[list["HouseholdStatus"]] = relationship(
        back_populates="household", order_by="[HouseholdStatus.effective_on, HouseholdStatus.id]"
    )

    @property
    def head_name_masked(self) -> str:
        """The head's name as the public and most staff see it: 王**."""
        return mask_name(self.head_name)

    @property
    def phone_masked(self) -> str:
        """The phone number as shown by default: 138****5678."""
        return mask_phone(self.phone)


class HouseholdStatus(db.Model):
    """One change of a household's category or monitoring status, from a date on.

    Rows are only ever added: the history is the evidence that a risk was
    eliminated (or relapsed) when the record says it was.
    """

    __tablename__ = "household_status"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"), index=True)
    category: Mapped[HouseholdCategory] = mapped_column(_enum(HouseholdCategory, "category"))
    monitor_subtype: Mapped[MonitorSubtype | None] = mapped_column(_enum(MonitorSubtype, "subtype"))
    monitoring_status: Mapped[MonitoringStatus | None] = mapped_column(_enum(MonitoringStatus, "monitoring_status"))
    effective_on: Mapped[date]
    note: Mapped[str] = mapped_column(sa.String(500), default="")
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=now_utc)

    household: Mapped[Household] = relationship(back_populates="statuses")
    recorded_by: Mapped[User | None] = relationship()


class HouseholdField(StrEnum):
    """A part of a household's record that can change after it is listed."""

    HEAD_NAME = "head_name"
    MEMBERS = "members"
    PHONE = "phone"
    VILLAGE = "village"
    OFFICER = "officer"


class HouseholdChange(db.Model):
    """One change to a household's record (head, members, phone, village or officer).

    With the status history it is the household's history. Rows are only ever added: database
    triggers refuse UPDATE and DELETE, as on the ledger.
    """

    __tablename__ = "household_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"), index=True)
    field: Mapped[HouseholdField] = mapped_column(_enum(HouseholdField, "household_field"))
    #: The values as people read them (a village as 镇 村, an officer by username); names and phones masked.
    before: Mapped[str] = mapped_column(sa.String(200), default="")
    after: Mapped[str] = mapped_column(sa.String(200), default="")
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    #: Where the change was made: a staff page, the API, or a roster import.
    source: Mapped[str] = mapped_column(sa.String(20))
    #: Who made it; empty for a roster imported from the command line.
    changed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id"))
    changed_at: Mapped[datetime] = mapped_column(default=now_utc)

    household: Mapped[Household] = relationship()
    changed_by: Mapped[User | None] = relationship()


class Product(db.Model):
    """Something the counter sells, by weight or by the piece."""

    __tablename__ = "product"
    __table_args__ = (
        sa.CheckConstraint("price_fen >= 0", name="price_not_negative"),
        sa.CheckConstraint("price_per > 0", name="price_per_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(sa.String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str] = mapped_column(sa.String(100), default="")
    category: Mapped[ProductCategory] = mapped_column(
        _enum(ProductCategory, "product_category"), default=ProductCategory.OTHER
    )
    unit: Mapped[Unit] = mapped_column(_enum(Unit, "unit"))
    #: Fen for price_per units: 6800 for 500 (g) is ¥68.00 per 斤.
    price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: How many units (grams or pieces) price_fen buys.
    price_per: Mapped[int]
    description_zh: Mapped[str] = mapped_column(sa.Text, default="")
    description_en: Mapped[str] = mapped_column(sa.Text, default="")
    #: Path under static/ of the product's picture, if it has one.
    image: Mapped[str | None] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    #: 帮扶产品认定: the certificate that lets this sell as an assistance product.
    cert_no: Mapped[str | None] = mapped_column(sa.String(60))
    cert_issuer: Mapped[str | None] = mapped_column(sa.String(100))
    cert_expires_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    lots: Mapped[list["Lot"]] = relationship(back_populates="product")


class ProductPrice(db.Model):
    """A price a product was given, in force from an instant until the next one.

    Written whenever a price is set (the product's creation, every change), so a sale rung up
    offline is priced at what the shelf said when it was rung up, not when it synced. Rows are
    only ever added: database triggers refuse UPDATE and DELETE.
    """

    __tablename__ = "product_price"
    __table_args__ = (
        sa.CheckConstraint("price_fen >= 0", name="price_not_negative"),
        sa.CheckConstraint("price_per > 0", name="price_per_positive"),
        sa.Index("ix_product_price_product_valid_from", "product_id", "valid_from"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"))
    #: Fen for price_per units, as on Product.
    price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: How many units (grams or pieces) price_fen buys.
    price_per: Mapped[int]
    #: The naive-UTC instant from which this price applies.
    valid_from: Mapped[datetime] = mapped_column(default=now_utc)
    #: Who set it; empty for the command line, the demo seed and prices carried over by migration 0015.
    set_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id"))

    set_by: Mapped["User | None"] = relationship()


class Lot(db.Model):
    """A delivery (批次) of one product from one household to one counter."""

    __tablename__ = "lot"
    __table_args__ = (
        sa.CheckConstraint("qty_received > 0", name="received_positive"),
        sa.CheckConstraint("qty_on_hand >= 0", name="on_hand_not_negative"),
        sa.CheckConstraint("qty_on_hand <= qty_received", name="on_hand_within_received"),
        sa.CheckConstraint(
            # IS NOT NULL is spelt out: a CHECK that evaluates to NULL passes.
            "(mode = 'consignment' AND share_bp IS NOT NULL AND share_bp BETWEEN 0 AND 10000"
            " AND purchase_price_fen IS NULL)"
            " OR (mode = 'purchase' AND purchase_price_fen IS NOT NULL AND purchase_price_fen >= 0"
            " AND share_bp IS NULL)",
            name="settlement_terms",
        ),
        # Allocation reads lots of a product at a counter by best-before, then receipt.
        sa.Index("ix_lot_allocation", "product_id", "counter_id", "best_before", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"))
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"), index=True)
    counter_id: Mapped[int] = mapped_column(sa.ForeignKey("counter.id"))
    #: Grams or pieces (the product's unit) delivered.
    qty_received: Mapped[int]
    #: Grams or pieces still on the shelf; never below zero.
    qty_on_hand: Mapped[int]
    best_before: Mapped[date]
    received_at: Mapped[datetime] = mapped_column(default=now_utc)
    received_by_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id"))
    mode: Mapped[SettlementMode] = mapped_column(_enum(SettlementMode, "mode"))
    #: Consignment: the household's share of each sale in basis points (10000 = 100 %).
    share_bp: Mapped[int | None]
    #: Purchase: fen agreed for the whole lot, credited to the household at intake.
    purchase_price_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: The key of the public trace page the package labels' QR codes open; ids are guessable.
    trace_token: Mapped[str] = mapped_column(sa.String(32), unique=True, default=new_trace_token)
    #: The lot this one was moved out of at another counter; its household was credited there, once.
    source_lot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lot.id"), index=True)

    product: Mapped[Product] = relationship(back_populates="lots")
    household: Mapped[Household] = relationship()
    counter: Mapped[Counter] = relationship()
    received_by: Mapped[User] = relationship()
    source_lot: Mapped["Lot | None"] = relationship(remote_side=[id])

    @property
    def code(self) -> str:
        """The lot number printed on slips and labels."""
        return f"P{self.id:06d}"


class StockMovement(db.Model):
    """One change to a lot's stock on hand, with who made it and why.

    A lot's qty_on_hand always equals the sum of its movements' qty_delta.
    """

    __tablename__ = "stock_movement"
    __table_args__ = (
        sa.CheckConstraint(
            "(kind IN ('receipt', 'restock', 'transfer_in') AND qty_delta > 0)"
            " OR (kind IN ('sale', 'write_off', 'return', 'transfer_out') AND qty_delta < 0)"
            " OR kind = 'stocktake'",
            name="delta_matches_kind",
        ),
        sa.CheckConstraint(
            "kind <> 'stocktake' OR (counted_qty IS NOT NULL AND counted_qty >= 0)", name="stocktake_counted"
        ),
        sa.CheckConstraint("by_id IS NOT NULL OR kind = 'sale'", name="someone_moved_it"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lot.id"), index=True)
    kind: Mapped[MovementKind] = mapped_column(_enum(MovementKind, "movement_kind"))
    #: Grams or pieces added (positive) or taken away (negative).
    qty_delta: Mapped[int]
    #: Stocktakes: the quantity counted on the shelf (expected is counted - qty_delta).
    counted_qty: Mapped[int | None]
    reason: Mapped[WriteOffReason | None] = mapped_column(_enum(WriteOffReason, "write_off_reason"))
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    draw_id: Mapped[int | None] = mapped_column(sa.ForeignKey("draw.id"), index=True)
    refund_id: Mapped[int | None] = mapped_column(sa.ForeignKey("refund.id"), index=True)
    #: Who moved the stock; empty only for a sale paid online, whose draw names the order's sale.
    by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id"))
    at: Mapped[datetime] = mapped_column(default=now_utc)

    lot: Mapped[Lot] = relationship()
    by: Mapped[User | None] = relationship()
    draw: Mapped["Draw | None"] = relationship()
    refund: Mapped["Refund | None"] = relationship()


class Sale(db.Model):
    """A counter sale: what the buyer took home, paid for in one go."""

    __tablename__ = "sale"
    __table_args__ = (
        sa.CheckConstraint("total_fen >= 0", name="total_not_negative"),
        sa.CheckConstraint("tendered_fen IS NULL OR tendered_fen >= total_fen", name="tendered_covers_total"),
        sa.CheckConstraint("channel = 'online' OR clerk_id IS NOT NULL", name="counter_sale_has_clerk"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Made by the till (or "order-<id>" for an online order), so that a sale sent twice is recorded once.
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: A digest of what was asked for, so a key reused for a different basket is refused.
    request_digest: Mapped[str] = mapped_column(sa.String(64))
    counter_id: Mapped[int] = mapped_column(sa.ForeignKey("counter.id"))
    channel: Mapped[SaleChannel] = mapped_column(_enum(SaleChannel, "sale_channel"), default=SaleChannel.COUNTER)
    #: Who took the money; none for an order paid online.
    clerk_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id"))
    payment_method: Mapped[PaymentMethod] = mapped_column(_enum(PaymentMethod, "payment_method"))
    #: Fen the buyer paid: the sum of the lines' amount_fen.
    total_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: Cash sales: fen the buyer handed over, so the receipt shows the change.
    tendered_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: The business day (Asia/Shanghai) the sale belongs to: the day of sold_at.
    sold_on: Mapped[date] = mapped_column(index=True)
    #: The instant the till rang the sale up (naive UTC); before created_at when it was queued offline.
    sold_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: The instant the server recorded it.
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    counter: Mapped[Counter] = relationship()
    clerk: Mapped[User | None] = relationship()
    lines: Mapped[list["SaleLine"]] = relationship(back_populates="sale", order_by="SaleLine.id")
    refunds: Mapped[list["Refund"]] = relationship(back_populates="sale", order_by="Refund.id")

    @property
    def number(self) -> str:
        """The sale number printed on receipts."""
        return f"S{self.id:06d}"


class FrozenLine:
    """A product sold or ordered, with its name, unit and shelf price frozen as they were at that moment.

    Sale lines and order lines declare these once, here (like django-oscar's
    AbstractLine): a later rename or new price changes no receipt and no order.
    Each line table has its own copy of every column and constraint.
    """

    @declared_attr.directive
    def __table_args__(cls) -> tuple:
        return (
            sa.CheckConstraint("quantity > 0", name="quantity_positive"),
            sa.CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        )

    # A mixin's columns follow the class's own: id goes first, as in the tables, then the sale's or order's id.
    id: Mapped[int] = mapped_column(primary_key=True, sort_order=-1)
    product_id: Mapped[int] = mapped_column(sa.ForeignKey("product.id"))
    #: The product's Chinese name at that moment, as the receipt prints it.
    product_name: Mapped[str] = mapped_column(sa.String(100))
    unit: Mapped[Unit] = mapped_column(_enum(Unit, "unit"))
    #: The shelf price at that moment: fen for price_per units.
    price_fen: Mapped[int] = mapped_column(sa.BigInteger)
    price_per: Mapped[int]
    #: Grams or pieces sold or ordered.
    quantity: Mapped[int]
    #: Fen charged for the line: price_for(quantity, price_fen, price_per).
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)

    @declared_attr
    def product(cls) -> Mapped[Product]:
        return relationship()


class SaleLine(FrozenLine, db.Model):
    """One product in a sale, with its name and price frozen as they were at the till."""

    __tablename__ = "sale_line"

    sale_id: Mapped[int] = mapped_column(sa.ForeignKey("sale.id"), index=True)

    sale: Mapped[Sale] = relationship(back_populates="lines")
    draws: Mapped[list["Draw"]] = relationship(back_populates="line", order_by="Draw.id")


class Draw(db.Model):
    """What one sale line took from one lot, and what it earned that lot's household.

    The household and its terms are copied from the lot, so that the credit
    stands as it was even if the lot or household record changes later.
    """

    __tablename__ = "draw"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        sa.CheckConstraint("credit_fen >= 0 AND credit_fen <= amount_fen", name="credit_within_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sale_line_id: Mapped[int] = mapped_column(sa.ForeignKey("sale_line.id"), index=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lot.id"), index=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"), index=True)
    mode: Mapped[SettlementMode] = mapped_column(_enum(SettlementMode, "mode"))
    #: Consignment: the household's share in basis points when sold.
    share_bp: Mapped[int | None]
    #: Grams or pieces taken from the lot.
    quantity: Mapped[int]
    #: This draw's part of the line amount, in fen; a line's draws add up to it exactly.
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: Fen owed to the household: its share of amount_fen (0 for a purchased lot, paid at intake).
    credit_fen: Mapped[int] = mapped_column(sa.BigInteger)

    line: Mapped[SaleLine] = relationship(back_populates="draws")
    lot: Mapped[Lot] = relationship()
    household: Mapped[Household] = relationship()


class Refund(db.Model):
    """Money given back for some or all of a sale, with the goods restocked or written off."""

    __tablename__ = "refund"
    __table_args__ = (
        sa.CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        # A unique index, not a constraint: SQLite adds an index in place but must rebuild the table
        # for a constraint, which it refuses while draw reversals refer to refunds.
        sa.Index("uq_refund_idempotency_key", "idempotency_key", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Made by the till or the refund form; the same key sent again replays this refund (none before 0013).
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64))
    #: A fingerprint of what the keyed request asked for, to tell a replay from a reused key.
    request_digest: Mapped[str | None] = mapped_column(sa.String(64))
    sale_id: Mapped[int] = mapped_column(sa.ForeignKey("sale.id"), index=True)
    #: Whether the goods went back to their lots (true) or were written off as damaged.
    restock: Mapped[bool]
    #: Fen handed back to the buyer.
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    refunded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    sale: Mapped[Sale] = relationship(back_populates="refunds")
    refunded_by: Mapped[User] = relationship()
    lines: Mapped[list["RefundLine"]] = relationship(back_populates="refund", order_by="RefundLine.id")


class RefundLine(db.Model):
    """The part of one sale line a refund gives back."""

    __tablename__ = "refund_line"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_id: Mapped[int] = mapped_column(sa.ForeignKey("refund.id"), index=True)
    sale_line_id: Mapped[int] = mapped_column(sa.ForeignKey("sale_line.id"), index=True)
    quantity: Mapped[int]
    #: The sum of this line's reversals' amount_fen.
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)

    refund: Mapped[Refund] = relationship(back_populates="lines")
    sale_line: Mapped[SaleLine] = relationship()
    reversals: Mapped[list["DrawReversal"]] = relationship(back_populates="refund_line", order_by="DrawReversal.id")


class DrawReversal(db.Model):
    """The part of a draw a refund undoes: the household's credit is reversed by this row, never edited."""

    __tablename__ = "draw_reversal"
    __table_args__ = (
        sa.CheckConstraint("quantity > 0", name="quantity_positive"),
        sa.CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        # Not credit <= amount: each reversal rounds a running total, so one part
        # may carry a fen of credit more than of amount; the totals never do.
        sa.CheckConstraint("credit_fen >= 0", name="credit_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    refund_line_id: Mapped[int] = mapped_column(sa.ForeignKey("refund_line.id"), index=True)
    draw_id: Mapped[int] = mapped_column(sa.ForeignKey("draw.id"), index=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"), index=True)
    #: Grams or pieces of the draw given back.
    quantity: Mapped[int]
    #: Fen of the draw's amount refunded to the buyer.
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: Fen of the draw's credit taken back from the household.
    credit_fen: Mapped[int] = mapped_column(sa.BigInteger)

    refund_line: Mapped[RefundLine] = relationship(back_populates="reversals")
    draw: Mapped[Draw] = relationship()


class RefusedOutcome(StrEnum):
    """How a clerk settled a queued sale the server refused."""

    RESOLD = "resold"  # the goods were sold again, as a new sale
    RETURNED = "returned"  # the money went back to the buyer
    WRITTEN_OFF = "written_off"  # the money was kept and the sale written off


class RefusedSale(db.Model):
    """A sale the till queued, the server refused for good, and a clerk settled: kept, never edited."""

    __tablename__ = "refused_sale"
    __table_args__ = (
        sa.CheckConstraint("taken_fen >= 0", name="taken_not_negative"),
        sa.CheckConstraint("tendered_fen IS NULL OR tendered_fen >= 0", name="tendered_not_negative"),
        sa.CheckConstraint("(outcome = 'resold') = (resold_key IS NOT NULL)", name="resold_names_new_sale"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The refused sale's key, made by the till: a settlement sent twice is recorded once.
    idempotency_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: A digest of the settlement as sent, to tell a replay from a reused key.
    request_digest: Mapped[str] = mapped_column(sa.String(64))
    counter_id: Mapped[int] = mapped_column(sa.ForeignKey("counter.id"), index=True)
    #: The lines as the till sent them: a JSON list of {product_id, quantity} (grams or pieces).
    lines: Mapped[str] = mapped_column(sa.Text)
    payment_method: Mapped[PaymentMethod] = mapped_column(_enum(PaymentMethod, "payment_method"))
    #: Fen the buyer paid, as the till computed it (the server never priced this sale).
    taken_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: Cash sales: fen the buyer handed over, if the clerk typed it.
    tendered_fen: Mapped[int | None] = mapped_column(sa.BigInteger)
    #: Why the server refused the sale, in its own words.
    refused_error: Mapped[str] = mapped_column(sa.String(300))
    #: When the till rang the sale up (the tablet's clock), and that business day at the counter.
    rung_up_at: Mapped[datetime]
    rung_up_on: Mapped[date] = mapped_column(index=True)
    outcome: Mapped[RefusedOutcome] = mapped_column(_enum(RefusedOutcome, "refused_outcome"))
    #: Sold again: the new sale's idempotency key (it may reach the server after this record).
    resold_key: Mapped[str | None] = mapped_column(sa.String(64))
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    settled_by_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id"))
    settled_at: Mapped[datetime] = mapped_column(default=now_utc)

    counter: Mapped[Counter] = relationship()
    settled_by: Mapped[User] = relationship()


def new_order_token() -> str:
    """The unguessable key of an order's status page, given to the buyer instead of an account."""
    return secrets.token_urlsafe(24)


class Order(db.Model):
    """An online order: reserved stock waiting for payment, then a sale to pack and hand over."""

    __tablename__ = "shop_order"
    __table_args__ = (
        sa.CheckConstraint("total_fen >= 0", name="total_not_negative"),
        sa.CheckConstraint("refunded_fen >= 0 AND refunded_fen <= total_fen", name="refunded_within_total"),
        sa.CheckConstraint("fulfilment = 'pickup' OR address <> ''", name="delivery_has_address"),
        sa.Index("ix_shop_order_status_expires", "status", "expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(sa.String(48), unique=True, default=new_order_token)
    status: Mapped[OrderStatus] = mapped_column(
        _enum(OrderStatus, "order_status"), default=OrderStatus.AWAITING_PAYMENT
    )
    fulfilment: Mapped[Fulfilment] = mapped_column(_enum(Fulfilment, "fulfilment"))
    payment: Mapped[OrderPayment] = mapped_column(_enum(OrderPayment, "order_payment"))
    #: The counter that holds the stock and hands the order over (or ships it).
    counter_id: Mapped[int] = mapped_column(sa.ForeignKey("counter.id"))
    contact_name: Mapped[str] = mapped_column(sa.String(50))
    #: A mainland mobile number, sealed at rest (shop.sealing); lists show it masked.
    contact_phone: Mapped[str] = mapped_column(Sealed(), server_default="")
    #: The phone's last four digits in the clear: what the counter searches a pickup by.
    contact_phone_last4: Mapped[str] = mapped_column(sa.String(4), server_default="")
    #: HMAC-SHA256 of the client address the order came from, under SECRET_KEY (no address is kept):
    #: what bounds one client's unpaid orders. Empty for orders placed before it was recorded.
    client_address_digest: Mapped[str | None] = mapped_column(sa.String(64), index=True)
    address: Mapped[str] = mapped_column(sa.String(300), default="")
    #: Fen the buyer pays: the sum of the lines' amount_fen.
    total_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: Fen given back so far, counting only refunds that went through.
    refunded_fen: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    #: Until when the stock is held for an unpaid order (naive UTC).
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    paid_at: Mapped[datetime | None]
    #: Saved before the PaymentIntent is created, so a retried create returns the same intent.
    stripe_idempotency_key: Mapped[str | None] = mapped_column(sa.String(80))
    stripe_payment_intent_id: Mapped[str | None] = mapped_column(sa.String(80), unique=True)
    stripe_client_secret: Mapped[str | None] = mapped_column(sa.String(200))
    #: The sale the order became once paid: its draws credit the households.
    sale_id: Mapped[int | None] = mapped_column(sa.ForeignKey("sale.id"), unique=True)

    counter: Mapped[Counter] = relationship()
    lines: Mapped[list["OrderLine"]] = relationship(back_populates="order", order_by="OrderLine.id")
    sale: Mapped[Sale | None] = relationship()

    @property
    def number(self) -> str:
        """The order number a buyer quotes at the counter."""
        return f"W{self.id:06d}"

    @property
    def contact_phone_masked(self) -> str:
        """The buyer's phone as lists show it."""
        return mask_phone(self.contact_phone)

    @validates("contact_phone")
    def _keep_last4(self, _key, phone: str) -> str:
        """Keep the searchable last four digits with the sealed number, whoever sets it."""
        self.contact_phone_last4 = (phone or "")[-4:]
        return phone


class OrderLine(FrozenLine, db.Model):
    """One product of an order, priced when the order was placed."""

    __tablename__ = "order_line"

    order_id: Mapped[int] = mapped_column(sa.ForeignKey("shop_order.id"), index=True)

    order: Mapped[Order] = relationship(back_populates="lines")
    reservations: Mapped[list["Reservation"]] = relationship(back_populates="line", order_by="Reservation.id")


class Reservation(db.Model):
    """Stock of one lot held for an order line while its order awaits payment.

    A reservation counts only while its order is awaiting payment and not past
    expires_at, so an order that lapses frees its stock without any job running.
    """

    __tablename__ = "reservation"
    __table_args__ = (sa.CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_line_id: Mapped[int] = mapped_column(sa.ForeignKey("order_line.id"), index=True)
    lot_id: Mapped[int] = mapped_column(sa.ForeignKey("lot.id"), index=True)
    #: Grams or pieces held.
    quantity: Mapped[int]

    line: Mapped[OrderLine] = relationship(back_populates="reservations")
    lot: Mapped[Lot] = relationship()


class StripeEvent(db.Model):
    """A Stripe webhook event already processed: each is acted on at most once."""

    __tablename__ = "stripe_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(sa.String(80), unique=True)
    event_type: Mapped[str] = mapped_column(sa.String(80))
    received_at: Mapped[datetime] = mapped_column(default=now_utc)


class OrderRefund(db.Model):
    """A refund of an online order, asked of Stripe (or paid back at the counter) and then applied once.

    The row and its idempotency key are saved before Stripe is called; the
    households' credits are reversed only when the refund has succeeded.
    """

    __tablename__ = "order_refund"
    __table_args__ = (sa.CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(sa.ForeignKey("shop_order.id"), index=True)
    #: pending (asked), succeeded (applied), failed; a plain VARCHAR with no CHECK, as it has always been.
    status: Mapped[RefundStatus] = mapped_column(_unchecked_enum(RefundStatus), default=RefundStatus.PENDING)
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    restock: Mapped[bool]
    #: The lines and quantities to give back, as JSON [[sale_line_id, quantity], ...].
    lines_json: Mapped[str] = mapped_column(sa.Text)
    idempotency_key: Mapped[str] = mapped_column(sa.String(80), unique=True)
    stripe_refund_id: Mapped[str | None] = mapped_column(sa.String(80), unique=True)
    #: The counter refund that reversed the credits, once the money went back.
    refund_id: Mapped[int | None] = mapped_column(sa.ForeignKey("refund.id"), unique=True)
    requested_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    order: Mapped[Order] = relationship()


class LedgerEntry(db.Model):
    """One entry of the household income ledger: append-only, chained by hash.

    Database triggers refuse UPDATE and DELETE on this table; a refund is a new
    reversal, never an edit. `flask --app shop ledger verify` walks the chain.
    """

    __tablename__ = "household_ledger"
    __table_args__ = (
        # An adjustment carries its own sign; every other kind is positive and its kind gives the sign.
        sa.CheckConstraint("amount_fen > 0 OR (kind = 'adjustment' AND amount_fen <> 0)", name="amount_positive"),
        sa.CheckConstraint("kind <> 'credit' OR draw_id IS NOT NULL OR lot_id IS NOT NULL", name="credit_has_cause"),
        sa.CheckConstraint("kind <> 'reversal' OR draw_reversal_id IS NOT NULL", name="reversal_has_cause"),
        sa.CheckConstraint("kind <> 'payout' OR payout_id IS NOT NULL", name="payout_has_cause"),
        sa.CheckConstraint("kind <> 'adjustment' OR adjustment_id IS NOT NULL", name="adjustment_has_cause"),
        # A household's entries by day, and its sums by kind read from the index alone: the officers'
        # lists total the balances of 200 households at once.
        sa.Index("ix_household_ledger_household_amounts", "household_id", "entry_date", "kind", "amount_fen"),
        # Covers the month and year reports: a period's entries by day, read from the index alone.
        sa.Index("ix_household_ledger_date_household", "entry_date", "household_id", "kind", "amount_fen"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Position in the one chain of all households' entries: 1, 2, 3, … with no gaps.
    seq: Mapped[int] = mapped_column(unique=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"))
    kind: Mapped[EntryKind] = mapped_column(_enum(EntryKind, "entry_kind"))
    #: Fen, positive: credits add to the balance, reversals and payouts take away; adjustments are signed.
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: The business day (Asia/Shanghai) the income or payout belongs to.
    entry_date: Mapped[date]
    #: What caused the entry: a sale's draw, a purchased lot, a refund's reversal.
    draw_id: Mapped[int | None] = mapped_column(sa.ForeignKey("draw.id"), unique=True)
    lot_id: Mapped[int | None] = mapped_column(sa.ForeignKey("lot.id"))
    draw_reversal_id: Mapped[int | None] = mapped_column(sa.ForeignKey("draw_reversal.id"), unique=True)
    payout_id: Mapped[int | None] = mapped_column(sa.ForeignKey("payout.id"), unique=True)
    adjustment_id: Mapped[int | None] = mapped_column(sa.ForeignKey("adjustment.id"), unique=True)
    #: The household's category and monitoring status when the entry was made.
    category: Mapped[HouseholdCategory] = mapped_column(_enum(HouseholdCategory, "category"))
    monitoring_status: Mapped[MonitoringStatus | None] = mapped_column(_enum(MonitoringStatus, "monitoring_status"))
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    prev_hash: Mapped[str] = mapped_column(sa.String(64))
    hash: Mapped[str] = mapped_column(sa.String(64), unique=True)

    household: Mapped[Household] = relationship()


class Payout(db.Model):
    """Money the counter handed a household against its balance, signed for on a payout receipt."""

    __tablename__ = "payout"
    __table_args__ = (
        sa.CheckConstraint("amount_fen > 0", name="amount_positive"),
        sa.CheckConstraint("method <> 'bank_transfer' OR reference <> ''", name="transfer_has_reference"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"), index=True)
    #: Fen paid; never more than the household's balance when paid.
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    method: Mapped[PayoutMethod] = mapped_column(_enum(PayoutMethod, "payout_method"))
    #: The bank's transaction reference for a transfer; empty for cash.
    reference: Mapped[str] = mapped_column(sa.String(64), default="")
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    paid_on: Mapped[date]
    #: The household's balance just before the payout, frozen for the receipt.
    balance_before_fen: Mapped[int] = mapped_column(sa.BigInteger)
    paid_by_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id"))
    created_at: Mapped[datetime] = mapped_column(default=now_utc)

    household: Mapped[Household] = relationship()
    paid_by: Mapped[User] = relationship()

    @property
    def number(self) -> str:
        """The number printed on the receipt."""
        return f"ZF{self.id:06d}"


class Adjustment(db.Model):
    """A correction to a household's income, proposed by one staff member and approved by another."""

    __tablename__ = "adjustment"
    __table_args__ = (
        sa.CheckConstraint("amount_fen <> 0", name="amount_not_zero"),
        sa.CheckConstraint("decided_by_id IS NULL OR decided_by_id <> requested_by_id", name="second_person_decides"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"), index=True)
    #: Signed fen: positive adds income the ledger missed, negative takes back income it should not have.
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: The day the correction belongs to (it may be in a past month).
    entry_date: Mapped[date]
    reason: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[AdjustmentStatus] = mapped_column(
        _enum(AdjustmentStatus, "adjustment_status"), default=AdjustmentStatus.PENDING
    )
    requested_by_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id"))
    requested_at: Mapped[datetime] = mapped_column(default=now_utc)
    decided_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id"))
    decided_at: Mapped[datetime | None]
    decision_note: Mapped[str] = mapped_column(sa.String(500), default="")

    household: Mapped[Household] = relationship()
    requested_by: Mapped[User] = relationship(foreign_keys=[requested_by_id])
    decided_by: Mapped[User | None] = relationship(foreign_keys=[decided_by_id])


class MonthReview(db.Model):
    """An officer's review of a household's month. Rows are only added: the latest one stands.

    It freezes what the officer saw (the last ledger entry and the month's
    figures), so an entry written into the month later shows as an amendment.
    """

    __tablename__ = "month_review"
    __table_args__ = (sa.Index("ix_month_review_household_month", "household_id", "month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"))
    #: The first day of the month reviewed.
    month: Mapped[date]
    outcome: Mapped[ReviewOutcome] = mapped_column(_enum(ReviewOutcome, "review_outcome"))
    note: Mapped[str] = mapped_column(sa.String(1000), default="")
    #: The last ledger entry (of the whole chain) when the officer looked, and the month's digest then.
    through_seq: Mapped[int] = mapped_column(default=0)
    digest: Mapped[str] = mapped_column(sa.String(64))
    #: The month's net income and closing balance as the officer saw them.
    income_fen: Mapped[int] = mapped_column(sa.BigInteger)
    closing_balance_fen: Mapped[int] = mapped_column(sa.BigInteger)
    reviewed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id"))
    reviewed_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: A dispute is answered by the manager; the answer is kept beside it.
    resolved_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id"))
    resolved_at: Mapped[datetime | None]
    resolution: Mapped[str] = mapped_column(sa.String(1000), default="")

    household: Mapped[Household] = relationship()
    reviewed_by: Mapped[User] = relationship(foreign_keys=[reviewed_by_id])
    resolved_by: Mapped[User | None] = relationship(foreign_keys=[resolved_by_id])


class Measure(db.Model):
    """One measure of a household's plan (一户一策): what will be done, under which kind, by when.

    Never edited or deleted (database triggers refuse it): a correction is a new measure that names
    the one it replaces and says why, and the replaced one no longer counts.
    """

    __tablename__ = "measure"
    __table_args__ = (
        sa.CheckConstraint("corrects_id IS NULL OR correction_reason <> ''", name="correction_has_reason"),
        sa.CheckConstraint("due_on >= starts_on", name="due_after_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"), index=True)
    kind: Mapped[MeasureKind] = mapped_column(_enum(MeasureKind, "measure_kind"))
    title: Mapped[str] = mapped_column(sa.String(200))
    #: The business day the measure was planned (the server's), and the deadline the officer set.
    starts_on: Mapped[date]
    due_on: Mapped[date]
    #: An industry measure about selling through the counter: its evidence is the household's credits.
    sells_through_counter: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    #: The measure this one replaces, and why; a measure is corrected at most once (its replacement may be).
    corrects_id: Mapped[int | None] = mapped_column(sa.ForeignKey("measure.id"), unique=True)
    correction_reason: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id"))
    #: When the server received it.
    recorded_at: Mapped[datetime] = mapped_column(default=now_utc)

    household: Mapped[Household] = relationship()
    recorded_by: Mapped[User] = relationship()
    done: Mapped["MeasureDone | None"] = relationship(back_populates="measure", uselist=False)


class MeasureDone(db.Model):
    """A measure ticked off (销号): the day it was done and the evidence. At most one per measure."""

    __tablename__ = "measure_done"

    id: Mapped[int] = mapped_column(primary_key=True)
    measure_id: Mapped[int] = mapped_column(sa.ForeignKey("measure.id"), unique=True)
    done_on: Mapped[date]
    evidence: Mapped[str] = mapped_column(sa.String(1000))
    #: Received more than 7 days after done_on (shop.worklog.rules.is_late), set by the server.
    late: Mapped[bool]
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=now_utc)

    measure: Mapped[Measure] = relationship(back_populates="done")
    recorded_by: Mapped[User] = relationship()


class Visit(db.Model):
    """A visit to a household (走访, 回访), at home or by phone: what was found, and whether a risk was."""

    __tablename__ = "visit"
    __table_args__ = (
        sa.CheckConstraint("corrects_id IS NULL OR correction_reason <> ''", name="correction_has_reason"),
        sa.Index("ix_visit_household_visited_on", "household_id", "visited_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"))
    visited_on: Mapped[date]
    kind: Mapped[VisitKind] = mapped_column(_enum(VisitKind, "visit_kind"))
    findings: Mapped[str] = mapped_column(sa.String(2000))
    risk_found: Mapped[bool]
    #: Received more than 7 days after visited_on, set by the server: shown wherever the visit is.
    late: Mapped[bool]
    #: The key the officer's phone gave the record when it was typed (its queue sends it again with
    #: the same key until answered), so a record sent twice is kept once.
    client_key: Mapped[str | None] = mapped_column(sa.String(64), unique=True)
    #: The phone's clock when the record was typed, as the phone said: kept beside the server's, never trusted.
    device_recorded_at: Mapped[datetime | None]
    corrects_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visit.id"), unique=True)
    correction_reason: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=now_utc)

    household: Mapped[Household] = relationship()
    recorded_by: Mapped[User] = relationship()


class DeclaredIncome(db.Model):
    """One source of a household's income (or a deductible expense) over a period, as an officer recorded it.

    The counter's own income is not declared: it comes from the ledger. Declared business income
    is what the household earned besides its sales through the counter.
    """

    __tablename__ = "declared_income"
    __table_args__ = (
        sa.CheckConstraint("amount_fen >= 0", name="amount_not_negative"),
        sa.CheckConstraint("period_end >= period_start", name="period_in_order"),
        sa.CheckConstraint("corrects_id IS NULL OR correction_reason <> ''", name="correction_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"), index=True)
    #: The visit at which it was recorded, when there was one.
    visit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("visit.id"))
    source: Mapped[IncomeSource] = mapped_column(_enum(IncomeSource, "income_source"))
    #: The whole household's amount for the period (not per person), in fen.
    amount_fen: Mapped[int] = mapped_column(sa.BigInteger)
    period_start: Mapped[date]
    period_end: Mapped[date]
    #: How the figure was checked: a pay slip, a bank book, the household's word…
    how_checked: Mapped[str] = mapped_column(sa.String(200))
    corrects_id: Mapped[int | None] = mapped_column(sa.ForeignKey("declared_income.id"), unique=True)
    correction_reason: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    recorded_by_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=now_utc)

    household: Mapped[Household] = relationship()
    recorded_by: Mapped[User] = relationship()


class RiskProposal(db.Model):
    """An officer's proposal that a monitored household's risk is eliminated (风险消除), with its evidence frozen."""

    __tablename__ = "risk_proposal"

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"), index=True)
    note: Mapped[str] = mapped_column(sa.String(1000), default="")
    #: The evidence gathered when it was proposed, as JSON: the six months against the line, the
    #: plan's measures, the last visit. Frozen, so what the town and county approve is what was shown.
    evidence: Mapped[str] = mapped_column(sa.Text)
    proposed_by_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id"))
    proposed_at: Mapped[datetime] = mapped_column(default=now_utc)

    household: Mapped[Household] = relationship()
    proposed_by: Mapped[User] = relationship()
    steps: Mapped[list["RiskStep"]] = relationship(back_populates="proposal", order_by="RiskStep.id")


class RiskStep(db.Model):
    """A step on a risk-elimination proposal: the town agreed, the county approved, or either returned it."""

    __tablename__ = "risk_step"
    __table_args__ = (
        sa.CheckConstraint("step <> 'returned' OR reason <> ''", name="return_has_reason"),
        sa.CheckConstraint("(step = 'approved') = (status_id IS NOT NULL)", name="approval_records_status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("risk_proposal.id"), index=True)
    step: Mapped[ProposalStep] = mapped_column(_enum(ProposalStep, "proposal_step"))
    reason: Mapped[str] = mapped_column(sa.String(500), default="")
    #: The household's status change an approval recorded.
    status_id: Mapped[int | None] = mapped_column(sa.ForeignKey("household_status.id"), unique=True)
    by_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id"))
    at: Mapped[datetime] = mapped_column(default=now_utc)

    proposal: Mapped[RiskProposal] = relationship(back_populates="steps")
    by: Mapped[User] = relationship()


class EndedSession(db.Model):
    """A staff session signed out for good: a replayed copy of its cookie is refused.

    Looked up by the session's nonce on every staff request, so by primary key: the audit trail
    keeps the sign-out too, but finding it there means scanning the user's whole history.
    """

    __tablename__ = "ended_session"

    #: The random nonce the session drew at sign-in (shop.web.auth).
    nonce: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("app_user.id"), index=True)
    ended_at: Mapped[datetime] = mapped_column(default=now_utc)


class AuditEvent(db.Model):
    """One state-changing staff action (or a view of full personal data): who, when, what, before and after.

    Append-only like the ledger: database triggers refuse UPDATE and DELETE.
    Values are JSON text, with personal data masked; nothing here is secret.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        sa.Index("ix_audit_event_entity", "entity", "entity_id"),
        sa.Index("ix_audit_event_at", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=now_utc)
    #: Who did it; empty for the system (a webhook, a command run from cron).
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id"), index=True)
    #: What was done: insert, update, delete, view_personal_data, sign_in, …
    action: Mapped[str] = mapped_column(sa.String(40))
    #: The table and row it was done to.
    entity: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[str] = mapped_column(sa.String(40), default="")
    before: Mapped[str] = mapped_column(sa.Text, default="")
    after: Mapped[str] = mapped_column(sa.Text, default="")

    actor: Mapped[User | None] = relationship()


class Heartbeat(db.Model):
    """One row /healthz writes in place: proof that the database takes writes, with no history kept."""

    __tablename__ = "heartbeat"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: When a health check last wrote it.
    beat_at: Mapped[datetime] = mapped_column(default=now_utc)


class LedgerCheckpoint(db.Model):
    """A signed tree head of the household ledger: its first `seq` entries, as the bureau can keep them.

    Append-only like the ledger. The signature covers shop.ledger.signing.message(seq, root, signed_at).
    """

    __tablename__ = "ledger_checkpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The tree's size: the checkpoint covers entries 1..seq.
    seq: Mapped[int] = mapped_column(unique=True)
    #: The RFC 9162 Merkle tree hash of those entries' hashes, in hex.
    root: Mapped[str] = mapped_column(sa.String(64))
    #: When it was signed (UTC, to the second).
    signed_at: Mapped[datetime]
    #: Which published key signed it (LedgerKey.key_id).
    key_id: Mapped[str] = mapped_column(sa.String(16))
    #: The Ed25519 signature, base64.
    signature: Mapped[str] = mapped_column(sa.String(100))


class LedgerTreeNode(db.Model):
    """A perfect subtree of the ledger's Merkle tree, kept so a checkpoint hashes only what is new.

    Only levels from shop.ledger.checkpoints.STORED_LEVEL up are kept; the levels below are
    rebuilt from the entries of one block. Append-only.
    """

    __tablename__ = "ledger_tree_node"

    #: The subtree's height: it covers 2**level entries.
    level: Mapped[int] = mapped_column(sa.SmallInteger, primary_key=True, autoincrement=False)
    #: Its place at that height: it starts at entry node_index * 2**level + 1.
    node_index: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    #: Its hash, in hex.
    hash: Mapped[str] = mapped_column(sa.String(64))


class LedgerKey(db.Model):
    """A public key that signs checkpoints, published with its id so old checkpoints verify after a rotation."""

    __tablename__ = "ledger_key"

    #: The first 16 hex digits of SHA-256 of the raw public key.
    key_id: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    #: The raw 32-byte Ed25519 public key, base64.
    public_key: Mapped[str] = mapped_column(sa.String(64))
    #: When it first signed.
    first_used: Mapped[datetime] = mapped_column(default=now_utc)


class HouseholdLink(db.Model):
    """The address of a household's own page: a secret token, looked up by its digest, printed from its sealed copy.

    A household has at most one live link (revoked_at empty). Replacing a link revokes the old one
    in the same transaction; rows are kept, so who issued and who revoked each link stays on record.
    """

    __tablename__ = "household_link"
    __table_args__ = (
        sa.CheckConstraint("(revoked_at IS NULL) = (revoked_by_id IS NULL)", name="revoked_with_whom"),
        # At most one live link per household, whatever the code does.
        sa.Index(
            "uq_household_link_live",
            "household_id",
            unique=True,
            sqlite_where=sa.text("revoked_at IS NULL"),
            postgresql_where=sa.text("revoked_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"), index=True)
    #: SHA-256 (hex) of the token in the address: what a visit is looked up by.
    token_digest: Mapped[str] = mapped_column(sa.String(64), unique=True)
    #: The token itself, sealed (shop.sealing): printed again on slips and cards, unreadable in a copied database.
    token: Mapped[str] = mapped_column(Sealed())
    created_at: Mapped[datetime] = mapped_column(default=now_utc)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id"))
    revoked_at: Mapped[datetime | None]
    revoked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id"))

    household: Mapped[Household] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    revoked_by: Mapped[User | None] = relationship(foreign_keys=[revoked_by_id])


class HouseholdPageViews(db.Model):
    """How many times a link's page was opened on a day: a count, and nothing about who opened it."""

    __tablename__ = "household_page_views"

    link_id: Mapped[int] = mapped_column(sa.ForeignKey("household_link.id"), primary_key=True)
    #: The business day (Asia/Shanghai).
    day: Mapped[date] = mapped_column(primary_key=True)
    views: Mapped[int] = mapped_column(default=0)


class PayoutDispute(db.Model):
    """A household's word that it did not receive a payout (这笔钱我没收到), and the staff's answer.

    One per payout. The manager, the household's officer and its town's supervisor see it until it is answered.
    """

    __tablename__ = "payout_dispute"
    __table_args__ = (
        sa.CheckConstraint(
            "(answered_at IS NULL) = (answered_by_id IS NULL) AND (answered_at IS NULL OR answer <> '')",
            name="answer_complete",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payout_id: Mapped[int] = mapped_column(sa.ForeignKey("payout.id"), unique=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"), index=True)
    #: Raised from the household's page, through this link.
    link_id: Mapped[int] = mapped_column(sa.ForeignKey("household_link.id"))
    raised_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: What the household added, if anything: one short line.
    note: Mapped[str] = mapped_column(sa.String(200), default="")
    answered_at: Mapped[datetime | None]
    answered_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id"))
    answer: Mapped[str] = mapped_column(sa.String(500), default="")

    payout: Mapped[Payout] = relationship()
    household: Mapped[Household] = relationship()
    answered_by: Mapped[User | None] = relationship()


class LedgerClosing(db.Model):
    """A closing of the ledger's months: every month up to `month` summed per household through entry `through_seq`.

    Append-only. Each closing adds the household-months it summed (ClosedHouseholdMonth): for the
    months it closes first, every entry dated in them up to `through_seq`; for months an earlier
    closing closed, only the entries written into them since (seq above that closing's through_seq).
    So the rows of a household-month add up to its entries up to the latest closing's through_seq.
    """

    __tablename__ = "ledger_closing"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The first day of the last month closed: it and every month before it are closed.
    month: Mapped[date]
    #: The chain's head when the months were summed: later entries are read from the ledger.
    through_seq: Mapped[int] = mapped_column(sa.BigInteger)
    closed_at: Mapped[datetime] = mapped_column(default=now_utc)
    #: Who closed, or None when cron did (`flask ledger close-month`).
    closed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("app_user.id"))


class ClosedHouseholdMonth(db.Model):
    """A household's month as one closing summed it from the ledger; a month's rows add up over closings.

    Append-only; `flask ledger verify` recomputes every closed household-month from the ledger.
    """

    __tablename__ = "closed_household_month"
    __table_args__ = (sa.Index("ix_closed_household_month_month_household", "month", "household_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    closing_id: Mapped[int] = mapped_column(sa.ForeignKey("ledger_closing.id"), index=True)
    household_id: Mapped[int] = mapped_column(sa.ForeignKey("household.id"))
    #: The first day of the month the entries are dated in.
    month: Mapped[date]
    credited_fen: Mapped[int] = mapped_column(sa.BigInteger)
    reversed_fen: Mapped[int] = mapped_column(sa.BigInteger)
    adjusted_fen: Mapped[int] = mapped_column(sa.BigInteger)  # signed
    paid_out_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: credited − reversed ± adjusted: the month's net income, as the year report sums it.
    income_fen: Mapped[int] = mapped_column(sa.BigInteger)
    #: How many entries were summed, and how many of them income (credits, reversals, adjustments).
    entries: Mapped[int]
    income_entries: Mapped[int]
    #: The highest seq among the entries summed.
    last_seq: Mapped[int] = mapped_column(sa.BigInteger)
