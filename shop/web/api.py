"""The JSON API under /api (its contract: GET /api/openapi.json, from the models in shop/web/api_models.py).

Each view parses its body with a strict schema (wrong types are errors, not
coerced), calls one use case, and turns domain errors into the agreed
`{"error": {"code", "message", "fields"}}` body.
"""

from __future__ import annotations  # the models' names in signatures load nothing

from datetime import date

from flask import Blueprint, abort, current_app, jsonify, request
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import generate_csrf

from shop import audit
from shop.catalog import pricing, products
from shop.clock import business_today
from shop.ledger import entries as credits
from shop.models import Fulfilment, Household, OrderPayment, Role, Sale
from shop.oversight import household_pages, statement_pdf
from shop.oversight.monitoring import InvalidMonth, month_start, parse_month
from shop.oversight.statements import month_statement
from shop.selling import orders, payments, refused_sales, sales
from shop.staff import accounts
from shop.stock import lots
from shop.stock.counters import working_counter
from shop.villages import households
from shop.web.access import public, roles_required, signed_in_user
from shop.web.json_bodies import answer, models, parse
from shop.web.openapi import documented, openapi_document
from shop.web.responses import json_error, takes_idempotency_key
from shop.web.sessions import end_session, login_throttle, start_session
from shop.web.urls import household_page_url, own_page_url, statement_url

bp = Blueprint("api", __name__, url_prefix="/api")


@bp.get("/openapi.json")
@documented(answers={200: dict})
@public
def openapi():
    """This API described as an OpenAPI 3.1 document, made from the models the views answer with."""
    return jsonify(openapi_document(current_app))


def session_user(user) -> models.SessionUser | None:
    """The signed-in user as the session endpoints show it."""
    if not user.is_authenticated:
        return None
    return models.SessionUser(username=user.username, role=user.role)


@bp.get("/session")
@documented(answers={200: "SessionState"})
@public
def get_session():
    """Who is signed in, and the CSRF token for this session's writes."""
    return answer(models.SessionState(user=session_user(current_user), csrf_token=generate_csrf()))


@bp.post("/session")
@documented(body="Credentials", answers={200: "SessionState"}, errors=(401, 429))
@public
@login_throttle
def post_session():
    """Sign in with a username and password."""
    credentials = parse(models.Credentials)
    user = accounts.authenticate(credentials.username, credentials.password)
    if user is None:  # accounts.authenticate has logged and audited the failure
        return json_error(401, "bad_credentials", _("Wrong username or password."))
    token = start_session(user)
    return answer(models.SessionState(user=session_user(user), csrf_token=token))


@bp.delete("/session")
@documented(answers={200: "SessionState"})
@public
def delete_session():
    """Sign out."""
    token = end_session()
    return answer(models.SessionState(user=None, csrf_token=token))


@bp.get("/products")
@documented(answers={200: "Catalog"})
@public
def list_products():
    """Every product on sale, with the grams or pieces available now."""
    entries = products.catalog(business_today())
    return answer(
        models.Catalog(
            [
                models.CatalogEntry(
                    id=e.product.id,
                    sku=e.product.sku,
                    name=e.product.name_zh,
                    name_en=e.product.name_en,
                    category=e.product.category,
                    unit=e.product.unit,
                    price_fen=e.product.price_fen,
                    price_per=e.product.price_per,
                    available=e.available,
                )
                for e in sorted(entries, key=lambda e: e.product.id)
            ]
        )
    )


@bp.post("/products")
@documented(body="NewProduct", answers={201: "Created"}, errors=(409,))
@roles_required(Role.ADMIN)
def create_product():
    """Add a product (counter manager)."""
    body = parse(models.NewProduct)
    fields = body.model_dump(exclude={"name"})
    product = products.create_product(name_zh=body.name, by=signed_in_user(), **fields)
    return answer(models.Created(id=product.id), 201)


@bp.patch("/products/<id:product_id>")
@documented(body="ProductEdit", answers={200: "ProductDetail"})
@roles_required(Role.ADMIN)
def edit_product(product_id):
    """Change a product's name, price or whether it is on sale (counter manager); a new price applies from now."""
    body = parse(models.ProductEdit)
    asked = body.model_dump(exclude_unset=True)
    if not asked:
        message = _("Name at least one part of the product to change.")
        return json_error(422, "invalid", message, {"body": message})
    if "name" in asked:
        asked["name_zh"] = asked.pop("name")
    product = products.update_product(product_id, by=signed_in_user(), **asked)
    return answer(product_detail(product))


