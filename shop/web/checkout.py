"""The buyer's side of online orders: cart, checkout, payment and the order's status page.

The cart lives in the signed session cookie as [[product_id, grams or pieces], …]
(a list, because the session serialiser sorts a dict's keys and lines should keep
the order they were added in), at most 50 products of at most MAX_LOT_QTY each.
It holds no prices: every page prices the cart again from the shelf, and the
order is priced once more by orders.place_order. A buyer has no account: the
order's unguessable token link is their key, and the number with the phone finds
it again (throttled per address, counting only the attempts).

A buyer back from Stripe has the payment checked with Stripe at once; while it
is still unconfirmed the page looks again every few seconds with a meta refresh,
up to CONFIRM_CHECKS times, and the webhook settles it in any case.

Views parse a form, call one use case and show its refusal with the status of
its kind; they never commit. Stripe is reached only through shop.selling.payments,
imported inside the views so that the pay-at-pickup path needs nothing of it.
"""

import re
import unicodedata
from dataclasses import dataclass

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from markupsafe import Markup
from sqlalchemy.exc import SQLAlchemyError
from wtforms import RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp

try:  # WTForms 3.3 declares choices as SelectChoice; tuples go away in 3.4.
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms takes (value, label) tuples
    SelectChoice = None

from shop.catalog import products
from shop.clock import business_today, local_time
from shop.errors import DomainError
from shop.extensions import limiter
from shop.models import Counter, Fulfilment, Lot, Order, OrderPayment, Product
from shop.money import price_for
from shop.selling import orders
from shop.selling.order_flow import OrderStatus
from shop.selling.sales import MAX_LINES, LineRequest
from shop.stock import lots as stock
from shop.stock.allocation import OutOfStock
from shop.stock.counters import default_counter
from shop.units import Unit, grams_to_jin_text
from shop.web.access import public
from shop.web.forms import CART_WORDS, OneLineField, PlainText, QuantityField
from shop.web.responses import status_of
from shop.web.templating import is_chinese, localised, quantity_text
from shop.web.urls import public_url

bp = Blueprint("checkout", __name__)

#: A cart holds no more products than an order may have lines.
MAX_CART_LINES = MAX_LINES
#: No lot holds more than this: a cart cookie asking for more is malformed. What one buyer may
#: ask for is far less, orders.line_cap, checked when a quantity is typed and again on ordering.
MAX_LINE_QTY = stock.MAX_LOT_QTY
#: A mainland mobile number: 11 digits starting 13–19 (ASCII digits only; `\d` would take any script's).
MOBILE = r"^1[3-9][0-9]{9}$"
#: How often the order page looks again while Stripe confirms a payment, and for how long.
CONFIRM_EVERY_S = 3
CONFIRM_CHECKS = 20


@bp.url_value_preprocessor
def _plain_token(_endpoint, values) -> None:
    """A token that no order could have (a NUL, markup, 100 kB) is a 404 before it reaches the database."""
    if values and "token" in values and not orders.ORDER_TOKEN.fullmatch(values["token"]):
        abort(404)


# The cart in the session.


def cart_items() -> dict[int, int]:
    """The session's cart as product id → grams or pieces, skipping anything malformed."""
    items: dict[int, int] = {}
    raw = session.get("cart")
    for pair in raw if isinstance(raw, list) else []:
        if isinstance(pair, list) and len(pair) == 2 and all(type(n) is int for n in pair):
            product_id, quantity = pair
            if 0 < quantity <= MAX_LINE_QTY and len(items) < MAX_CART_LINES:
                items[product_id] = quantity
    return items


def save_cart(items: dict[int, int]) -> None:
    """Keep the cart in the session, in the order its lines were added."""
    session["cart"] = [[product_id, quantity] for product_id, quantity in items.items()]


@dataclass(frozen=True)
class CartLine:
    """A product in the cart, priced from the shelf now."""

    product: Product
    quantity: int
    amount_fen: int
    available: int

    @property
    def short(self) -> bool:
        """Whether the cart asks for more than is on sale."""
        return self.quantity > self.available


