"""Stock: the shelf by product and lot, receiving, write-offs, returns, stocktakes, slips and labels.

Views parse a Flask-WTF form, call one use case of shop.stock.lots and show a domain
error beside the field at fault, with the HTTP status of its kind (422 for an
invalid entry). Weighed goods may be typed in 斤 or grams: "1.5" 斤 is exactly
750 g, and a quantity that is not a whole number of grams is refused rather
than rounded. Printed documents are in Chinese whatever the page language.
"""

import re
import unicodedata
from dataclasses import dataclass
from datetime import date

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, RadioField, SelectField, StringField
from wtforms.validators import InputRequired, Length, Optional

try:  # WTForms 3.3 declares a select's options as SelectChoice; tuples go away in 3.4.
    from wtforms.fields.choices import SelectChoice
except ImportError:  # pragma: no cover - older WTForms takes (value, label) tuples
    SelectChoice = None

from shop import audit
from shop.catalog import products
from shop.clock import business_today, local_time
from shop.errors import DomainError
from shop.models import Counter, Household, Lot, Product, Role, SettlementMode, User, WriteOffReason
from shop.money import format_fen, price_for
from shop.stock import lots as stock
from shop.stock.counters import counter_for, find_counter
from shop.units import GRAMS_PER_JIN, Unit
from shop.villages import households
from shop.web.access import roles_required, signed_in_user
from shop.web.forms import (
    STOCK_WORDS,
    BadEntry,
    MoneyField,
    OneLineField,
    QuantityField,
    parse_entry,
    show_domain_error,
    show_error,
)
from shop.web.responses import error_response, pdf_response
from shop.web.templating import label, localised, quantity_text, share_text, staff_quantity_text
from shop.web.urls import own_page_url, public_url
from shop.wording import printed_quantity_zh

bp = Blueprint("admin_stock", __name__, url_prefix="/admin/stock")

#: Who handles stock: the counter manager and the clerks.
STOCK_STAFF = (Role.ADMIN, Role.CLERK)
_PERCENT = re.compile(r"(?P<whole>\d{1,3})(?:\.(?P<frac>\d{1,2}))?%?")


# Reading what people type.


def unit_words() -> tuple[str, str, str]:
    """The words for jin, grams and pieces in a unit select."""
    return _("jin (500 g)"), _("grams"), _("pieces")


def unit_choices(product_unit: Unit | None) -> list[tuple[str, str]]:
    """The units a quantity of this product may be typed in; every unit when the product is not known."""
    jin, grams, pieces = zip(("jin", "g", "piece"), unit_words(), strict=True)
    if product_unit is Unit.GRAM:
        return [jin, grams]
    if product_unit is Unit.PIECE:
        return [pieces]
    return [jin, grams, pieces]


def options(pairs: list[tuple]) -> list:
    """(value, label) pairs as the options a select field takes."""
    return [SelectChoice(*pair) for pair in pairs] if SelectChoice else list(pairs)


def parse_quantity(text: str | None, unit: str, product: Product | None, *, allow_zero: bool = False) -> int:
    """Read a typed quantity ("1.5" 斤, "750" 克, "12" 件) as whole grams or pieces, exactly.

    Without a product (none chosen yet) any unit goes, so the number can still be checked.
    """
    check_unit(unit, product)
    return parse_entry(text, unit, STOCK_WORDS, allow_zero=allow_zero)


def check_unit(unit: str | None, product: Product | None) -> None:
    """Refuse a unit the product is not counted in: 斤 or grams for weighed goods, pieces for the rest."""
    if unit not in dict(unit_choices(product.unit if product else None)):
        if product.unit is Unit.GRAM:
            raise BadEntry(_("%(product)s is weighed: give the quantity in jin or grams.", product=localised(product)))
        raise BadEntry(_("%(product)s is counted in pieces: choose pieces.", product=localised(product)))


def parse_share(text: str | None) -> int:
    """Read a household's share typed as a percentage ("90", "87.5%") as basis points."""
    cleaned = unicodedata.normalize("NFKC", text or "").strip()
    match = _PERCENT.fullmatch(cleaned)
    if not match or not cleaned.isascii():
        raise BadEntry(_("Give the household's share as a percentage, such as 90 or 87.5."))
    share_bp = int(match["whole"]) * 100 + int((match["frac"] or "").ljust(2, "0"))
    if share_bp > 10_000:
        raise BadEntry(_("A share is between 0 and 100."))
    return share_bp


