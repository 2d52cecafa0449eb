"""The JSON API's bodies as pydantic models: what each route accepts, and what it answers.

Request models validate strictly (wrong types are errors, not coerced; unknown fields are refused).
Response models are what the views fill in and serialise, so the answer and the OpenAPI document
(shop/web/openapi.py) come from one description and cannot drift apart.
"""

import re
from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    RootModel,
    StringConstraints,
    WithJsonSchema,
)
from pydantic_core import PydanticCustomError

from shop.ledger.chain import EntryKind
from shop.models import (
    COUNTER_METHODS,
    Fulfilment,
    HouseholdCategory,
    HouseholdField,
    MonitoringStatus,
    MonitorSubtype,
    MovementKind,
    OrderPayment,
    PaymentMethod,
    ProductCategory,
    RefusedOutcome,
    Role,
    SettlementMode,
    WriteOffReason,
)
from shop.money import MAX_FEN
from shop.plain_text import MANY_LINES, ONE_LINE
from shop.selling import sales
from shop.selling.order_flow import OrderStatus
from shop.stock import lots
from shop.units import Unit
from shop.worklog.incomes import MAX_AMOUNT_FEN, MAX_HOW_CHECKED
from shop.worklog.rules import IncomeSource, MeasureKind, VisitKind
from shop.worklog.visits import MAX_INCOME_LINES

# ---------------------------------------------------------------- what the API accepts


def Text(max_length: int, min_length: int = 0, pattern: str = ONE_LINE):
    """A string field, trimmed, within these lengths and free of control characters."""
    return Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=min_length, max_length=max_length, pattern=pattern),
    ]


Id = Annotated[int, Field(gt=0, le=2**31 - 1)]

#: RFC 3339 with its offset, as the till writes it: 2026-12-03T23:59:00.000+08:00 (or Z for UTC).
RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})", re.ASCII)


def _instant(text: str) -> datetime:
    """An RFC 3339 instant with its offset; anything else (no offset, a 13th month) is a field error."""
    try:
        if RFC3339.fullmatch(text):
            return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    raise PydanticCustomError("instant_format", "not an RFC 3339 instant with its offset")


#: An instant with its UTC offset.
Instant = Annotated[
    str,
    StringConstraints(max_length=40),
    AfterValidator(_instant),
    WithJsonSchema({"type": "string", "format": "date-time", "maxLength": 40}),
]


class Body(BaseModel):
    """A JSON body: exact types, no unknown fields."""

    # defer_build: a model's validator is built when a request first needs it, so a worker that
    # serves only pages holds none of them (about 0.6 MiB for all the API's models).
    model_config = ConfigDict(strict=True, extra="forbid", defer_build=True)


class Credentials(Body):
    username: Text(40)
    password: Annotated[str, StringConstraints(max_length=200)]


class NewProduct(Body):
    sku: Text(40, 1)
    name: Text(100, 1)
    unit: Unit
    price_fen: Annotated[int, Field(ge=0, le=MAX_FEN)]
    price_per: Annotated[int, Field(gt=0, le=1_000_000)]
    name_en: Text(100) = ""
    category: ProductCategory = ProductCategory.OTHER
    description_zh: Text(2000, pattern=MANY_LINES) = ""
    description_en: Text(2000, pattern=MANY_LINES) = ""
    cert_no: Text(60) | None = None
    cert_issuer: Text(100) | None = None
    cert_expires_on: date | None = None


def _no_defaults(schema: dict) -> None:
    """A part left out is unset, and null is refused: the schema names no default for any part."""
    for part in schema["properties"].values():
        part.pop("default", None)


class ProductEdit(Body):
    """The parts of a product to change; a part left out stays as it is (null is no value for any of them)."""

    model_config = ConfigDict(json_schema_extra=_no_defaults)

    # The None defaults are never validated: a part sent as null is refused, one left out is unset.
    name: Text(100, 1) = None
    price_fen: Annotated[int, Field(ge=0, le=MAX_FEN)] = None
    price_per: Annotated[int, Field(gt=0, le=1_000_000)] = None
    active: bool = None