def product_detail(product) -> models.ProductDetail:
    """A product as the manager sees it through the API, with its price history newest first."""
    return models.ProductDetail(
        id=product.id,
        sku=product.sku,
        name=product.name_zh,
        unit=product.unit,
        price_fen=product.price_fen,
        price_per=product.price_per,
        active=product.active,
        prices=[
            models.PriceRow(
                price_fen=row.price_fen,
                price_per=row.price_per,
                valid_from=row.valid_from,
                set_by=row.set_by.username if row.set_by else None,
            )
            for row in pricing.history_of(product.id)
        ],
    )


def household_fields(h: Household) -> dict:
    """A household as the list shows it, the head's name masked: the fields of a HouseholdRow."""
    return {
        "id": h.id,
        "code": h.code,
        "head_name_masked": h.head_name_masked,
        "town": h.village.town.name_zh,
        "village": h.village.name_zh,
        "members": h.members,
        "category": h.category,
        "monitor_subtype": h.monitor_subtype,
        "monitoring_status": h.monitoring_status,
        "officer": h.officer.username if h.officer else None,
    }


def household_detail(household_id: int) -> models.HouseholdDetail:
    """A household with its standings and the changes of its record, both oldest first."""
    statuses, changes = households.history_of(household_id)
    household = households.with_places([household_id])[household_id]
    return models.HouseholdDetail(
        **household_fields(household),
        status_history=[
            models.StatusRow(
                category=s.category,
                monitor_subtype=s.monitor_subtype,
                monitoring_status=s.monitoring_status,
                effective_on=s.effective_on,
                reason=s.note,
                recorded_by=s.recorded_by.username if s.recorded_by else None,
            )
            for s in statuses
        ],
        changes=[
            models.ChangeRow(
                field=c.field,
                before=c.before,
                after=c.after,
                reason=c.reason,
                source=c.source,
                changed_by=c.changed_by.username if c.changed_by else None,
                changed_at=c.changed_at,
            )
            for c in reversed(changes)
        ],
    )


@bp.get("/households")
@documented(answers={200: "HouseholdList"})
@roles_required(*Role)
def list_households():
    """The households the caller may see, names masked."""
    visible = households.list_visible(signed_in_user())
    return answer(models.HouseholdList([models.HouseholdRow(**household_fields(h)) for h in visible]))


@bp.get("/households/search")
@documented(query="HouseholdQuery", answers={200: "HouseholdsFound"})
@roles_required(*Role)
def search_households():
    """At most 20 households the caller may see whose code, head's name or village contains ?q=.

    It is the receiving form's picker: staff who receive goods (and an officer, their own
    households) get each head's full name as well, so that 周* and 周* can be told apart; the
    audit trail records who saw which households. Other callers get masks only.
    """
    user = signed_in_user()
    found = households.search_visible(user, request.args.get("q"), request.args.get("limit", 20, int))
    full = households.named_in_full(user, found, receiving=True)
    audit.personal_data_listed(Household.__tablename__, full, "head_name")
    rows = [
        models.HouseholdFound(**household_fields(h), **({"head_name": h.head_name} if h.id in full else {}))
        for h in found
    ]
    return answer(models.HouseholdsFound(rows))


@bp.get("/households/<id:household_id>")
@documented(answers={200: "HouseholdDetail"})
@roles_required(*Role)
def get_household(household_id):
    """One household the caller may see, with its status history and record changes; another's is 404."""
    households.visible_household(signed_in_user(), household_id)
    return answer(household_detail(household_id))


@bp.get("/households/<id:household_id>/head")
@documented(answers={200: "HouseholdHead"})
@roles_required(Role.ADMIN, Role.CLERK)
def household_head(household_id):
    """The head's full name, so a clerk can check who stands at the counter; each view goes to the audit trail."""
    household = households.visible_household(signed_in_user(), household_id)
    # PIPL: record who saw the name (never the name itself) before showing it.
    audit.personal_data_shown(Household.__tablename__, household.id, "head_name")
    return answer(models.HouseholdHead(id=household.id, code=household.code, head_name=household.head_name))