def percent_text(share_bp: int) -> str:
    """Basis points as the number a person types: 9000 → "90"."""
    return share_text(share_bp).removesuffix("%")


def _optional_id(value) -> int | None:
    """A select's value as an id, or None when nothing was chosen."""
    return None if value in (None, "") else int(value)


def read_quantity(form: FlaskForm, product: Product | None) -> int | None:
    """The quantity field (read in the unit chosen) as grams or pieces of this product, or None with the error shown."""
    if form.quantity.errors:
        return None
    try:
        check_unit(form.unit.data, product)
    except BadEntry as error:
        show_error(form, "quantity", str(error))
        return None
    return form.quantity.quantity


# Who sees which counter and lot.


def counter_in_view(user: User) -> Counter:
    """The counter a page shows: the user's own, or for the manager the one chosen with ?counter=."""
    chosen = request.args.get("counter", type=int)
    if user.role is Role.ADMIN and chosen:
        if not 0 < chosen < 2**31:  # a row id, as RowId takes them: a huge one is a 404, not a database error
            abort(404)
        return find_counter(chosen)
    return counter_for(user)


def counter_args(user: User, counter: Counter) -> dict:
    """The query arguments that keep the manager on the counter they chose."""
    return {"counter": counter.id} if user.role is Role.ADMIN and counter.id != counter_for(user).id else {}


def lot_for(user: User, lot_id: int) -> Lot:
    """A lot the user may handle: 404 if there is none, 403 for a clerk of another counter."""
    lot = stock.lot_details(lot_id)
    if lot is None:
        abort(404)
    if user.role is Role.CLERK and lot.counter_id != counter_for(user).id:
        abort(403)
    return lot


def expiry(best_before: date, today: date) -> str | None:
    """How close a lot is to its best-before date: "expired", "near" (within NEAR_EXPIRY_DAYS) or None."""
    if best_before < today:
        return "expired"
    if (best_before - today).days <= current_app.config["NEAR_EXPIRY_DAYS"]:
        return "near"
    return None


# The shelf.


@dataclass(frozen=True)
class ProductStock:
    """One product's lots at a counter, with what is on hand and what may be sold today."""

    product: Product
    lots: list[Lot]
    on_hand: int
    sellable: int


def stock_by_product(lots: list[Lot], sellable: dict[int, int]) -> list[ProductStock]:
    """Group a counter's lots (ordered by product) under their products."""
    groups: dict[int, list[Lot]] = {}
    for lot in lots:
        groups.setdefault(lot.product_id, []).append(lot)
    return [
        ProductStock(group[0].product, group, sum(lot.qty_on_hand for lot in group), sellable.get(product_id, 0))
        for product_id, group in groups.items()
    ]


@bp.route("/")
@roles_required(*STOCK_STAFF)
def index():
    """The counter's stock by product, with each product's lots; finished lots with ?all=1."""
    user = signed_in_user()
    counter = counter_in_view(user)
    today = business_today()
    show_all = request.args.get("all") == "1"
    lots = stock.counter_lots(counter.id, include_empty=show_all)
    return render_template(
        "admin/stock/index.html",
        counter=counter,
        counters=stock.open_counters() if user.role is Role.ADMIN else [],
        here=counter_args(user, counter),
        groups=stock_by_product(lots, stock.available_at_counter(counter.id, today)),
        states={lot.id: expiry(lot.best_before, today) for lot in lots if lot.qty_on_hand},
        show_all=show_all,
    )


# Receiving.


