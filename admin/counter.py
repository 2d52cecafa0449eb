"""The counter (POS): the till, the day's sales, receipts (HTML and PDF) and refunds.

The till is one page plus static/js/pos.js. It sells through POST /api/counter/sales, and a sale
that cannot be sent (no network, a timeout, a 5xx) waits in the tablet's localStorage and is sent
again later under the same idempotency key, so it is recorded once and never lost.
"""

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, Regexp

from shop.catalog import products
from shop.clock import business_today, local_time
from shop.errors import DomainError
from shop.ledger import checkpoints
from shop.models import COUNTER_METHODS, Counter, PaymentMethod, RefusedOutcome, Role, Sale, SettlementMode, User
from shop.money import format_fen
from shop.privacy import mask_numbers_in
from shop.selling import orders, refused_sales, sales
from shop.stock import lots
from shop.stock.counters import UnknownCounter, counter_for, working_counter
from shop.units import GRAMS_PER_JIN, Unit
from shop.web.access import roles_required, signed_in_user
from shop.web.forms import OneLineField, refund_requests
from shop.web.responses import status_of
from shop.web.templating import label, localised, product_image_url, staff_quantity_text, unit_price_text
from shop.wording import printed_quantity_zh

if TYPE_CHECKING:  # reportlab is loaded by the first document printed, not by every worker
    from shop.pdf.receipt import Receipt

bp = Blueprint("admin_counter", __name__, url_prefix="/admin/counter")

#: Who works the till: clerks at their own counter, and the counter manager.
till_staff = roles_required(Role.ADMIN, Role.CLERK)

#: The day's list shows this many sales, newest first; the totals count them all.
SALES_SHOWN = 200

#: Receipts are Chinese whatever the screen's language: the buyer takes them home.
PAYMENT_ZH = {
    PaymentMethod.CASH: "现金",
    PaymentMethod.WECHAT_QR: "微信扫码",
    PaymentMethod.ALIPAY_QR: "支付宝扫码",
    PaymentMethod.CARD: "银行卡",
    PaymentMethod.STRIPE: "在线支付",
}


# ---------------------------------------------------------------- the till


#: Where the manager's choice of counter is kept between the till's pages.
TILL_COUNTER = "till_counter"


def till_counter(user: User) -> Counter:
    """The counter the till sells at: a clerk's own; the manager's choice (?counter=), kept in the session."""
    if user.role is not Role.ADMIN:
        return counter_for(user)
    chosen = request.args.get("counter", type=int)
    if chosen is not None and 0 < chosen < 2**31:
        try:
            counter = working_counter(user, chosen)
        except UnknownCounter as error:
            flash(error.message, "error")
        else:
            session[TILL_COUNTER] = counter.id
            return counter
    kept = session.get(TILL_COUNTER)
    try:
        # A counter closed since it was chosen is no longer sold at: back to the first one.
        return working_counter(user, kept if isinstance(kept, int) else None)
    except UnknownCounter:
        session.pop(TILL_COUNTER, None)
        return counter_for(user)


def counter_choices(user: User) -> list[Counter]:
    """The counters the manager may switch the till to; none for a clerk or a single-counter installation."""
    counters = lots.open_counters() if user.role is Role.ADMIN else []
    return counters if len(counters) > 1 else []


@bp.get("/")
@till_staff
def pos():
    """The till: products with what is on sale here, a basket, payment and the offline queue."""
    user = signed_in_user()
    counter = till_counter(user)
    choices = counter_choices(user)
    return render_template(
        "admin/counter/pos.html",
        counter=counter,
        counters=choices,
        # The till names its counter in every sale only when there is a choice to name.
        counter_id=counter.id if choices else None,
        products=till_products(counter),
        messages=pos_messages(),
        methods=[(m.value, label(m)) for m in COUNTER_METHODS],
        to_collect=len(orders.orders_to_collect(counter.id)),
    )


@bp.get("/sw.js")
@till_staff
def service_worker():
    """The till's service worker, served from here so that its scope covers /admin/counter/."""
    response = send_from_directory(current_app.static_folder, "js/sw.js", mimetype="text/javascript", max_age=0)
    # The browser checks for a new worker on every visit; never let a cache answer for it.
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = url_for(".pos")
    return response


def till_products(counter: Counter) -> list[dict]:
    """What GET /api/counter/products answers, with each product's picture for the till's grid."""
    return [{**entry, "image": product_image_url(product)} for product, entry in products.till_catalog(counter.id)]