def priced_cart(items: dict[int, int]) -> list[CartLine]:
    """The cart's products still on sale, each priced on the server and with what is available."""
    on_sale = {p.id: p for p in products.active_products()}
    available = stock.available_by_product(business_today())
    lines = []
    for product_id, quantity in items.items():
        if product := on_sale.get(product_id):
            amount = price_for(quantity, product.price_fen, product.price_per)
            lines.append(CartLine(product, quantity, amount, available.get(product_id, 0)))
    return lines


def current_cart() -> list[CartLine]:
    """The priced cart, with products withdrawn from sale taken out of the session."""
    items = cart_items()
    lines = priced_cart(items)
    if len(lines) < len(items):
        save_cart({line.product.id: line.quantity for line in lines})
        flash(_("A product that is no longer on sale was taken out of your cart."), "info")
    return lines


@bp.app_context_processor
def shop_header() -> dict:
    """The cart's count and the open counters for every page's header and footer, read only if a page shows them."""
    return {"cart_count": lambda: len(cart_items()), "shop_counters": shop_counters}


def shop_counters() -> list[Counter]:
    """The open counters, for the footer; none when the database cannot be read (an error page still renders)."""
    try:
        return stock.open_counters()
    except SQLAlchemyError:
        current_app.logger.warning("the footer could not read the counters")
        return []


# Reading a quantity.


class BadQuantity(ValueError):
    """A quantity typed into a cart form that cannot be taken."""


def unit_choices(unit: Unit) -> list[tuple[str, str]]:
    """The units a buyer may give a quantity of this product in: 斤 or grams for weighed goods, else pieces."""
    if unit is Unit.GRAM:
        return [("jin", _("jin")), ("g", _("grams"))]
    return [("piece", _("pieces"))]


def entry_of(quantity: int, unit: Unit) -> tuple[str, str]:
    """A cart quantity as the form shows it again: in 斤 when that is exact, else in grams; pieces as they are."""
    if unit is Unit.PIECE:
        return str(quantity), "piece"
    # 0.01 斤 is 5 g, so only multiples of 5 g read back exactly in 斤.
    return (grams_to_jin_text(quantity), "jin") if quantity % 5 == 0 else (str(quantity), "g")


class QuantityForm(FlaskForm):
    """A quantity and the unit it is typed in: the product page's "add to cart" and each cart line."""

    quantity = QuantityField(
        _l("Quantity"),
        [InputRequired(_l("Give the quantity.")), Length(max=20)],
        words=CART_WORDS,
        wrong_unit=_l("Choose the unit from the list."),
    )
    # The product decides which units are allowed; quantity_from offers them to the quantity field.
    unit = SelectField(_l("Unit"), validate_choice=False)


def quantity_from(form: QuantityForm, product: Product) -> int:
    """The quantity a submitted form asks for, or BadQuantity."""
    form.quantity.offered = dict(unit_choices(product.unit))
    if not form.validate_on_submit():
        raise BadQuantity(next(iter(form.errors.values()))[0])
    if form.quantity.quantity > orders.line_cap(product.unit):
        raise BadQuantity(orders.line_cap_message(product.unit))
    return form.quantity.quantity


# The cart's pages.


def product_page(product: Product, error: str, form: QuantityForm, status: int):
    """The product page again, with the refused "add to cart" as it was typed."""
    today = business_today()
    lots = stock.lots_on_sale(product.id, today)
    body = render_template(
        "catalog/product.html",
        product=product,
        lots=lots,
        # What can be bought, as the catalog shows it: on hand less what unpaid orders hold.
        available=stock.available_by_product(today).get(product.id, 0),
        today=today,
        cart_error=error,
        cart_quantity=form.quantity.data,
        cart_unit=form.unit.data,
    )
    return body, status


