"""What every form reads the same way: one line of text, money in yuan, a quantity in 斤, grams or pieces.

The fields trim and check what a person typed and give the use cases plain values (text,
integer fen, integer grams or pieces); a refusal is shown beside the field, in the words each
page has always used. show_error and show_domain_error put a use case's refusal on a form.
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import Length, ValidationError

from shop import units
from shop.errors import DomainError
from shop.money import InvalidAmount, parse_yuan
from shop.plain_text import is_one_line, is_plain_lines
from shop.selling.sales import RefundRequest
from shop.stock.lots import MAX_LOT_QTY
from shop.units import Unit
from shop.web.responses import status_of

#: What most pages say about a control character in a typed text.
REMOVE_CONTROLS = _l("Remove the control characters.")


class BadEntry(ValueError):
    """Something typed into a form that cannot be read as what the field asks for."""


# ---------------------------------------------------------------- text


def trimmed(value):
    """A typed text without the spaces around it (anything else as it came)."""
    return value.strip() if isinstance(value, str) else value


class PlainText:
    """A validator: the text holds no control character (tabs and line breaks too, unless many_lines)."""

    def __init__(self, message=REMOVE_CONTROLS, *, many_lines: bool = False):
        self.message = message
        self.allowed = is_plain_lines if many_lines else is_one_line

    def __call__(self, form, field) -> None:
        if isinstance(field.data, str) and not self.allowed(field.data):
            raise ValidationError(self.message)


#: Many lines (a note, a reason, a description): tabs and line breaks stay, no other control character.
MANY_LINES = PlainText(many_lines=True)


class OneLineField(StringField):
    """One line of text: trimmed, at most max_length characters, without control characters."""

    def __init__(self, label=None, validators=(), *, max_length: int | None = None, message=REMOVE_CONTROLS, **kwargs):
        checks = [*validators, *([Length(max=max_length)] if max_length is not None else []), PlainText(message)]
        super().__init__(label, checks, filters=(trimmed, *kwargs.pop("filters", ())), **kwargs)


# ---------------------------------------------------------------- money


class MoneyField(StringField):
    """An amount typed in yuan ("68", "68.50", "¥1,280"), read as integer fen into .fen; blank leaves it None."""

    def __init__(self, label=None, validators=(), *, message, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.message = message
        self.fen: int | None = None

    def post_validate(self, form, validation_stopped: bool) -> None:
        """Read the amount once the field's own checks passed."""
        self.fen = None
        typed = (self.data or "").strip()
        if validation_stopped or self.errors or not typed:
            return
        try:
            self.fen = parse_yuan(typed)
        except InvalidAmount:
            raise ValidationError(self.message) from None


# ---------------------------------------------------------------- quantities


@dataclass(frozen=True)
class QuantityWords:
    """Why a typed quantity was refused, as one kind of page says it."""

    not_a_number: str
    negative: str
    not_whole_jin: str  #: takes %(n)s, the number typed
    not_whole_grams: str
    not_whole_pieces: str
    #: When set, what any refusal of a quantity in 斤 says instead.
    any_jin: str | None = None

    def why(self, reason: str, entered_in: str, text: str | None) -> str:
        """The message for a refusal (units.InvalidQuantity.reason) of text typed in this unit."""
        if entered_in == "jin" and self.any_jin:
            return str(self.any_jin)
        if reason == units.InvalidQuantity.NEGATIVE:
            return str(self.negative)
        if reason == units.InvalidQuantity.NOT_A_NUMBER:
            return str(self.not_a_number)
        if entered_in == "jin":
            return self.not_whole_jin % {"n": (text or "").strip()}
        return str(self.not_whole_grams if entered_in == "g" else self.not_whole_pieces)


#: Staff receiving, writing off, returning, moving and counting stock.
STOCK_WORDS = QuantityWords(
    not_a_number=_l("Write the quantity as a number, such as 3 or 1.5."),
    negative=_l("The quantity must be more than zero."),
    not_whole_jin=_l("%(n)s jin is not a whole number of grams (1 jin = 500 g); weigh it in grams."),
    not_whole_grams=_l("Give whole grams."),
    not_whole_pieces=_l("Give whole pieces."),
)
#: A buyer filling the cart.
CART_WORDS = replace(
    STOCK_WORDS, not_whole_jin=_l("%(n)s jin is not a whole number of grams (1 jin = 500 g); give it in grams.")
)
#: A clerk giving back part of a sale at the till.
REFUND_WORDS = QuantityWords(
    not_a_number=_l("Type a whole number."),
    negative=_l("Type a whole number."),
    not_whole_jin="",
    not_whole_grams=_l("Type a whole number."),
    not_whole_pieces=_l("Type a whole number."),
    any_jin=_l("Type jin as a whole number of grams, like 0.5 or 1.25."),
)
#: What a zero quantity is told where one is not allowed.
MORE_THAN_ZERO = _l("The quantity must be more than zero.")