def pos_messages() -> dict[str, str]:
    """The till's words, translated here so that pos.js holds no language of its own."""
    return {
        "jin": _("jin"),
        "gram": _("g"),
        "piece": _("pc"),
        "on_sale": _("%(qty)s on sale"),
        "sold_out": _("Sold out"),
        "favourite": _("Favourite"),
        "only_left": _("Only %(qty)s on sale here."),
        "bad_weight": _("Type a weight: whole grams, or jin with up to two decimals."),
        "bad_count": _("Type a whole number of pieces."),
        "add": _("Add to basket"),
        "update": _("Update line"),
        "remove": _("Remove"),
        "basket_empty": _("Tap a product to start a sale."),
        "items": _("%(n)s items"),
        "no_match": _("No product matches."),
        "short_cash": _("%(amount)s short"),
        "change": _("Change %(amount)s"),
        "collect": _("Collect %(amount)s"),
        "confirm_cash": _("Cash received: record sale"),
        "confirm_other": _("Payment received: record sale"),
        "sending": _("Recording…"),
        "saved_offline": _("Saved on this tablet"),
        "saved_offline_hint": _(
            "The network did not answer. The sale will be sent by itself when the network is back; nothing more to do."
        ),
        "recorded": _("Sale recorded"),
        "pending_none": _("Nothing is waiting to be sent."),
        "signed_out": _("You are signed out: sign in again so that pending sales can be sent."),
        "syncing": _("Sending…"),
        "last_error": _("Last try: %(error)s"),
        "network_error": _("no network"),
        "to_basket": _("Sell again"),
        "dismiss": _("Dismiss"),
        "settle_again_title": _("Sell again"),
        "settle_again_hint": _(
            "The goods go back in the basket. When you record the new sale, this refused one is recorded as sold again."
        ),
        "settle_dismiss_title": _("Settle a refused sale"),
        "settle_dismiss_hint": _(
            "Nothing was recorded for this sale. Say what happened to the money: the manager sees it."
        ),
        "settle_send": _("Record and remove"),
        "settle_pending": _("Settled: the record waits to be sent."),
        "settle_in_basket": _("In the basket, to be sold again."),
        "settle_refused": _("The record was refused: %(error)s"),
        "storage_full": _("This tablet cannot save pending sales. Keep the network on."),
        "basket_busy": _("Finish or clear the current basket first."),
        "clear_confirm": _("Empty the basket?"),
    }


# ---------------------------------------------------------------- the day's sales


@bp.get("/sales")
@till_staff
def sales_list():
    """Today's sales at this counter, newest first, with totals by payment method."""
    user = signed_in_user()
    today = business_today()
    counter = till_counter(user)
    day = sales.recent_sales(counter.id, today, limit=SALES_SHOWN)
    return render_template(
        "admin/counter/sales.html",
        sales=day,
        today=today,
        counter=counter,
        counters=counter_choices(user),
        totals=_totals_by_method(counter, today),
        earlier_refunds=sales.refunds_of_earlier_sales(counter.id, today),
        refused=refused_sales.count_on(counter.id, today) if user.role is Role.ADMIN else 0,
        limit=SALES_SHOWN,
        line_text=staff_quantity_text,
        ledger_checkpoint=_latest_checkpoint(),
    )


def _latest_checkpoint() -> dict | None:
    """The ledger's latest signed checkpoint, printed with the day's totals so the bureau can keep its root."""
    latest = checkpoints.latest()
    return checkpoints.as_json(latest) if latest else None


@dataclass(frozen=True)
class MethodTotal:
    """What one payment method took in a day, and gave back that day (the refund's day, not its sale's)."""

    label: str
    count: int
    total_fen: int
    refunded_fen: int

    @property
    def net_fen(self) -> int:
        """What stays in the till for this method: takings less the money handed back."""
        return self.total_fen - self.refunded_fen


def _totals_by_method(counter: Counter, today: date) -> list[MethodTotal]:
    """The day's takings per payment method, in the till's button order, for cashing up."""
    totals = sales.day_totals(counter.id, today)
    return [MethodTotal(label(m), *totals[m]) for m in PaymentMethod if m in totals]


def refunded_fen(sale: Sale) -> int:
    """Fen handed back for a sale so far."""
    return sum(r.amount_fen for r in sale.refunds)


# ---------------------------------------------------------------- refused sales, for the manager

#: How each settlement reads on the manager's page.
OUTCOME_TEXT = {
    RefusedOutcome.RESOLD: _l("Sold again"),
    RefusedOutcome.RETURNED: _l("Money returned to the buyer"),
    RefusedOutcome.WRITTEN_OFF: _l("Written off, money kept"),
}