class ReceiveForm(FlaskForm):
    """A household's delivery: what, from whom, how much, until when, on which terms."""

    product = SelectField(_l("Product"), coerce=_optional_id, validators=[InputRequired(_l("Choose a product."))])
    household = SelectField(
        _l("Household"), coerce=_optional_id, validators=[InputRequired(_l("Choose the household that delivered."))]
    )
    #: What the clerk typed to find the household: its choices are at most households.SEARCH_LIMIT matches.
    household_search = OneLineField(_l("Find the household"), validators=[Optional()], max_length=200)
    quantity = QuantityField(_l("Quantity"), validators=[InputRequired(_l("Give the quantity.")), Length(max=20)])
    unit = SelectField(_l("Unit"))
    best_before = DateField(_l("Best before"), validators=[InputRequired(_l("Give the best-before date."))])
    mode = RadioField(_l("Settlement"), default=SettlementMode.CONSIGNMENT.value)
    share = StringField(_l("Household's share of the sale price (%)"), validators=[Length(max=10)])
    price = MoneyField(
        _l("Price agreed for the whole lot (yuan)"),
        [Length(max=20)],
        message=_l("Write the price in yuan, such as 150 or 150.50."),
    )
    counter = SelectField(_l("Counter"), coerce=_optional_id)
    #: The households the search found, offered by receive_page (with full names when it answers 200).
    found: tuple[Household, ...] = ()


#: Which form field a use case's error names.
RECEIVE_FIELDS = {
    "product_id": "product",
    "household_id": "household",
    "quantity": "quantity",
    "best_before": "best_before",
    "share_bp": "share",
    "purchase_price_fen": "price",
    "counter_id": "counter",
}


def receive_form(user: User, on_sale: dict[int, Product]) -> ReceiveForm:
    """The receiving form with this user's choices: active products, the households found, counters."""
    chosen = on_sale.get(request.args.get("product_id", type=int) or 0)
    submitted = on_sale.get(_typed_id(request.form.get("product")) or 0)
    form = ReceiveForm(
        product=chosen.id if chosen else None,
        unit=unit_choices(chosen.unit)[0][0] if chosen else "jin",
        share=percent_text(stock.default_share_bp()),
        counter=request.args.get("counter", type=int) or counter_for(user).id,
    )
    # Each product names its unit, so the page can offer only the units it is counted in.
    form.product.choices = [SelectChoice("", _("Choose a product"))] + [
        SelectChoice(p.id, f"{localised(p)} · {p.sku}", render_kw={"data-unit": p.unit.value}) for p in on_sale.values()
    ]
    form.found = found_households(user, form)
    form.household.choices = household_choices(form.found, set())
    # The unit follows the product: 斤 or grams for goods by weight, pieces for jars and packs.
    form.unit.choices = options(unit_choices((submitted or chosen).unit if (submitted or chosen) else None))
    # Every unit's words, for static/js/receive-units.js when another product is chosen.
    names = ("data-label-jin", "data-label-gram", "data-label-piece")
    form.unit.render_kw = dict(zip(names, unit_words(), strict=True))
    form.mode.choices = options([(m.value, label(m)) for m in SettlementMode])
    counters = stock.open_counters()
    # A clerk always receives at their own counter, and one counter is no choice at all.
    if user.role is Role.ADMIN and len(counters) > 1:
        form.counter.choices = options([(c.id, c.name) for c in counters])
    else:
        del form.counter
    return form


def _typed_id(text: str | None) -> int | None:
    """A submitted select's value as a row id, or None when it is not one."""
    text = (text or "").strip()
    return int(text) if text.isascii() and text.isdigit() and 0 < int(text) < 2**31 else None


def household_choices(found, in_full: set[int]) -> list:
    """The picker's options: a placeholder, then each household found."""
    return options([("", _("Choose a household"))] + [(h.id, household_choice(h, h.id in in_full)) for h in found])


def household_choice(household: Household, in_full: bool) -> str:
    """A household as the picker offers it: its code and head, in full for staff receiving goods, and its village."""
    head = household.head_name if in_full else household.head_name_masked
    return f"{household.code} · {head} · {localised(household.village)}"


def found_households(user: User, form: ReceiveForm) -> list[Household]:
    """The household already chosen (if the user may see it), then those the search text finds.

    With 50,000 households one <select> of all of them is no use on a tablet: the choices are the
    chosen one and at most households.SEARCH_LIMIT matches of what was typed.
    """
    picked = chosen_household(user, request.form.get("household"))
    found = [picked] if picked else []
    for household in households.search_visible(user, form.household_search.data):
        if household not in found:
            found.append(household)
    return found