def parse_entry(text: str | None, entered_in: str, words: QuantityWords, *, allow_zero: bool = False) -> int:
    """Read a typed quantity ("1.5" 斤, "750" 克, "12" 件) as whole grams or pieces, exactly, or BadEntry saying why."""
    try:
        quantity = units.parse_quantity(text or "", entered_in)
    except units.InvalidQuantity as bad:
        raise BadEntry(words.why(bad.reason, entered_in, text)) from None
    if quantity == 0 and not allow_zero:
        raise BadEntry(str(MORE_THAN_ZERO))
    return quantity


class QuantityField(StringField):
    """A quantity typed in the unit the form's `unit` field names, read as whole grams or pieces into .quantity.

    The units offered are the unit field's choices, or `offered` when a view sets it for its
    product; a unit outside them is left to the unit field, or refused with `wrong_unit`.
    """

    def __init__(self, label=None, validators=(), *, words: QuantityWords = STOCK_WORDS, wrong_unit=None, **kwargs):
        super().__init__(label, validators, **kwargs)
        self.words, self.wrong_unit = words, wrong_unit
        self.offered: Collection[str] | None = None
        self.quantity: int | None = None

    def post_validate(self, form, validation_stopped: bool) -> None:
        """Read the quantity once the field's own checks passed and the unit is one on offer."""
        self.quantity = None
        if validation_stopped or self.errors:
            return
        unit = form.unit.data
        if unit not in self._units(form.unit):
            if self.wrong_unit:
                raise ValidationError(self.wrong_unit)
            return
        try:
            self.quantity = parse_entry(self.data, unit, self.words)
        except BadEntry as bad:
            raise ValidationError(str(bad)) from None

    def _units(self, unit_field) -> Collection[str]:
        if self.offered is not None:
            return self.offered
        offered = {value for value, *_rest in unit_field.iter_choices()} if unit_field.choices else set()
        return offered & units.ENTRY_UNITS.keys()


def refund_quantity(text: str, unit: Unit, entered_in: str) -> int:
    """Grams or pieces from what a clerk typed: "250" g, "0.5" jin (250 g), or "2" pieces; 0 for blank."""
    if not (text or "").strip():
        return 0
    entered_in = "jin" if unit is Unit.GRAM and entered_in == "jin" else ("g" if unit is Unit.GRAM else "piece")
    quantity = parse_entry(text, entered_in, REFUND_WORDS, allow_zero=True)
    if quantity > MAX_LOT_QTY:
        raise BadEntry(_("That is more than was sold."))
    return quantity


def refund_requests(sale, form: Mapping) -> tuple[list[RefundRequest], dict[int, str]]:
    """The lines a refund form (qty-<line>, unit-<line>) asks to give back, and a message for each line typed wrong."""
    requests, errors = [], {}
    for line in sale.lines:
        try:
            quantity = refund_quantity(form.get(f"qty-{line.id}", ""), line.unit, form.get(f"unit-{line.id}", "g"))
        except BadEntry as bad:
            errors[line.id] = str(bad)
            continue
        if quantity:
            requests.append(RefundRequest(line.id, quantity))
    return requests, errors


# ---------------------------------------------------------------- a use case's refusal


def show_error(form: FlaskForm, field_name: str | None, message: str) -> None:
    """Put a message beside a form's field, or at the top when no field is at fault."""
    if field_name and field_name in form:
        form[field_name].errors = [*form[field_name].errors, message]
    else:
        form.form_errors.append(message)


def show_domain_error(form: FlaskForm, error: DomainError, fields: dict[str, str]) -> int:
    """Show a use case's refusal on the form and return the HTTP status of its kind."""
    show_error(form, fields.get(error.field or ""), error.message)
    return status_of(error)