@bp.get("/refused")
@roles_required(Role.ADMIN)
def refused_list():
    """Queued sales the server refused, as the clerks settled them, for a counter and a day (?day=YYYY-MM-DD)."""
    user = signed_in_user()
    counter = till_counter(user)
    day = _day_arg() or business_today()
    return render_template(
        "admin/counter/refused.html",
        entries=refused_sales.refused_on(counter.id, day),
        days=refused_sales.settled_days(counter.id),
        day=day,
        counter=counter,
        counters=counter_choices(user),
        outcome_text=OUTCOME_TEXT,
        line_text=staff_quantity_text,
        mask_numbers_in=mask_numbers_in,
    )


def _day_arg() -> date | None:
    """The day asked for; a day that is not one is a page that does not exist."""
    text = request.args.get("day")
    if text is None:
        return None
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", text):
        abort(404)
    try:
        return date.fromisoformat(text)
    except ValueError:
        abort(404)


# ---------------------------------------------------------------- one sale


@dataclass(frozen=True)
class Helped:
    """A household one sale helped: where it lives, its masked name and what it was credited."""

    village: str
    village_zh: str
    name_masked: str
    credit_fen: int
    reversed_fen: int
    #: Only purchased lots: the household was paid at intake, so the sale credits nothing.
    purchased: bool


class RefundForm(FlaskForm):
    """A refund's choices; the quantity of each line is read from `qty-<line id>` fields."""

    restock = RadioField(
        _l("The goods"),
        choices=[SelectChoice("yes", _l("Back on the shelf")), SelectChoice("no", _l("Written off as damaged"))],
        default="yes",
    )
    note = OneLineField(_l("Note"), max_length=200, message=_l("Control characters are not allowed."))
    #: Made when the form is drawn, so a form sent twice (a double tap) records one refund.
    key = HiddenField(
        default=lambda: uuid.uuid4().hex,
        validators=[Optional(), Regexp(r"^[A-Za-z0-9_.:-]{8,64}$", message=_l("This form is out of date: reload it."))],
    )


@bp.get("/sales/<id:sale_id>")
@till_staff
def sale_page(sale_id: int):
    """A sale: its printable receipt, the households it helped, its refunds, and the refund form."""
    sale = sales.sale_for(sale_id, signed_in_user())
    return _render_sale(sale, RefundForm())


@bp.post("/sales/<id:sale_id>/refund")
@till_staff
def refund(sale_id: int):
    """Refund part of a sale; a refused refund shows the sale again with the reason and records nothing."""
    user = signed_in_user()
    sale = sales.sale_for(sale_id, user)
    form = RefundForm()
    if not form.validate_on_submit():
        return _render_sale(sale, form), 422
    requests, errors = refund_requests(sale, request.form)
    if errors:
        return _render_sale(sale, form, line_errors=errors), 422
    restock = form.restock.data == "yes"
    try:
        if request.form.get("confirmed") != "yes":
            # One tap gives money away: ask first, with the amount, and record nothing yet.
            amount = sales.refund_preview(sale.id, requests)
            question = sales.refund_question(sale, requests, amount, restock)
            return _render_sale(sale, form, question=question), 200
        done, created = sales.refund_sale(
            sale_id=sale.id,
            lines=requests,
            restock=restock,
            note=form.note.data or "",
            by=user,
            idempotency_key=form.key.data or None,
        )
    except DomainError as error:
        status = status_of(error)
        fresh = sales.sale_for(sale_id, user)
        if (line_id := _line_at_fault(error, requests)) is not None:
            return _render_sale(fresh, form, line_errors={line_id: error.message}), status
        return _render_sale(fresh, form, error=error.message), status
    if created:
        flash(_("Refund recorded: hand %(amount)s back to the buyer.", amount=format_fen(done.amount_fen)), "info")
    else:
        flash(
            _("This refund was already recorded: hand %(amount)s back once.", amount=format_fen(done.amount_fen)),
            "info",
        )
    return redirect(url_for(".sale_page", sale_id=sale_id))


def _line_at_fault(error: DomainError, requests: list[sales.RefundRequest]) -> int | None:
    """The sale line a refund error names by its place in the request ("lines.0.quantity"), if any."""
    match = re.fullmatch(r"lines\.(\d+)\.\w+", error.field or "")
    index = int(match[1]) if match else -1
    return requests[index].line_id if 0 <= index < len(requests) else None