def chosen_household(user: User, typed: str | None) -> Household | None:
    """The household a submitted form names, if it is an id the user may see."""
    typed = (typed or "").strip()
    if not typed.isascii() or not typed.isdigit() or not 0 < int(typed) < 2**31:
        return None
    try:
        return households.visible_household(user, int(typed))
    except DomainError:
        return None


def receive_page(form: ReceiveForm, status: int = 200, *, finding: bool = False, here: dict | None = None):
    """The receiving form; after Find, the household chosen is named in full so the clerk can check who stands there.

    Showing the full name is logged (who saw it, never the name), as a full phone number is. A
    refused delivery does not show it again: the clerk checked it when choosing.
    """
    picked = None
    if finding and form.household.data is None:
        matches = [value for value, *_rest in form.household.iter_choices() if value not in (None, "")]
        if len(matches) == 1:  # one household found: it is the one meant
            form.household.data = matches[0]
    if finding and isinstance(form.household.data, int):
        picked = chosen_household(signed_in_user(), str(form.household.data))
    # Staff receiving goods tell the households apart by their heads' full names. A refused delivery
    # (4xx) shows the masks and records nothing: the clerk checked the name when choosing.
    user = signed_in_user()
    full = households.named_in_full(user, list(form.found), receiving=True) if status < 400 else set()
    form.household.choices = household_choices(form.found, full)
    # PIPL: record who saw which households' names in full (never the names) before showing them.
    audit.personal_data_listed(Household.__tablename__, full | ({picked.id} if picked else set()), "head_name")
    found = len(form.household.choices) - 1
    body = render_template(
        "admin/stock/receive.html",
        form=form,
        here=here or {},
        picked=picked,
        found=found,
        searched=bool(households.search_text(form.household_search.data)),
        search_limit=households.SEARCH_LIMIT,
    )
    return body, status


@dataclass(frozen=True)
class Delivery:
    """A receiving form read into the values receive_lot takes."""

    quantity: int
    share_bp: int | None
    purchase_price_fen: int | None


def read_delivery(form: ReceiveForm, on_sale: dict[int, Product]) -> Delivery | None:
    """The form's quantity and terms as integers, or None with the errors shown."""
    quantity = read_quantity(form, on_sale.get(form.product.data))
    share_bp = None
    if form.mode.data == SettlementMode.CONSIGNMENT and (form.share.data or "").strip():
        try:
            share_bp = parse_share(form.share.data)
        except BadEntry as error:
            show_error(form, "share", str(error))
    # A price typed beside 代销 is passed on (form.price.fen), so the terms refuse it instead of dropping it unseen.
    price_fen = form.price.fen
    if form.mode.data == SettlementMode.PURCHASE and not (form.price.data or "").strip():
        show_error(form, "price", _("Give the price agreed for the whole lot, in yuan."))
    if quantity is None or form.errors:
        return None
    return Delivery(quantity, share_bp, price_fen)


@bp.route("/receive", methods=["GET", "POST"])
@roles_required(*STOCK_STAFF)
def receive():
    """Show the receiving form; receive the delivery as a new lot and go to its page."""
    user = signed_in_user()
    on_sale = {p.id: p for p in products.active_products()}
    form = receive_form(user, on_sale)
    # Back to the stock of the counter the manager came from.
    back = {"counter": form.counter.data} if "counter" in form and form.counter.data != counter_for(user).id else {}
    if not form.is_submitted():
        return receive_page(form, here=back)
    if request.form.get("action") == "find":
        # Finding the household receives nothing: the form comes back with what was typed.
        form.household.process_data(form.household.data if form.household.data in valid_ids(form) else None)
        return receive_page(form, finding=True, here=back)
    status = 422
    # Every field is checked, so that all mistakes show at once.
    valid = form.validate()
    delivery = read_delivery(form, on_sale)
    if valid and delivery:
        try:
            terms = stock.settlement_terms(
                form.mode.data, delivery.share_bp, delivery.purchase_price_fen, stock.default_share_bp()
            )
            lot = stock.receive_lot(
                product_id=form.product.data,
                household_id=form.household.data,
                quantity=delivery.quantity,
                best_before=form.best_before.data,
                terms=terms,
                received_by=user,
                today=business_today(),
                counter_id=form.counter.data if "counter" in form else None,
            )
        except DomainError as error:
            status = show_domain_error(form, error, RECEIVE_FIELDS)
        else:
            flash(
                _(
                    "Lot %(code)s received: %(qty)s of %(product)s.",
                    code=lot.code,
                    qty=quantity_text(lot.qty_received, lot.product.unit),
                    product=localised(lot.product),
                ),
                "info",
            )
            return redirect(url_for(".lot", lot_id=lot.id, received=1))
    return receive_page(form, status, here=back)