@bp.route("/cart/add/<id:product_id>", methods=["POST"])
@public
def add_to_cart(product_id: int):
    """Put a quantity of a product in the cart, adding to what is there, and show the cart."""
    product = products.product_on_sale(product_id)
    if product is None:
        abort(404)
    form = QuantityForm()
    items = cart_items()
    try:
        quantity = quantity_from(form, product)
        if product_id not in items and len(items) >= MAX_CART_LINES:
            raise BadQuantity(_("A cart holds at most %(n)d products.", n=MAX_CART_LINES))
        total = items.get(product_id, 0) + quantity
        if total > orders.line_cap(product.unit):
            raise BadQuantity(orders.line_cap_message(product.unit))
    except BadQuantity as bad:
        return product_page(product, str(bad), form, 422)
    items[product_id] = total
    save_cart(items)
    added = quantity_text(quantity, product.unit)
    flash(_("Added %(qty)s of %(product)s to your cart.", qty=added, product=localised(product)), "info")
    return redirect(url_for(".cart"))


def cart_page(lines: list[CartLine], status: int = 200, failed: tuple[int, str, QuantityForm] | None = None):
    """The cart, with one line's refused change shown beside it."""
    return render_template(
        "checkout/cart.html",
        lines=lines,
        total_fen=sum(line.amount_fen for line in lines),
        any_short=any(line.short for line in lines),
        entry_of=entry_of,
        failed=failed,
    ), status


@bp.route("/cart")
@public
def cart():
    """The cart: each product with its quantity, price and stock, and the total."""
    return cart_page(current_cart())


@bp.route("/cart/<id:product_id>", methods=["POST"])
@public
def update_line(product_id: int):
    """Change the quantity of a product in the cart."""
    items = cart_items()
    product = products.product_on_sale(product_id)
    if product is None or product_id not in items:
        return redirect(url_for(".cart"))
    form = QuantityForm()
    try:
        items[product_id] = quantity_from(form, product)
    except BadQuantity as bad:
        return cart_page(current_cart(), 422, (product_id, str(bad), form))
    save_cart(items)
    return redirect(url_for(".cart"))


@bp.route("/cart/<id:product_id>/remove", methods=["POST"])
@public
def remove_line(product_id: int):
    """Take a product out of the cart."""
    items = cart_items()
    if items.pop(product_id, None) is not None:
        save_cart(items)
        product = products.product_on_sale(product_id)
        if product is not None:
            flash(_("%(product)s was taken out of your cart.", product=localised(product)), "info")
    return redirect(url_for(".cart"))


# Checkout.


def normalise_phone(value: str | None) -> str:
    """A phone number as typed (full-width digits, spaces, dashes, +86) reduced to its digits."""
    cleaned = re.sub(r"[\s\-()]", "", unicodedata.normalize("NFKC", value or ""))
    return cleaned.removeprefix("+86") if len(cleaned) == 14 else cleaned


def phone_field(label) -> StringField:
    """A mainland mobile number field."""
    return StringField(
        label,
        filters=[normalise_phone],
        validators=[
            InputRequired(_l("Give your mobile number.")),
            Regexp(MOBILE, message=_l("Give a mainland mobile number of 11 digits, such as 13812345678.")),
        ],
    )


class CheckoutForm(FlaskForm):
    """Who is buying, how the goods reach them, and how they pay."""

    name = OneLineField(_l("Your name"), [DataRequired(_l("Give your name."))], max_length=50)
    phone = phone_field(_l("Mobile number"))
    fulfilment = RadioField(
        _l("How you get your goods"), default="pickup", validators=[InputRequired(_l("Choose pickup or delivery."))]
    )
    address = TextAreaField(
        _l("Delivery address"), filters=[lambda v: (v or "").strip()], validators=[Length(max=300), PlainText()]
    )
    payment = RadioField(_l("Payment"), validators=[InputRequired(_l("Choose how you pay."))])
    #: Where a pickup is collected; only offered when more than one counter is open.
    counter = RadioField(_l("Pick up at"), coerce=int, validators=[Optional()])


def options(pairs: list[tuple[str, str]]) -> list:
    """(value, label) pairs as the choices a select or radio field takes."""
    return [SelectChoice(*pair) for pair in pairs] if SelectChoice else list(pairs)