@bp.patch("/households/<id:household_id>")
@documented(body="HouseholdEdit", answers={200: "HouseholdDetail"})
@roles_required(Role.ADMIN)
def edit_household(household_id):
    """Change a household's record (counter manager); each change is kept in its history."""
    body = parse(models.HouseholdEdit)
    asked = body.model_dump(exclude_none=True, exclude={"reason"})
    if not asked:
        message = _("Name at least one part of the record to change.")
        return json_error(422, "invalid", message, {"body": message})
    households.visible_household(signed_in_user(), household_id)
    households.edit_household(
        household_id, by=signed_in_user(), source=households.FROM_API, reason=body.reason, **asked
    )
    return answer(household_detail(household_id))


@bp.post("/households/<id:household_id>/status")
@documented(body="NewStatus", answers={201: "HouseholdDetail"})
@roles_required(Role.ADMIN)
def record_household_status(household_id):
    """Record a household's new category or monitoring status from a date on (counter manager)."""
    body = parse(models.NewStatus)
    households.visible_household(signed_in_user(), household_id)
    households.record_status(household_id, **body.model_dump(), by=signed_in_user())
    return answer(household_detail(household_id), 201)


@bp.post("/households")
@documented(body="NewHousehold", answers={201: "Created"}, errors=(409,))
@roles_required(Role.ADMIN)
def create_household():
    """List a household (counter manager)."""
    body = parse(models.NewHousehold)
    household = households.create_household(**body.model_dump(), recorded_by=signed_in_user())
    return answer(models.Created(id=household.id), 201)


@bp.post("/lots")
@documented(body="NewLot", answers={201: "Created"})
@roles_required(Role.ADMIN, Role.CLERK)
def receive_lot():
    """Receive a lot from a household onto a counter's shelf."""
    body = parse(models.NewLot)
    terms = lots.settlement_terms(body.mode, body.share_bp, body.purchase_price_fen, lots.default_share_bp())
    lot = lots.receive_lot(
        product_id=body.product_id,
        household_id=body.household_id,
        quantity=body.quantity,
        best_before=body.best_before,
        terms=terms,
        received_by=signed_in_user(),
        today=business_today(),
        counter_id=body.counter_id,
    )
    return answer(models.Created(id=lot.id), 201)


@bp.post("/lots/<id:lot_id>/write-offs")
@documented(body="NewWriteOff", answers={201: "Movement"}, errors=(409,))
@roles_required(Role.ADMIN, Role.CLERK)
def write_off(lot_id):
    """Take spoiled, damaged or sample goods off a lot (报损)."""
    body = parse(models.NewWriteOff)
    movement = lots.write_off(
        lot_id=lot_id, quantity=body.quantity, reason=body.reason, note=body.note, by=signed_in_user()
    )
    return answer(movement_body(movement), 201)


@bp.post("/lots/<id:lot_id>/returns")
@documented(body="NewReturn", answers={201: "Movement"}, errors=(409,))
@roles_required(Role.ADMIN, Role.CLERK)
def return_goods(lot_id):
    """Give unsold consignment goods back to their household."""
    body = parse(models.NewReturn)
    movement = lots.return_to_household(lot_id=lot_id, quantity=body.quantity, note=body.note, by=signed_in_user())
    return answer(movement_body(movement), 201)


@bp.post("/lots/<id:lot_id>/transfers")
@documented(body="NewTransfer", answers={201: "MovedLot"}, errors=(409,))
@roles_required(Role.ADMIN, Role.CLERK)
def transfer_stock(lot_id):
    """Move part of a lot to another counter (调拨); the moved part becomes a new lot there."""
    body = parse(models.NewTransfer)
    moved = lots.transfer(
        lot_id=lot_id, to_counter_id=body.to_counter_id, quantity=body.quantity, note=body.note, by=signed_in_user()
    )
    return answer(models.MovedLot(id=moved.id, counter_id=moved.counter_id, quantity=moved.qty_on_hand), 201)


@bp.post("/stocktakes")
@documented(body="NewStocktake", answers={201: "Movements"}, errors=(409,))
@roles_required(Role.ADMIN, Role.CLERK)
def stocktake():
    """Record counted quantities and book the differences (盘点)."""
    body = parse(models.NewStocktake)
    counts = {c.lot_id: c.counted for c in body.counts}
    if len(counts) != len(body.counts):
        message = _("Each lot may be counted once.")
        return json_error(422, "invalid", message, {"counts": message})
    expected = {c.lot_id: c.expected for c in body.counts if c.expected is not None}
    movements = lots.stocktake(counts=counts, note=body.note, by=signed_in_user(), expected=expected)
    return answer(models.Movements(movements=[movement_body(m) for m in movements]), 201)