class NewHousehold(Body):
    code: Text(32, 1)
    head_name: Text(50, 1)
    town: Text(40, 1)
    village: Text(60, 1)
    members: Annotated[int, Field(gt=0, le=50)]
    category: HouseholdCategory
    officer: Text(40, 1)
    monitor_subtype: MonitorSubtype | None = None
    #: A mainland mobile number, ASCII digits only.
    phone: Text(11, pattern=r"^1[3-9][0-9]{9}$") | None = None


#: A mainland mobile number (ASCII digits only), or "" to remove the household's number.
PhoneOrNone = Annotated[str, StringConstraints(strip_whitespace=True, max_length=11, pattern=r"^(1[3-9][0-9]{9})?$")]


class HouseholdEdit(Body):
    """The parts of a household's record to change; a part left out (or null) stays as it is."""

    head_name: Text(50, 1) | None = None
    members: Annotated[int, Field(gt=0, le=50)] | None = None
    phone: PhoneOrNone | None = None
    #: A town needs its village named too; a village alone stays in the household's town.
    town: Text(40, 1) | None = None
    village: Text(60, 1) | None = None
    officer: Text(40, 1) | None = None
    reason: Text(500, pattern=MANY_LINES) = ""


class NewStatus(Body):
    category: HouseholdCategory
    monitoring_status: MonitoringStatus | None = None
    monitor_subtype: MonitorSubtype | None = None
    effective_on: date
    reason: Text(500, 1, pattern=MANY_LINES)


class NewLot(Body):
    product_id: Id
    household_id: Id
    quantity: Annotated[int, Field(gt=0, le=lots.MAX_LOT_QTY)]
    best_before: date
    mode: SettlementMode
    share_bp: Annotated[int, Field(ge=0, le=10_000)] | None = None
    purchase_price_fen: Annotated[int, Field(ge=0, le=MAX_FEN)] | None = None
    counter_id: Id | None = None


Quantity = Annotated[int, Field(gt=0, le=lots.MAX_LOT_QTY)]


class SaleLineIn(Body):
    product_id: Id
    quantity: Quantity


#: The schema names only what a counter takes; "stripe" is refused by the sale itself, with its own message.
CounterPayment = Annotated[
    PaymentMethod, WithJsonSchema({"type": "string", "enum": [m.value for m in COUNTER_METHODS]}, mode="validation")
]


class NewSale(Body):
    #: Made by the till (a UUID, say); the same key sent again replays the sale.
    idempotency_key: Text(64, 8, pattern=r"^[A-Za-z0-9_.:-]+$")
    payment_method: CounterPayment
    lines: Annotated[list[SaleLineIn], Field(min_length=1, max_length=sales.MAX_LINES)]
    #: Cash only: what the buyer handed over, so the receipt shows the change.
    tendered_fen: Annotated[int, Field(ge=0, le=MAX_FEN)] | None = None
    #: The counter sold at: the manager's choice; a clerk may name only their own.
    counter_id: Id | None = None
    #: When the till rang the sale up: it is priced and dated by this moment, however late it syncs.
    sold_at: Instant | None = None