def checkout_form(online: bool) -> CheckoutForm:
    """The checkout form, offering online payment and so delivery (paid online) only when Stripe is set up."""
    form = CheckoutForm()
    ways_to_get = [("pickup", _("Pick up at the counter"))]
    if online:
        ways_to_get.append(("delivery", _("Delivery to your address")))
    form.fulfilment.choices = options(ways_to_get)
    ways = [("pay_at_pickup", _("Pay at the counter when you pick up"))]
    if online:
        ways.insert(0, ("stripe", _("Pay online now: card, Alipay or WeChat Pay")))
    form.payment.choices = options(ways)
    if form.payment.data is None:
        form.payment.data = ways[0][0]
    counters = stock.open_counters()
    if len(counters) > 1:
        form.counter.choices = options([(c.id, c.name) for c in counters])
        if form.counter.data is None:
            form.counter.data = counters[0].id
    else:
        del form.counter
    return form


def pickup_counter(form: CheckoutForm) -> Counter:
    """The counter the form names for pickup: the buyer's choice, or the only (first) one."""
    if "counter" in form and form.counter.data:
        return next((c for c in stock.open_counters() if c.id == form.counter.data), default_counter())
    return default_counter()


def check_choices(form: CheckoutForm, online: bool) -> bool:
    """The rules between fields: a delivery needs online payment and an address, and paying at pickup needs a pickup."""
    delivery = form.fulfilment.data == Fulfilment.DELIVERY
    if delivery and not online:
        # Not offered, so only a stale page or a forged form asks; say why instead of "not a valid choice".
        form.fulfilment.errors = [_("Delivery is paid online, and online payment is not available now. Choose pickup.")]
        return False
    if delivery and not form.address.data:
        form.address.errors = [*form.address.errors, _("Give the delivery address.")]
    if delivery and form.payment.data == OrderPayment.PAY_AT_PICKUP:
        form.payment.errors = [*form.payment.errors, _("Paying at the counter is only for orders picked up there.")]
    return not (form.address.errors or form.payment.errors)


@dataclass(frozen=True)
class Supplier:
    """A household whose goods an order will likely be drawn from, as the public may see it."""

    village: str
    name_masked: str


def likely_suppliers(lots: list[Lot], quantity: int) -> list[Supplier]:
    """The households whose lots would cover the quantity, in the order lots are sold; names masked."""
    suppliers: list[Supplier] = []
    covered = 0
    for lot in lots:
        if covered >= quantity:
            break
        covered += lot.qty_on_hand
        household = lot.household
        place = f"{localised(household.village.town)} · {localised(household.village)}"
        supplier = Supplier(place, household.head_name_masked)
        if supplier not in suppliers:
            suppliers.append(supplier)
    return suppliers


def suppliers_of(lines: list[CartLine], counter_id: int) -> dict[int, list[Supplier]]:
    """Each cart product's likely suppliers among a counter's lots."""
    today = business_today()
    return {
        line.product.id: likely_suppliers(
            [lot for lot in stock.lots_on_sale(line.product.id, today) if lot.counter_id == counter_id], line.quantity
        )
        for line in lines
    }


def checkout_page(form: CheckoutForm, lines: list[CartLine], online: bool, status: int = 200):
    """The checkout form beside the order summary."""
    counter = pickup_counter(form)
    suppliers = suppliers_of(lines, counter.id)
    helped = {s for found in suppliers.values() for s in found}
    return render_template(
        "checkout/checkout.html",
        form=form,
        lines=lines,
        total_fen=sum(line.amount_fen for line in lines),
        suppliers=suppliers,
        households_helped=len(helped),
        villages_helped=len({s.village for s in helped}),
        counter=counter,
        counters={c.id: c for c in stock.open_counters()},
        online=online,
    ), status


def shortage_message(error: OutOfStock, lines: list[CartLine]) -> str:
    """A shortage in the buyer's words: which product, and how much is left of it."""
    index = int(error.field.split(".")[1]) if error.field and error.field.count(".") == 2 else None
    if index is None or index >= len(lines):
        return error.message
    product = lines[index].product
    return _(
        "Only %(qty)s of %(product)s is left. Change the quantity in your cart and try again.",
        qty=quantity_text(error.available, product.unit),
        product=localised(product),
    )