def movement_body(movement) -> models.Movement:
    """A stock movement as the API shows it."""
    return models.Movement(
        id=movement.id,
        lot_id=movement.lot_id,
        kind=movement.kind,
        qty_delta=movement.qty_delta,
        counted_qty=movement.counted_qty,
        reason=movement.reason,
    )


@bp.get("/counter/products")
@documented(query="CounterChoice", answers={200: "TillCatalog"}, errors=(404,))
@roles_required(Role.ADMIN, Role.CLERK)
def counter_products():
    """What the till sells: every active product with what is on sale at the caller's counter (or ?counter_id=)."""
    chosen = request.args.get("counter_id", type=int)
    if chosen is not None and not 0 < chosen < 2**31:
        return json_error(404, "not_found", _("No open counter has id %(id)s.", id=chosen))
    counter = working_counter(signed_in_user(), chosen)
    return jsonify([entry for _product, entry in products.till_catalog(counter.id)])


@bp.post("/counter/sales")
@documented(body="NewSale", answers={201: "SaleBody", 200: "SaleBody"}, errors=(409,))
@takes_idempotency_key
@roles_required(Role.ADMIN, Role.CLERK)
def record_sale():
    """Sell at the counter; the same idempotency key replays the sale instead of selling twice."""
    body = parse(models.NewSale)
    sale, created = sales.record_sale(
        idempotency_key=body.idempotency_key,
        payment_method=body.payment_method,
        lines=[sales.LineRequest(line.product_id, line.quantity) for line in body.lines],
        tendered_fen=body.tendered_fen,
        clerk=signed_in_user(),
        today=business_today(),
        counter_id=body.counter_id,
        sold_at=body.sold_at,
    )
    # Answered from the sale as written (or, for a replay, as read): no second read of a new sale.
    return answer(sale_body(sale), 201 if created else 200)


@bp.get("/counter/sales/<id:sale_id>")
@documented(answers={200: "SaleWithRefunds"})
@roles_required(Role.ADMIN, Role.CLERK)
def get_sale(sale_id):
    """A counter sale with its lines, draws and refunds."""
    sale = sales.sale_for(sale_id, signed_in_user())
    return answer(
        models.SaleWithRefunds(
            **sale_fields(sale),
            refunded_fen=sum(r.amount_fen for r in sale.refunds),
            refunds=[refund_body(r) for r in sale.refunds],
        )
    )


@bp.post("/counter/sales/<id:sale_id>/refunds")
@documented(body="NewRefund", answers={201: "RefundBody", 200: "RefundBody"}, errors=(409,))
@takes_idempotency_key
@roles_required(Role.ADMIN, Role.CLERK)
def refund_sale(sale_id):
    """Give money back for part or all of a sale, reversing the households' credits; the same key replays it."""
    body = parse(models.NewRefund)
    refund, created = sales.refund_sale(
        sale_id=sale_id,
        lines=[sales.RefundRequest(line.line_id, line.quantity) for line in body.lines],
        restock=body.restock,
        note=body.note,
        by=signed_in_user(),
        idempotency_key=body.idempotency_key,
    )
    return answer(refund_body(refund), 201 if created else 200)


@bp.post("/counter/refused-sales")
@documented(body="RefusedSaleIn", answers={201: "RefusedSaleSettled", 200: "RefusedSaleSettled"}, errors=(409,))
@roles_required(Role.ADMIN, Role.CLERK)
def settle_refused_sale():
    """Record how a queued sale the server refused was settled; the same key sent again records once."""
    body = parse(models.RefusedSaleIn)
    record, created = refused_sales.settle_refused_sale(
        refused_sales.Settlement(
            idempotency_key=body.idempotency_key,
            lines=[sales.LineRequest(line.product_id, line.quantity) for line in body.lines],
            payment_method=body.payment_method,
            taken_fen=body.taken_fen,
            tendered_fen=body.tendered_fen,
            refused_error=body.refused_error,
            rung_up_at=body.rung_up_at,
            outcome=body.outcome,
            resold_key=body.resold_key,
            note=body.note,
            counter_id=body.counter_id,
        ),
        by=signed_in_user(),
    )
    settled = models.RefusedSaleSettled(
        id=record.id,
        idempotency_key=record.idempotency_key,
        outcome=record.outcome,
        counter_id=record.counter_id,
        rung_up_on=record.rung_up_on,
        settled_at=record.settled_at,
    )
    return answer(settled, 201 if created else 200)


