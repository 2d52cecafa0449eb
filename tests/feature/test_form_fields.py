"""The shared form fields: one line of text, money in yuan, a quantity in the unit the form names."""

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired

from shop.units import Unit
from shop.web.forms import (
    CART_WORDS,
    BadEntry,
    MoneyField,
    OneLineField,
    QuantityField,
    refund_quantity,
)


class NoteForm(Form):
    note = OneLineField("Note", max_length=10)


class PriceForm(Form):
    price = MoneyField("Price", message="Give the price in yuan.")


class WeighedForm(Form):
    quantity = QuantityField("Quantity", [InputRequired("Give the quantity.")])
    unit = SelectField("Unit", choices=[SelectChoice("jin", "jin"), SelectChoice("g", "grams")])


class CartForm(Form):
    quantity = QuantityField("Quantity", words=CART_WORDS, wrong_unit="Choose the unit from the list.")
    unit = SelectField("Unit", validate_choice=False)


def submitted(app, form_class, **fields):
    """A form of this class filled in with these fields, validated; returns (form, valid)."""
    with app.test_request_context(headers={"Accept-Language": "en"}):
        form = form_class(MultiDict(fields))
        valid = form.validate()
        # Read the messages in the request's language before it ends.
        form.messages = {name: [str(m) for m in errors] for name, errors in form.errors.items()}
        return form, valid


@pytest.mark.parametrize(("typed", "kept"), [("  虾干 ", "虾干"), ("", ""), ("1234567890", "1234567890")])
def test_one_line_is_trimmed(app, typed, kept):
    form, valid = submitted(app, NoteForm, note=typed)
    assert valid and form.note.data == kept


@pytest.mark.parametrize("typed", ["a\x00b", "a\tb", "a\nb", "\x1b[31mred", "del\x7f"])
def test_one_line_refuses_control_characters(app, typed):
    form, valid = submitted(app, NoteForm, note=typed)
    assert not valid and form.messages["note"] == ["Remove the control characters."]


def test_one_line_is_length_bounded_after_trimming(app):
    assert submitted(app, NoteForm, note="  1234567890  ")[1]
    form, valid = submitted(app, NoteForm, note="12345678901")
    assert not valid and "note" in form.messages


@pytest.mark.parametrize(("typed", "fen"), [("68", 6800), ("68.5", 6850), ("¥1,280.00", 128000), ("６８", 6800)])
def test_money_reads_yuan_as_fen(app, typed, fen):
    form, valid = submitted(app, PriceForm, price=typed)
    assert valid and form.price.fen == fen


def test_blank_money_is_no_amount(app):
    form, valid = submitted(app, PriceForm, price="  ")
    assert valid and form.price.fen is None


@pytest.mark.parametrize("typed", ["-5", "68.555", "1e9", "abc", "1000000000000", "68\x00", "NaN", "٣"])
def test_money_refuses_what_is_not_an_amount(app, typed):
    form, valid = submitted(app, PriceForm, price=typed)
    assert not valid and form.price.fen is None
    assert form.messages["price"] == ["Give the price in yuan."]


@pytest.mark.parametrize(("typed", "unit", "grams"), [("1.5", "jin", 750), ("750", "g", 750), ("０.５", "jin", 250)])
def test_quantity_reads_the_unit_the_form_names(app, typed, unit, grams):
    form, valid = submitted(app, WeighedForm, quantity=typed, unit=unit)
    assert valid and form.quantity.quantity == grams


@pytest.mark.parametrize(
    ("typed", "unit", "message"),
    [
        ("-1", "g", "The quantity must be more than zero."),
        ("0", "jin", "The quantity must be more than zero."),
        ("abc", "g", "Write the quantity as a number, such as 3 or 1.5."),
        ("1\x00", "g", "Write the quantity as a number, such as 3 or 1.5."),
        ("1" * 13, "g", "Write the quantity as a number, such as 3 or 1.5."),
        ("0.001", "jin", "0.001 jin is not a whole number of grams (1 jin = 500 g); weigh it in grams."),
        ("1.5", "g", "Give whole grams."),
    ],
)
def test_quantity_refuses_bad_numbers_in_the_stock_pages_words(app, typed, unit, message):
    form, valid = submitted(app, WeighedForm, quantity=typed, unit=unit)
    assert not valid and form.quantity.quantity is None
    assert form.messages["quantity"] == [message]


def test_a_unit_the_form_does_not_offer_is_left_to_the_unit_field(app):
    form, valid = submitted(app, WeighedForm, quantity="1.5", unit="piece")
    assert not valid and "quantity" not in form.messages and "unit" in form.messages


def test_the_cart_words_and_the_units_a_product_offers(app):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        form = CartForm(MultiDict({"quantity": "0.001", "unit": "jin"}))
        form.quantity.offered = {"jin", "g"}
        assert not form.validate()
        assert str(form.errors["quantity"][0]).endswith("give it in grams.")
        form = CartForm(MultiDict({"quantity": "2", "unit": "piece"}))
        form.quantity.offered = {"jin", "g"}
        assert not form.validate()
        assert [str(m) for m in form.errors["quantity"]] == ["Choose the unit from the list."]


@pytest.mark.parametrize(
    ("typed", "unit", "entered_in", "quantity"),
    [("", Unit.GRAM, "g", 0), ("0.5", Unit.GRAM, "jin", 250), ("2", Unit.PIECE, "jin", 2), ("0", Unit.PIECE, "", 0)],
)
def test_refund_quantities(app, typed, unit, entered_in, quantity):
    with app.test_request_context(headers={"Accept-Language": "en"}):
        assert refund_quantity(typed, unit, entered_in) == quantity


@pytest.mark.parametrize(
    ("typed", "unit", "entered_in", "message"),
    [
        ("0.001", Unit.GRAM, "jin", "Type jin as a whole number of grams, like 0.5 or 1.25."),
        ("-1", Unit.GRAM, "jin", "Type jin as a whole number of grams, like 0.5 or 1.25."),
        ("1.5", Unit.PIECE, "piece", "Type a whole number."),
        ("-1", Unit.GRAM, "g", "Type a whole number."),
        ("x\x00", Unit.GRAM, "g", "Type a whole number."),
        ("999999999999", Unit.GRAM, "g", "That is more than was sold."),
    ],
)
def test_refund_quantities_refused(app, typed, unit, entered_in, message):
    with app.test_request_context(headers={"Accept-Language": "en"}), pytest.raises(BadEntry) as refused:
        refund_quantity(typed, unit, entered_in)
    assert str(refused.value) == message