@bp.route("/checkout", methods=["GET", "POST"])
@public
@orders.order_throttle
def checkout():
    """Show the checkout form; place the order, reserving its stock, and go to its page or to payment."""
    from shop.selling import payments

    online = payments.configured()
    lines = current_cart()
    if not lines:
        flash(_("Your cart is empty."), "info")
        return redirect(url_for(".cart"))
    form = checkout_form(online)
    if not form.is_submitted():
        return checkout_page(form, lines, online)
    # Every rule is checked, so that all mistakes show at once.
    valid = form.validate()
    if not (check_choices(form, online) and valid):
        return checkout_page(form, lines, online, 422)
    try:
        order = orders.place_order(
            lines=[LineRequest(line.product.id, line.quantity) for line in lines],
            name=form.name.data,
            phone=form.phone.data,
            fulfilment=Fulfilment(form.fulfilment.data),
            address=form.address.data,
            payment=OrderPayment(form.payment.data),
            today=business_today(),
            # A delivery ships from the counter that holds the basket; the pickup choice is for pickups.
            counter_id=form.counter.data if "counter" in form and form.fulfilment.data == Fulfilment.PICKUP else None,
            client_address=request.remote_addr,
        )
    except DomainError as error:
        message = shortage_message(error, lines) if isinstance(error, OutOfStock) else error.message
        if error.field == "address":
            form.address.errors = [*form.address.errors, message]
        else:
            form.form_errors.append(message)
        return checkout_page(form, lines, online, status_of(error))
    session.pop("cart", None)
    if order.payment is OrderPayment.STRIPE:
        return redirect(url_for(".pay", token=order.token))
    flash(_("Thank you! Your order is placed and its goods are reserved for you."), "info")
    return redirect(url_for(".order", token=order.token))


# The order's own pages, reached by its token.


def status_text(order: Order, status: OrderStatus) -> str:
    """What an order's status means to its buyer."""
    pickup = order.fulfilment is Fulfilment.PICKUP
    if status is OrderStatus.AWAITING_PAYMENT:
        if order.payment is OrderPayment.PAY_AT_PICKUP:
            return _("Reserved: pay at the counter")
        return _("Awaiting payment")
    return {
        OrderStatus.PAID: _("Paid: being prepared"),
        OrderStatus.PACKED: _("Ready to pick up") if pickup else _("Packed, about to be sent"),
        OrderStatus.SHIPPED: _("On its way"),
        OrderStatus.COLLECTED: _("Collected"),
        OrderStatus.CANCELLED: _("Cancelled"),
        OrderStatus.EXPIRED: _("Expired: the reservation has lapsed"),
        OrderStatus.REFUNDED: _("Refunded"),
        OrderStatus.PARTIALLY_REFUNDED: _("Partly refunded"),
    }[status]


def order_url(order: Order) -> str:
    """The order's page as a full address, on the public address when one is configured."""
    return public_url("checkout.order", token=order.token)


def keep_private(response, referrer: str = "same-origin"):
    """An order's page carries its token and the buyer's details: never cached, never sent on as a referrer."""
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Referrer-Policy"] = referrer
    response.headers["X-Robots-Tag"] = "noindex"
    return response


def confirming_state(order: Order, status: OrderStatus) -> dict:
    """How far a buyer back from Stripe has got: still confirming (and when to look again), or a failed payment."""
    if "payment_intent" not in request.args or order.payment is not OrderPayment.STRIPE:
        return {}
    if request.args.get("redirect_status") not in ("succeeded", "processing"):
        return {"payment_failed": status is OrderStatus.AWAITING_PAYMENT}
    if status is not OrderStatus.AWAITING_PAYMENT:
        return {}
    checks = min(request.args.get("checks", 0, type=int), CONFIRM_CHECKS)
    if checks >= CONFIRM_CHECKS:
        return {"confirming": True, "confirm_gave_up": True}
    again = url_for(".order", token=order.token, **{**request.args.to_dict(), "checks": checks + 1})
    return {"confirming": True, "refresh_url": again, "refresh_s": CONFIRM_EVERY_S}


def hold_until(order: Order) -> Markup:
    """When an unpaid order's hold lapses, in the counter's time, kept on one line."""
    return Markup('<span class="nowrap">{}</span>').format(local_time(order.expires_at).strftime("%Y-%m-%d %H:%M"))