def _render_sale(
    sale: Sale,
    form: RefundForm,
    error: str | None = None,
    line_errors: Mapping | None = None,
    question: str | None = None,
):
    """The sale page, with the refund form as it was filled in and, before a refund, the question that confirms it."""
    given = sales.refunded_quantities(sale)
    return render_template(
        "admin/counter/sale.html",
        sale=sale,
        order=orders.order_of_sale(sale.id),
        form=form,
        error=error,
        line_errors=line_errors or {},
        helped=helped_households(sale),
        refunded_qty=given,
        refund_left={line.id: line.quantity - given.get(line.id, 0) for line in sale.lines},
        refunded_fen=refunded_fen(sale),
        line_text=staff_quantity_text,
        unit_price_text=unit_price_text,
        refund_lines=_refund_line_names(sale),
        question=question,
    )


def _refund_line_names(sale: Sale) -> dict[int, object]:
    """Sale lines by id, so that a refund's lines can be named."""
    return {line.id: line for line in sale.lines}


def helped_households(sale: Sale) -> list[Helped]:
    """Each household whose goods this sale drew, with its credit and what refunds took back."""
    credit: dict[int, int] = {}
    purchased: dict[int, bool] = {}
    households = {}
    for line in sale.lines:
        for draw in line.draws:
            households[draw.household_id] = draw.household
            credit[draw.household_id] = credit.get(draw.household_id, 0) + draw.credit_fen
            is_purchase = draw.mode is SettlementMode.PURCHASE
            purchased[draw.household_id] = purchased.get(draw.household_id, True) and is_purchase
    reversed_: dict[int, int] = {}
    for r in sale.refunds:
        for line in r.lines:
            for rv in line.reversals:
                reversed_[rv.household_id] = reversed_.get(rv.household_id, 0) + rv.credit_fen
    return [
        Helped(
            village=f"{localised(h.village.town)} · {localised(h.village)}",
            village_zh=h.village.town.name_zh + h.village.name_zh,
            name_masked=h.head_name_masked,
            credit_fen=credit[hid],
            reversed_fen=reversed_.get(hid, 0),
            purchased=purchased[hid],
        )
        for hid, h in households.items()
    ]


# ---------------------------------------------------------------- the PDF receipt


@bp.get("/sales/<id:sale_id>/receipt.pdf")
@till_staff
def receipt_pdf(sale_id: int):
    """The sale's 80 mm receipt as a PDF, in Chinese."""
    sale = sales.sale_for(sale_id, signed_in_user())
    from shop.pdf.receipt import render_receipt  # reportlab: loaded by the first receipt printed

    response = make_response(render_receipt(receipt_for(sale)))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{sale.number}.pdf"'
    return response


def receipt_for(sale: Sale) -> "Receipt":
    """The printed receipt of a sale.

    Households of purchased lots were paid at intake and the sale credits them nothing, so the
    receipt leaves them out rather than print ¥0.00 against a name; the sale page shows them.
    """
    from shop.pdf.receipt import HelpedHousehold, Receipt, ReceiptLine

    return Receipt(
        counter_name=sale.counter.name,
        counter_address=sale.counter.address,
        sale_no=sale.number,
        sold_at=local_time(sale.sold_at),
        clerk=(sale.clerk.display_name or sale.clerk.username) if sale.clerk else "在线订单",
        lines=tuple(
            ReceiptLine(
                line.product_name, printed_quantity_zh(line.quantity, line.unit), unit_price_zh(line), line.amount_fen
            )
            for line in sale.lines
        ),
        total_fen=sale.total_fen,
        payment_method=PAYMENT_ZH[sale.payment_method],
        tendered_fen=sale.tendered_fen,
        refunded_fen=refunded_fen(sale),
        helped=tuple(
            HelpedHousehold(h.village_zh, h.name_masked, h.credit_fen)
            for h in helped_households(sale)
            if not h.purchased
        ),
    )


def _per_zh(price_per: int, unit: Unit) -> str:
    """What a price buys, in Chinese: 斤, 公斤, 100克, 件, 6件."""
    if unit is Unit.GRAM:
        named = {GRAMS_PER_JIN: "斤", 2 * GRAMS_PER_JIN: "公斤"}
        return named.get(price_per, f"{price_per}克")
    return "件" if price_per == 1 else f"{price_per}件"


def unit_price_zh(line) -> str:
    """A line's frozen shelf price for the receipt: ¥68.00/斤."""
    return f"{format_fen(line.price_fen)}/{_per_zh(line.price_per, line.unit)}"