def sale_fields(sale: Sale) -> dict:
    """A sale in the shape the API promises, plus its frozen facts: the fields of a SaleBody."""
    return {
        "id": sale.id,
        "number": sale.number,
        "total_fen": sale.total_fen,
        "payment_method": sale.payment_method,
        "tendered_fen": sale.tendered_fen,
        "change_fen": None if sale.tendered_fen is None else sale.tendered_fen - sale.total_fen,
        "sold_on": sale.sold_on,
        "sold_at": sale.sold_at,
        "lines": [
            models.SaleLine(
                id=line.id,
                product_id=line.product_id,
                quantity=line.quantity,
                amount_fen=line.amount_fen,
                draws=[
                    models.Draw(
                        lot_id=d.lot_id,
                        household_id=d.household_id,
                        quantity=d.quantity,
                        amount_fen=d.amount_fen,
                        credit_fen=d.credit_fen,
                    )
                    for d in line.draws
                ],
            )
            for line in sale.lines
        ],
    }


def sale_body(sale: Sale | sales.SaleRecord) -> models.SaleBody:
    """A sale as a sale's POST answers it: without refunds, as they change."""
    return models.SaleBody(**sale_fields(sale))


def refund_body(refund) -> models.RefundBody:
    """A refund with the credit each household gives back."""
    return models.RefundBody(
        id=refund.id,
        sale_id=refund.sale_id,
        amount_fen=refund.amount_fen,
        restock=refund.restock,
        lines=[
            models.RefundLine(
                line_id=line.sale_line_id,
                quantity=line.quantity,
                amount_fen=line.amount_fen,
                reversals=[
                    models.Reversal(
                        draw_id=r.draw_id,
                        lot_id=r.draw.lot_id,
                        household_id=r.household_id,
                        quantity=r.quantity,
                        amount_fen=r.amount_fen,
                        credit_fen=r.credit_fen,
                    )
                    for r in line.reversals
                ],
            )
            for line in refund.lines
        ],
    )


@bp.post("/orders")
@documented(body="NewOrder", answers={201: "OrderPlaced"}, errors=(409, 429))
@public
@orders.order_throttle
def place_order():
    """Place an online order: its stock is reserved until it is paid or its hold lapses."""
    body = parse(models.NewOrder)
    if body.payment == OrderPayment.STRIPE and not payments.configured():
        message = _("Online payment is not available; choose to pay at pickup.")
        return json_error(422, "invalid", message, {"payment": message})
    if body.payment == OrderPayment.PAY_AT_PICKUP and body.fulfilment != Fulfilment.PICKUP:
        if not payments.configured():
            message = _("Delivery is paid online, and online payment is not available; choose pickup.")
            return json_error(422, "invalid", message, {"fulfilment": message})
        message = _('A delivery is paid online: choose payment "stripe", or pickup to pay at the counter.')
        return json_error(422, "invalid", message, {"payment": message})
    order = orders.place_order(
        lines=[sales.LineRequest(line.product_id, line.quantity) for line in body.lines],
        name=body.contact.name,
        phone=body.contact.phone,
        fulfilment=body.fulfilment,
        address=body.address,
        payment=body.payment,
        today=business_today(),
        counter_id=body.counter_id,
        client_address=request.remote_addr,
    )
    placed = models.OrderPlaced(
        id=order.id,
        counter_id=order.counter_id,
        token=order.token,
        number=order.number,
        total_fen=order.total_fen,
        status=order.status,
        expires_at=order.expires_at,
    )
    if order.payment is OrderPayment.STRIPE:
        try:
            intent_id, secret = payments.start_payment(order.id)
            placed.stripe = models.StripeIntent(payment_intent_id=intent_id, client_secret=secret)
        except payments.PaymentUnavailable as error:
            # The order and its stock stand; paying can be tried again from the order's page.
            placed.stripe = None
            placed.payment_error = error.message
    return answer(placed, 201)


@bp.get("/orders/<token>")
@documented(answers={200: "OrderBody"})
@public
def get_order(token):
    """An order and its status, for whoever holds its link."""
    if not orders.ORDER_TOKEN.fullmatch(token):  # a NUL would be a database error, not a 404
        abort(json_error(404, "not_found", _("There is no such order.")))
    return answer(order_body(orders.order_by_token(token)))