def order_page(order: Order, status: int = 200, error: str | None = None, **state):
    """The order's status page."""
    from shop.selling import payments

    current = orders.effective_status(order)
    awaiting = current is OrderStatus.AWAITING_PAYMENT
    body = render_template(
        "checkout/order.html",
        order=order,
        status=current,
        status_text=status_text(order, current),
        awaiting=awaiting,
        can_pay=awaiting and order.payment is OrderPayment.STRIPE and payments.configured(),
        expires_at=hold_until(order),
        link=order_url(order),
        error=error,
        **{**confirming_state(order, current), **state},
    )
    return keep_private(current_app.make_response((body, status)))


@bp.route("/orders/<token>")
@public
def order(token: str):
    """An order's status page; a buyer back from Stripe has their payment checked with Stripe first."""
    found = orders.order_by_token(token)
    if "payment_intent" in request.args and found.payment is OrderPayment.STRIPE and found.sale_id is None:
        from shop.selling import payments

        try:
            payments.sync_payment(found.id)
        except DomainError:
            # Stripe's webhook confirms the payment anyway; the page keeps looking meanwhile.
            current_app.logger.warning("payment sync failed for order %s", found.id)
        found = orders.order_by_token(token)
    return order_page(found)


@bp.route("/orders/<token>/cancel", methods=["POST"])
@public
def cancel(token: str):
    """Cancel an order still awaiting payment, freeing its stock."""
    from shop.selling import payments

    found = orders.order_by_token(token)
    try:
        payments.cancel_order(found.id)
    except DomainError as error:
        return order_page(orders.order_by_token(token), status_of(error), error.message)
    flash(_("Your order was cancelled; the goods are back on sale."), "info")
    return redirect(url_for(".order", token=token))


@bp.route("/orders/<token>/pay")
@public
def pay(token: str):
    """Stripe's payment form for an order awaiting online payment."""
    from shop.selling import payments

    found = orders.order_by_token(token)
    payable = found.payment is OrderPayment.STRIPE and orders.effective_status(found) is OrderStatus.AWAITING_PAYMENT
    if not payable or not payments.configured():
        return redirect(url_for(".order", token=token))
    try:
        _intent_id, client_secret = payments.start_payment(found.id)
    except DomainError as error:
        # Nothing was charged; the order page offers "pay now" again.
        return order_page(found, status_of(error), error.message)
    body = render_template(
        "checkout/pay.html",
        order=found,
        expires_at=hold_until(found),
        stripe_data={
            "publishableKey": payments.publishable_key(),
            "clientSecret": client_secret,
            "returnUrl": order_url(found),
            "locale": "zh" if is_chinese() else "en",
            "messages": {
                "failed": _("The payment did not go through. Check the details and try again."),
                "unavailable": _("The payment form could not be loaded. Check your connection and reload this page."),
            },
        },
    )
    # Stripe.js sees the page's origin, never the token in its path.
    return keep_private(current_app.make_response(body), referrer="strict-origin-when-cross-origin")


# Finding an order again.


class LookupForm(FlaskForm):
    """An order's number and the phone it was placed with."""

    number = StringField(
        _l("Order number"),
        filters=[lambda v: unicodedata.normalize("NFKC", v or "").strip()],
        validators=[InputRequired(_l("Give the order number.")), Length(max=20)],
    )
    phone = phone_field(_l("Mobile number used for the order"))


@bp.route("/orders/lookup", methods=["GET", "POST"])
@public
@limiter.limit("10 per minute", methods=["POST"])
def lookup():
    """Find an order by its number and phone, and go to its page."""
    form = LookupForm()
    if not form.is_submitted():
        return keep_private(current_app.make_response(render_template("checkout/lookup.html", form=form)))
    status = 422
    if form.validate():
        try:
            found = orders.find_by_number(form.number.data, form.phone.data)
        except orders.UnknownOrder:
            # The same words whether the number or the phone was wrong: the page reveals nothing.
            form.form_errors.append(_("No order has that number and phone. Check both and try again."))
            status = 404
        else:
            return redirect(url_for(".order", token=found.token))
    body = render_template("checkout/lookup.html", form=form)
    return keep_private(current_app.make_response((body, status)))