class RefusedSaleIn(Body):
    """How a clerk settled a queued sale the server refused: the sale as the till sent it, and the outcome."""

    #: The refused sale's own key: a settlement sent again is recorded once.
    idempotency_key: Text(64, 8, pattern=r"^[A-Za-z0-9_.:-]+$")
    lines: Annotated[list[SaleLineIn], Field(min_length=1, max_length=sales.MAX_LINES)]
    payment_method: PaymentMethod
    #: What the till computed and the buyer paid; the server never priced this sale.
    taken_fen: Annotated[int, Field(ge=0, le=MAX_FEN)]
    tendered_fen: Annotated[int, Field(ge=0, le=MAX_FEN)] | None = None
    #: The server's words when it refused the sale.
    refused_error: Text(300, 1)
    #: When the till rang the sale up, with its offset (the till sends UTC, "…Z").
    rung_up_at: AwareDatetime
    outcome: RefusedOutcome
    #: Sold again: the new sale's idempotency key.
    resold_key: Annotated[str, StringConstraints(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")] | None = (
        None
    )
    note: Text(200) = ""
    counter_id: Id | None = None


class RefundLineIn(Body):
    line_id: Id
    quantity: Quantity


class NewRefund(Body):
    #: Made by the till; the same key sent again replays the refund instead of refunding twice.
    idempotency_key: Text(64, 8, pattern=r"^[A-Za-z0-9_.:-]+$")
    lines: Annotated[list[RefundLineIn], Field(min_length=1, max_length=sales.MAX_LINES)]
    restock: bool
    note: Text(200) = ""


class NewWriteOff(Body):
    quantity: Quantity
    reason: WriteOffReason
    note: Text(200) = ""


class NewReturn(Body):
    quantity: Quantity
    note: Text(200) = ""


class NewTransfer(Body):
    to_counter_id: Id
    quantity: Quantity
    note: Text(200) = ""


class CountIn(Body):
    lot_id: Id
    counted: Annotated[int, Field(ge=0, le=lots.MAX_LOT_QTY)]
    #: What the lot held when counting began; a sale since then makes the count stale (409).
    expected: Annotated[int, Field(ge=0, le=lots.MAX_LOT_QTY)] | None = None


class NewStocktake(Body):
    counts: Annotated[list[CountIn], Field(min_length=1, max_length=500)]
    note: Text(200) = ""


class ContactIn(Body):
    name: Text(50, 1)
    #: A mainland mobile number, ASCII digits only.
    phone: Text(11, pattern=r"^1[3-9][0-9]{9}$")


class NewOrder(Body):
    lines: Annotated[list[SaleLineIn], Field(min_length=1, max_length=sales.MAX_LINES)]
    contact: ContactIn
    fulfilment: Fulfilment
    address: Text(300) = ""
    payment: OrderPayment
    #: Where a pickup is collected (or a delivery ships from); by default the first counter (for a
    #: delivery, the first holding the whole basket).
    counter_id: Id | None = None


# ---------------------------------------------------------------- what the API reads from the query string


class CounterChoice(BaseModel):
    #: The manager's choice of counter; a clerk may name only their own.
    counter_id: Annotated[int, Field(gt=0, le=2**31 - 1)] | None = None


class HouseholdQuery(BaseModel):
    #: Text in a household's code, head's name or village, taken literally.
    q: Annotated[str, StringConstraints(max_length=100)] = ""
    #: At most this many households (20 at most, whatever is asked).
    limit: int = 20


class Period(BaseModel):
    start: date | None = Field(None, alias="from")
    end: date | None = Field(None, alias="to")


class MonthChoice(BaseModel):
    month: Annotated[str, StringConstraints(pattern=r"^\d{4}-\d{2}$")]


# ---------------------------------------------------------------- what the API answers


def _utc(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds") + "Z"


#: A stored naive-UTC instant, written as ISO 8601 with its zone: 2026-12-03T15:59:00Z.
UtcInstant = Annotated[
    datetime,
    PlainSerializer(_utc, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}, mode="serialization"),
]


class Answer(BaseModel):
    """A response body: exactly these keys (a key with a default is sent only when set)."""

    # defer_build: as for Body, built when first answered with or described in the OpenAPI document.
    model_config = ConfigDict(extra="forbid", defer_build=True)


class ErrorDetail(Answer):
    #: A stable word for programs: invalid, not_found, conflict, csrf_failed, …
    code: str
    #: For people, in the chosen language.
    message: str
    #: The fields at fault and what is wrong with each ("body" for the body as a whole).
    fields: dict[str, str]


class ErrorBody(Answer):
    """Every error the API answers: 4xx and 5xx alike (shop.web.responses.json_error)."""

    error: ErrorDetail


class SessionUser(Answer):
    username: str
    role: Role


class SessionState(Answer):
    user: SessionUser | None
    #: Send it back in the X-CSRFToken header with every write.
    csrf_token: str


class Created(Answer):
    id: int


class CatalogEntry(Answer):
    id: int
    sku: str
    name: str
    name_en: str
    category: ProductCategory
    unit: Unit
    #: The price of `price_per` units (grams or pieces), in fen.
    price_fen: int
    price_per: int
    #: What an online buyer may order now.
    available: int


class Catalog(RootModel[list[CatalogEntry]]):
    pass


class PriceRow(Answer):
    price_fen: int
    price_per: int
    valid_from: UtcInstant
    set_by: str | None


class ProductDetail(Answer):
    id: int
    sku: str
    name: str
    unit: Unit
    price_fen: int
    price_per: int
    active: bool
    #: Newest first.
    prices: list[PriceRow]


class HouseholdRow(Answer):
    id: int
    code: str
    head_name_masked: str
    town: str
    village: str
    members: int
    category: HouseholdCategory
    monitor_subtype: MonitorSubtype | None
    monitoring_status: MonitoringStatus | None
    officer: str | None


class HouseholdList(RootModel[list[HouseholdRow]]):
    pass


class HouseholdFound(HouseholdRow):
    #: Only for staff who receive goods, and an officer's own households.
    head_name: str | None = None


class HouseholdsFound(RootModel[list[HouseholdFound]]):
    pass


class StatusRow(Answer):
    category: HouseholdCategory
    monitor_subtype: MonitorSubtype | None
    monitoring_status: MonitoringStatus | None
    effective_on: date
    reason: str
    recorded_by: str | None


class ChangeRow(Answer):
    field: HouseholdField
    #: Names and phones masked.
    before: str
    after: str
    reason: str
    source: str
    changed_by: str | None
    changed_at: UtcInstant


class HouseholdDetail(HouseholdRow):
    #: Oldest first.
    status_history: list[StatusRow]
    #: Oldest first.
    changes: list[ChangeRow]


class HouseholdHead(Answer):
    id: int
    code: str
    head_name: str


class Movement(Answer):
    id: int
    lot_id: int
    kind: MovementKind
    qty_delta: int
    counted_qty: int | None
    reason: WriteOffReason | None


class Movements(Answer):
    movements: list[Movement]


class MovedLot(Answer):
    """The new lot at the counter the goods were moved to."""

    id: int
    counter_id: int
    quantity: int


class TillProduct(Answer):
    id: int
    sku: str
    name: str
    name_en: str
    unit: Unit
    price_fen: int
    price_per: int
    #: On sale at this counter.
    available: int


class TillCatalog(RootModel[list[TillProduct]]):
    pass


class Draw(Answer):
    lot_id: int
    household_id: int
    quantity: int
    amount_fen: int
    credit_fen: int


class SaleLine(Answer):
    id: int
    product_id: int
    quantity: int
    amount_fen: int
    draws: list[Draw]


class SaleBody(Answer):
    id: int
    number: str
    total_fen: int
    payment_method: PaymentMethod
    tendered_fen: int | None
    change_fen: int | None
    sold_on: date
    sold_at: UtcInstant
    lines: list[SaleLine]


class Reversal(Answer):
    draw_id: int
    lot_id: int
    household_id: int
    quantity: int
    amount_fen: int
    credit_fen: int


class RefundLine(Answer):
    line_id: int
    quantity: int
    amount_fen: int
    reversals: list[Reversal]


class RefundBody(Answer):
    id: int
    sale_id: int
    amount_fen: int
    restock: bool
    lines: list[RefundLine]


class SaleWithRefunds(SaleBody):
    refunded_fen: int
    refunds: list[RefundBody]


class RefusedSaleSettled(Answer):
    id: int
    idempotency_key: str
    outcome: RefusedOutcome
    counter_id: int
    rung_up_on: date
    settled_at: UtcInstant


class StripeIntent(Answer):
    payment_intent_id: str
    client_secret: str


class OrderPlaced(Answer):
    id: int
    counter_id: int
    #: The order's link: GET /api/orders/{token}.
    token: str
    number: str
    total_fen: int
    status: OrderStatus
    expires_at: UtcInstant
    #: Stripe orders only; null when Stripe could not be asked (pay again from the order's page).
    stripe: StripeIntent | None = None
    #: Why `stripe` is null.
    payment_error: str | None = None


class OrderContact(Answer):
    name: str
    phone_masked: str


class OrderLine(Answer):
    product_id: int
    name: str
    quantity: int
    amount_fen: int


class OrderBody(Answer):
    id: int
    number: str
    status: OrderStatus
    total_fen: int
    refunded_fen: int
    expires_at: UtcInstant
    fulfilment: Fulfilment
    payment: OrderPayment
    contact: OrderContact
    lines: list[OrderLine]


class LedgerEntry(Answer):
    seq: int
    date: date
    kind: EntryKind
    #: Positive, except for a correction, which is signed.
    amount_fen: int
    draw_id: int | None
    lot_id: int | None
    draw_reversal_id: int | None
    payout_id: int | None
    adjustment_id: int | None
    category: HouseholdCategory
    monitoring_status: MonitoringStatus | None
    hash: str


class LedgerPeriod(Answer):
    entries: list[LedgerEntry]
    credited_fen: int
    reversed_fen: int
    paid_out_fen: int
    adjusted_fen: int
    #: At the period's end.
    balance_fen: int


# ---------------------------------------------------------------- the officers' work ledger


class NewMeasure(Body):
    kind: MeasureKind
    title: Text(200, 1)
    due_on: date
    #: An industry measure about selling through the counter: the household's credits are its evidence.
    sells_through_counter: bool = False


class MeasureTickedOff(Body):
    done_on: date
    evidence: Text(1000, 1, pattern=MANY_LINES)


class VisitIncomeLine(Body):
    """One source of the household's income (or a deducted cost) over a period, declared at the visit."""

    source: IncomeSource
    #: The whole household's amount for the period, in fen; the medical, education and other costs are deducted.
    amount_fen: Annotated[int, Field(ge=0, le=MAX_AMOUNT_FEN)]
    period_start: date
    period_end: date
    #: How the figure was checked: a pay slip, a bank book, the household's word.
    how_checked: Text(MAX_HOW_CHECKED, 1)


class NewVisit(Body):
    visited_on: date
    kind: VisitKind
    findings: Text(2000, 1, pattern=MANY_LINES)
    risk_found: bool
    #: The key the phone's queue gave the record: the same record sent again is kept once.
    client_key: Text(64, 8, pattern=r"^[A-Za-z0-9_.:-]+$") | None = None
    #: The phone's clock when the record was typed, with its offset; kept beside the server's time.
    device_recorded_at: Instant | None = None
    #: The household's income by source at this visit: recorded with the visit, all or nothing.
    income: Annotated[list[VisitIncomeLine], Field(max_length=MAX_INCOME_LINES)] = []


class VisitCreated(Answer):
    id: int
    #: Recorded more than 7 days after visited_on: kept, and shown as late.
    late: bool


class MeasureRow(Answer):
    id: int
    kind: MeasureKind
    title: str
    starts_on: date
    due_on: date
    status: Literal["open", "done"]
    done_on: date | None
    evidence: str | None
    #: The tick-off was recorded more than 7 days after done_on.
    done_late: bool | None
    recorded_at: UtcInstant
    sells_through_counter: bool
    #: For a measure about selling through the counter: the household's net credits over its period, from the ledger.
    counter_fen: int | None
    #: The measure this one corrects, and why.
    corrects_id: int | None
    correction_reason: str
    #: The newer measure that replaced this one: a corrected measure no longer counts.
    corrected_by: int | None


class VisitRow(Answer):
    id: int
    visited_on: date
    kind: VisitKind
    findings: str
    risk_found: bool
    recorded_at: UtcInstant
    #: The phone's clock when it was typed, as the phone said.
    device_recorded_at: UtcInstant | None
    late: bool
    corrects_id: int | None
    correction_reason: str
    corrected_by: int | None


class Worklog(Answer):
    measures: list[MeasureRow]
    visits: list[VisitRow]
    #: When the next visit is due under the schedule; null when none is scheduled.
    next_visit_due: date | None


class OverdueMeasureRow(Answer):
    id: int
    household_id: int
    kind: MeasureKind
    title: str
    due_on: date


class VisitDueRow(Answer):
    household_id: int
    next_visit_due: date


class Overdue(Answer):
    measures: list[OverdueMeasureRow]
    visits_due: list[VisitDueRow]


class WarningRow(Answer):
    household_id: int
    code: str
    #: Which rules the household meets: "counter_drop", "below_line".
    rules: list[str]
    #: The counter's net income over the last 30 days, and its average per 30 days over the baseline before.
    last_30_fen: int
    baseline_average_fen: int
    #: The last complete month, and the whole income per person in it (null: nothing declared for it).
    month: date
    whole_per_capita_fen: int | None
    line_share_fen: int


class Warnings(Answer):
    """Early warnings: evidence for an officer to look into, not a verdict."""

    warnings: list[WarningRow]


class HouseholdPageLink(Answer):
    """The address of a household's own page: public, unguessable, replaced by the next one issued."""

    url: str


class HouseholdPageLinkRevoked(Answer):
    """The household's link was revoked: its address answers 404 from now on."""

    household_id: int
    revoked: bool


class NewHouseholdPageLink(Body):
    """Nothing to say: `{}`. A new link is made at random and replaces the household's old one."""