def valid_ids(form: ReceiveForm) -> set[int]:
    """The household ids the form offers."""
    return {value for value, *_rest in form.household.iter_choices() if isinstance(value, int)}


# One lot: its history, write-offs and returns.


class WriteOffForm(FlaskForm):
    """Goods taken off the shelf unsold (报损)."""

    quantity = QuantityField(_l("Quantity"), validators=[InputRequired(_l("Give the quantity.")), Length(max=20)])
    unit = SelectField(_l("Unit"))
    reason = SelectField(_l("Reason"))
    note = OneLineField(_l("Note"), validators=[Optional()], max_length=200)


class ReturnForm(FlaskForm):
    """Unsold consignment goods given back to their household (退回农户)."""

    quantity = QuantityField(_l("Quantity"), validators=[InputRequired(_l("Give the quantity.")), Length(max=20)])
    unit = SelectField(_l("Unit"))
    note = OneLineField(_l("Note"), validators=[Optional()], max_length=200)


class TransferForm(FlaskForm):
    """Part of a lot moved to another counter (调拨)."""

    quantity = QuantityField(_l("Quantity"), validators=[InputRequired(_l("Give the quantity.")), Length(max=20)])
    unit = SelectField(_l("Unit"))
    to_counter = SelectField(
        _l("To counter"), coerce=_optional_id, validators=[InputRequired(_l("Choose the counter to move it to."))]
    )
    note = OneLineField(_l("Note"), validators=[Optional()], max_length=200)


def transfer_form(lot: Lot) -> TransferForm:
    """The transfer form for a lot: its product's units, and every other open counter."""
    choices = unit_choices(lot.product.unit)
    form = TransferForm(prefix="transfer", unit=choices[0][0])
    form.unit.choices = options(choices)
    others = [(c.id, c.name) for c in stock.open_counters() if c.id != lot.counter_id]
    form.to_counter.choices = options([("", _("Choose a counter"))] + others)
    return form


def write_off_form(lot: Lot) -> WriteOffForm:
    """The write-off form for a lot, in its product's units."""
    choices = unit_choices(lot.product.unit)
    form = WriteOffForm(prefix="write_off", unit=choices[0][0])
    form.unit.choices = options(choices)
    form.reason.choices = options([(r.value, label(r)) for r in WriteOffReason])
    return form


def return_form(lot: Lot) -> ReturnForm:
    """The return form for a lot, in its product's units."""
    choices = unit_choices(lot.product.unit)
    form = ReturnForm(prefix="return", unit=choices[0][0])
    form.unit.choices = options(choices)
    return form