def order_body(order) -> models.OrderBody:
    """An order as its buyer may see it: the phone masked, no household names."""
    return models.OrderBody(
        id=order.id,
        number=order.number,
        status=orders.effective_status(order),
        total_fen=order.total_fen,
        refunded_fen=order.refunded_fen,
        expires_at=order.expires_at,
        fulfilment=order.fulfilment,
        payment=order.payment,
        contact=models.OrderContact(name=order.contact_name, phone_masked=order.contact_phone_masked),
        lines=[
            models.OrderLine(
                product_id=line.product_id, name=line.product_name, quantity=line.quantity, amount_fen=line.amount_fen
            )
            for line in order.lines
        ],
    )


@bp.get("/households/<id:household_id>/ledger")
@documented(query="Period", answers={200: "LedgerPeriod"}, errors=(422,))
@roles_required(Role.ADMIN, Role.OFFICER, Role.SUPERVISOR)
def household_ledger(household_id):
    """A household's ledger entries in a period, the period's totals and its balance at the period's end."""
    households.visible_household(signed_in_user(), household_id)
    start, end = _day_arg("from"), _day_arg("to")
    if start and end and start > end:
        return json_error(422, "invalid", _("The period ends before it starts."), {"to": _("Before from.")})
    statement = credits.household_ledger(household_id, start, end)
    return answer(
        models.LedgerPeriod(
            entries=[
                models.LedgerEntry(
                    seq=e.seq,
                    date=e.entry_date,
                    kind=e.kind,
                    amount_fen=e.amount_fen,
                    draw_id=e.draw_id,
                    lot_id=e.lot_id,
                    draw_reversal_id=e.draw_reversal_id,
                    payout_id=e.payout_id,
                    adjustment_id=e.adjustment_id,
                    category=e.category,
                    monitoring_status=e.monitoring_status,
                    hash=e.hash,
                )
                for e in statement.entries
            ],
            credited_fen=statement.credited_fen,
            reversed_fen=statement.reversed_fen,
            paid_out_fen=statement.paid_out_fen,
            adjusted_fen=statement.adjusted_fen,
            balance_fen=statement.balance_fen,
        )
    )


@bp.get("/households/<id:household_id>/statement.pdf")
@documented(query="MonthChoice", answers={200: "application/pdf"}, errors=(422,))
@roles_required(Role.ADMIN, Role.OFFICER, Role.SUPERVISOR)
def household_statement(household_id):
    """A household's statement for ?month=YYYY-MM, a month that has begun, as the printed PDF."""
    household = households.visible_household(signed_in_user(), household_id)
    statement = month_statement(household, _month_arg("month"))
    verify = statement_url(household.id, statement.month, statement.digest)
    document = statement_pdf.render(statement, verify, own_page_url(household.id))
    response = current_app.make_response(document)
    response.mimetype = "application/pdf"
    response.headers.set("Content-Disposition", "inline", filename=statement_pdf.filename(statement))
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _month_arg(name: str):
    """A YYYY-MM query argument naming a month that has begun; aborts with 422 otherwise."""
    try:
        month = parse_month(request.args.get(name, ""))
    except InvalidMonth:
        message = _("Give the month as YYYY-MM.")
        abort(json_error(422, "invalid", message, {name: message}))
    if month > month_start(business_today()):
        message = _("A statement exists once its month has begun.")
        abort(json_error(422, "invalid", message, {name: message}))
    return month


def _day_arg(name: str):
    """A YYYY-MM-DD query argument as a date; a bad one aborts with 422."""
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        message = _("Must be a date written YYYY-MM-DD.")
        abort(json_error(422, "invalid", message, {name: message}))


@bp.post("/households/<id:household_id>/link")
@documented(body="NewHouseholdPageLink", answers={201: "HouseholdPageLink"}, errors=(403, 404))
@roles_required(Role.ADMIN, Role.OFFICER)
def issue_household_link(household_id):
    """Give a household a new link to its own page (manager, or its officer); the old link answers 404 from now on."""
    parse(models.NewHouseholdPageLink)
    token = household_pages.issue_link(household_id, by=signed_in_user())
    return answer(models.HouseholdPageLink(url=household_page_url(token)), 201)


@bp.delete("/households/<id:household_id>/link")
@documented(answers={200: "HouseholdPageLinkRevoked"}, errors=(403, 404))
@roles_required(Role.ADMIN, Role.OFFICER)
def revoke_household_link(household_id):
    """Revoke a household's link (manager, or its officer): its address answers 404 from now on."""
    household_pages.revoke_link(household_id, by=signed_in_user())
    return answer(models.HouseholdPageLinkRevoked(household_id=household_id, revoked=True))