def lot_page(
    lot: Lot,
    *,
    write_off: WriteOffForm | None = None,
    give_back: ReturnForm | None = None,
    move: TransferForm | None = None,
    status: int = 200,
    question: str | None = None,
):
    """A lot's page, with a failed form kept as it was typed, or a write-off waiting for its confirmation."""
    from shop.pdf.labels import MAX_COPIES  # reportlab: loaded by the lot pages, where labels are printed

    write_off = write_off or write_off_form(lot)
    give_back = give_back or return_form(lot)
    move = move or transfer_form(lot)
    can_write_off = lot.qty_on_hand > 0
    can_return = can_write_off and lot.mode is SettlementMode.CONSIGNMENT
    # One counter is no choice at all: the form shows only where there is somewhere to move to.
    can_move = can_write_off and len(move.to_counter.choices) > 1
    # A refusal of a form the page does not show (a return of a purchased lot) is shown at the top.
    unshown = [(write_off, can_write_off), (give_back, can_return), (move, can_move)]
    default_pack = GRAMS_PER_JIN if lot.product.unit is Unit.GRAM else 1
    body = render_template(
        "admin/stock/lot.html",
        lot=lot,
        movements=stock.movements_of(lot.id),
        state=expiry(lot.best_before, business_today()) if lot.qty_on_hand else None,
        write_off=write_off,
        give_back=give_back,
        can_write_off=can_write_off,
        can_return=can_return,
        move=move,
        can_move=can_move,
        moved_out=stock.transfers_from(lot.id),
        alerts=[m for form, shown in unshown if not shown for ms in form.errors.values() for m in ms],
        default_pack=default_pack,
        default_copies=max(1, min(MAX_COPIES, lot.qty_on_hand // default_pack)),
        max_copies=MAX_COPIES,
        just_received=request.args.get("received") == "1",
        question=question,
        here=counter_args(signed_in_user(), lot.counter),
    )
    return body, status


@bp.route("/lots/<id:lot_id>")
@roles_required(*STOCK_STAFF)
def lot(lot_id: int):
    """A lot's details, its movements, and the forms that change it."""
    return lot_page(lot_for(signed_in_user(), lot_id))


@bp.post("/lots/<id:lot_id>/write-off")
@roles_required(*STOCK_STAFF)
def write_off(lot_id: int):
    """Take spoiled, damaged or sample goods off a lot (报损)."""
    user = signed_in_user()
    lot = lot_for(user, lot_id)
    form = write_off_form(lot)
    status = 422
    if form.validate() and (quantity := read_quantity(form, lot.product)):
        if quantity > lot.qty_on_hand:
            # Asking about goods the lot does not hold helps no one: say what it holds instead.
            status = show_domain_error(form, stock.not_enough_on_hand(lot), {"quantity": "quantity"})
            return lot_page(lot, write_off=form, status=status)
        if request.form.get("confirmed") != "yes":
            # Goods leave the shelf for good on one tap: ask first, saying how much and why.
            question = _(
                "Write off %(qty)s of %(product)s from lot %(code)s (%(reason)s)? The goods leave the shelf for good.",
                qty=staff_quantity_text(quantity, lot.product.unit),
                product=localised(lot.product),
                code=lot.code,
                reason=label(WriteOffReason(form.reason.data)),
            )
            return lot_page(lot, write_off=form, question=question)
        try:
            stock.write_off(
                lot_id=lot.id,
                quantity=quantity,
                reason=WriteOffReason(form.reason.data),
                note=(form.note.data or "").strip(),
                by=user,
            )
        except DomainError as error:
            status = show_domain_error(form, error, {"quantity": "quantity"})
        else:
            flash(
                _("%(qty)s written off lot %(code)s.", qty=quantity_text(quantity, lot.product.unit), code=lot.code),
                "info",
            )
            return redirect(url_for(".lot", lot_id=lot.id))
    return lot_page(lot, write_off=form, status=status)


@bp.post("/lots/<id:lot_id>/return")
@roles_required(*STOCK_STAFF)
def give_back(lot_id: int):
    """Give unsold consignment goods back to the household that supplied them (退回农户)."""
    user = signed_in_user()
    lot = lot_for(user, lot_id)
    form = return_form(lot)
    status = 422
    if form.validate() and (quantity := read_quantity(form, lot.product)):
        try:
            stock.return_to_household(lot_id=lot.id, quantity=quantity, note=(form.note.data or "").strip(), by=user)
        except DomainError as error:
            status = show_domain_error(form, error, {"quantity": "quantity"})
        else:
            flash(
                _(
                    "%(qty)s of lot %(code)s returned to the household.",
                    qty=quantity_text(quantity, lot.product.unit),
                    code=lot.code,
                ),
                "info",
            )
            return redirect(url_for(".lot", lot_id=lot.id))
    return lot_page(lot, give_back=form, status=status)


@bp.post("/lots/<id:lot_id>/transfer")
@roles_required(*STOCK_STAFF)
def transfer(lot_id: int):
    """Move part of a lot to another counter (调拨), and go to the new lot's page when the user may see it."""
    user = signed_in_user()
    lot = lot_for(user, lot_id)
    form = transfer_form(lot)
    status = 422
    if form.validate() and (quantity := read_quantity(form, lot.product)):
        try:
            moved = stock.transfer(
                lot_id=lot.id,
                to_counter_id=form.to_counter.data,
                quantity=quantity,
                note=(form.note.data or "").strip(),
                by=user,
            )
        except DomainError as error:
            status = show_domain_error(form, error, {"quantity": "quantity", "to_counter_id": "to_counter"})
        else:
            flash(
                _(
                    "%(qty)s of lot %(code)s moved to %(counter)s as lot %(new)s.",
                    qty=quantity_text(quantity, lot.product.unit),
                    code=lot.code,
                    counter=moved.counter.name,
                    new=moved.code,
                ),
                "info",
            )
            # A clerk may not open a lot at another counter: they stay on the source lot.
            shown = moved if user.role is Role.ADMIN else lot
            return redirect(url_for(".lot", lot_id=shown.id))
    return lot_page(lot, move=form, status=status)


# Printed documents.


def chinese_terms(lot: Lot) -> str:
    """A lot's settlement terms as the household reads them on the slip."""
    if lot.mode is SettlementMode.CONSIGNMENT:
        return f"代销：售出后农户得售价的 {share_text(lot.share_bp)}"
    return f"收购：整批价款 {format_fen(lot.purchase_price_fen)}，收货时计入农户收入"


def trace_url(lot: Lot) -> str:
    """The public trace page the lot's QR codes open, on the public address when one is configured."""
    return public_url("catalog.trace", token=lot.trace_token)


@bp.get("/lots/<id:lot_id>/slip.pdf")
@roles_required(*STOCK_STAFF)
def slip(lot_id: int):
    """The receiving slip (收货单) the household and the clerk sign."""
    from shop.pdf import ReceivingSlip, render_receiving_slip

    lot = lot_for(signed_in_user(), lot_id)
    household, village = lot.household, lot.household.village
    document = render_receiving_slip(
        ReceivingSlip(
            counter_name=lot.counter.name,
            counter_address=lot.counter.address,
            lot_code=lot.code,
            received_at=local_time(lot.received_at),
            received_by=lot.received_by.display_name or lot.received_by.username,
            household_code=household.code,
            # Masked like everywhere else: the code identifies the household, who signs in their own hand.
            household_name=household.head_name_masked,
            village=f"{village.town.name_zh}{village.name_zh}",
            product_name=lot.product.name_zh,
            product_sku=lot.product.sku,
            quantity_text=printed_quantity_zh(lot.qty_received, lot.product.unit),
            best_before=lot.best_before,
            terms_text=chinese_terms(lot),
            trace_url=trace_url(lot),
            own_page_url=own_page_url(household.id),
        )
    )
    return pdf_response(document, f"{lot.code}-slip.pdf")


def whole_number(name: str, default: int, most: int) -> int | None:
    """A query argument as a whole number from 1 to most, default when missing, None when it is not one."""
    text = request.args.get(name, "").strip()
    if not text:
        return default
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= most:
        return None
    return int(text)


def bad_setting(name: str, message: str):
    """A 422 page naming the print setting at fault."""
    return error_response(422, "invalid", message, {name: message})


@bp.get("/lots/<id:lot_id>/labels.pdf")
@roles_required(*STOCK_STAFF)
def labels(lot_id: int):
    """Package labels for a lot: ?pack= grams or pieces a package (500 g or 1 piece), ?copies= labels."""
    from shop.pdf import PackageLabel, render_labels
    from shop.pdf.labels import MAX_COPIES

    lot = lot_for(signed_in_user(), lot_id)
    product = lot.product
    weighed = product.unit is Unit.GRAM
    pack = whole_number("pack", GRAMS_PER_JIN if weighed else 1, lot.qty_received)
    if pack is None:
        message = _(
            "A package holds a whole number of grams or pieces, from %(min)s to %(max)s.",
            min=staff_quantity_text(1, product.unit),
            max=staff_quantity_text(lot.qty_received, product.unit),
        )
        return bad_setting("pack", message)
    copies = whole_number("copies", 1, MAX_COPIES)
    if copies is None:
        return bad_setting("copies", _("Print from 1 to %(n)d labels at a time.", n=MAX_COPIES))
    today = business_today()
    certified = product.cert_no and not (product.cert_expires_on and product.cert_expires_on < today)
    village = lot.household.village
    label_ = PackageLabel(
        product_name=product.name_zh,
        net_text=f"净含量 {pack} 克" if weighed else f"数量 {pack} 件",
        price_text=format_fen(price_for(pack, product.price_fen, product.price_per)),
        best_before=lot.best_before,
        lot_code=lot.code,
        origin=f"临高县{village.town.name_zh}{village.name_zh}",
        # An expired certificate is not printed: the label would claim what no longer holds.
        cert_no=product.cert_no if certified else None,
        trace_url=trace_url(lot),
    )
    return pdf_response(render_labels(label_, copies), f"{lot.code}-labels.pdf")


# Stocktake.


class StocktakeForm(FlaskForm):
    """What was counted on the shelf; one count, unit and expected quantity per lot are added to it."""

    note = OneLineField(_l("Note"), validators=[Optional()], max_length=200)


def stocktake_form(lots: list[Lot]) -> StocktakeForm:
    """A stocktake form with a row for each lot."""

    class Form(StocktakeForm):
        pass

    for lot in lots:
        choices = unit_choices(lot.product.unit)
        setattr(Form, f"count_{lot.id}", StringField(validators=[Optional(), Length(max=20)]))
        setattr(Form, f"unit_{lot.id}", SelectField(choices=options(choices), default=choices[0][0]))
        # What the clerk saw when the form opened: a sale since then makes the count stale.
        setattr(Form, f"expected_{lot.id}", HiddenField(default=str(lot.qty_on_hand)))
    return Form()


def lots_to_count(counter: Counter) -> list[Lot]:
    """The lots a stocktake lists: those with stock, and any counted in the form just sent."""
    if request.method != "POST":
        return stock.counter_lots(counter.id)
    return [
        lot
        for lot in stock.counter_lots(counter.id, include_empty=True)
        if lot.qty_on_hand > 0 or f"count_{lot.id}" in request.form
    ]


def read_counts(form: StocktakeForm, lots: list[Lot]) -> dict[int, int] | None:
    """The filled-in rows as grams or pieces by lot id, or None with the errors shown."""
    counts = {}
    for lot in lots:
        if not (form[f"count_{lot.id}"].data or "").strip():
            continue
        expected = form[f"expected_{lot.id}"]
        if expected.data != str(lot.qty_on_hand):
            expected.data = str(lot.qty_on_hand)
            show_error(
                form,
                f"count_{lot.id}",
                _(
                    "This lot changed since the form was opened (a sale?): it now holds %(qty)s. Count it again.",
                    qty=quantity_text(lot.qty_on_hand, lot.product.unit),
                ),
            )
            continue
        try:
            # Zero is a count too: the lot is gone from the shelf.
            counted = parse_quantity(
                form[f"count_{lot.id}"].data, form[f"unit_{lot.id}"].data, lot.product, allow_zero=True
            )
        except BadEntry as error:
            show_error(form, f"count_{lot.id}", str(error))
        else:
            counts[lot.id] = counted
    if not form.errors:
        return counts
    # The row at fault may be far down a long list: say so at the top too.
    show_error(form, None, _("Some counts need another look, marked below. Nothing was recorded."))
    return None


@bp.route("/stocktake", methods=["GET", "POST"])
@roles_required(*STOCK_STAFF)
def stocktake():
    """Show every lot with stock for counting; book the differences of the rows filled in (盘点)."""
    user = signed_in_user()
    counter = counter_in_view(user)
    lots = lots_to_count(counter)
    form = stocktake_form(lots)
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate() and (counts := read_counts(form, lots)) is not None:
            try:
                # What this request read is what the form showed (read_counts checked); the use case
                # checks it again under the lock, in case a sale lands in between.
                seen = {lot.id: lot.qty_on_hand for lot in lots if lot.id in counts}
                movements = stock.stocktake(counts=counts, note=(form.note.data or "").strip(), by=user, expected=seen)
            except DomainError as error:
                field = (error.field or "").replace("counts.", "count_")
                status = show_domain_error(form, error, {error.field or "": field})
            else:
                differences = sum(1 for m in movements if m.qty_delta)
                flash(
                    _(
                        "Stocktake recorded: %(n)d lots counted, %(d)d differences booked.",
                        n=len(movements),
                        d=differences,
                    ),
                    "info",
                )
                return redirect(url_for(".index", **counter_args(user, counter)))
    return render_template(
        "admin/stock/stocktake.html", form=form, lots=lots, counter=counter, here=counter_args(user, counter)
    ), status
