"""The catalog's products, for the counter manager: the list, adding one, editing one, its picture.

A price change takes effect from that moment: sales already made keep the price their lines froze,
and a sale queued offline is priced from the product's price history (shop.catalog.pricing) at the moment
it was rung up. Every change is in the audit trail with the old and new values (shop.audit). A SKU
and a unit never change after the product exists: lots, labels and sales carry them.
"""

from dataclasses import dataclass
from datetime import datetime

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, SelectField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from shop import money
from shop.catalog import pricing, products
from shop.clock import business_today, local_time
from shop.errors import DomainError
from shop.extensions import db
from shop.models import Product, ProductCategory, Role
from shop.units import Unit
from shop.web.access import roles_required, signed_in_user
from shop.web.forms import MANY_LINES, MoneyField, OneLineField, show_domain_error, show_error
from shop.web.templating import label

bp = Blueprint("admin_products", __name__, url_prefix="/admin/products")

manager_only = roles_required(Role.ADMIN)

#: Which form field shows each use-case error.
FIELDS = {"sku": "sku", "name_zh": "name_zh", "name": "name_zh", "price": "price", "price_per": "per", "image": "image"}
#: The quantities a price may be per, by unit: a 斤 is how a Hainan market prices dried seafood.
PER_CHOICES = {Unit.GRAM: (500, 1000, 100), Unit.PIECE: (1,)}


def per_label(unit: Unit, per: int) -> str:
    """How a price's quantity reads in a select: "per jin (500 g)", "per piece"."""
    if unit is Unit.PIECE:
        return _("per piece") if per == 1 else _("per %(n)s pieces", n=per)
    return {500: _("per jin (500 g)"), 1000: _("per kg")}.get(per) or _("per %(n)s g", n=per)


def per_choices(unit: Unit, current: int | None = None) -> list[SelectChoice]:
    """The quantities a price may be per, keeping a product's own if it was set another way (by the API)."""
    pers = list(PER_CHOICES[unit])
    if current and current not in pers:
        pers.append(current)
    return [SelectChoice(str(p), per_label(unit, p)) for p in pers]


class ProductForm(FlaskForm):
    """What the manager may change about a product."""

    name_zh = OneLineField(_l("Name (Chinese)"), validators=[DataRequired()], max_length=100)
    name_en = OneLineField(_l("Name (English)"), validators=[Optional()], max_length=100)
    category = SelectField(_l("Shelf section"), validators=[DataRequired()])
    price = MoneyField(
        _l("Price (yuan)"), [DataRequired(), Length(max=20)], message=_l("Give the price in yuan, such as 68 or 68.50.")
    )
    per = SelectField(_l("Per"), validators=[DataRequired()])
    description_zh = TextAreaField(_l("Description (Chinese)"), validators=[Length(max=2000), MANY_LINES])
    description_en = TextAreaField(_l("Description (English)"), validators=[Length(max=2000), MANY_LINES])
    cert_no = OneLineField(_l("Assistance product certificate no."), max_length=60)
    cert_issuer = OneLineField(_l("Issued by"), max_length=100)
    cert_expires_on = DateField(_l("Certificate valid until"), validators=[Optional()])
    active = BooleanField(_l("On sale"))

    def fill_choices(self, unit: Unit, current_per: int | None = None) -> None:
        """The select options for a product of this unit."""
        self.category.choices = [SelectChoice(c.value, label(c)) for c in ProductCategory]
        self.per.choices = per_choices(unit, current_per)

    def changes(self) -> dict | None:
        """The use case's keyword arguments, or None when the price was not read."""
        if self.price.fen is None:
            return None
        return {
            "name_zh": self.name_zh.data,
            "name_en": self.name_en.data or "",
            "category": ProductCategory(self.category.data),
            "price_fen": self.price.fen,
            "price_per": int(self.per.data),
            "description_zh": self.description_zh.data or "",
            "description_en": self.description_en.data or "",
            "cert_no": self.cert_no.data or None,
            "cert_issuer": self.cert_issuer.data or None,
            "cert_expires_on": self.cert_expires_on.data,
            "active": self.active.data,
        }


class NewProductForm(ProductForm):
    """A new product: its SKU and unit too, which never change afterwards."""

    sku = OneLineField(_l("SKU"), validators=[DataRequired()], max_length=40)
    unit = SelectField(_l("How it is sold"), validators=[DataRequired()])

    def fill_choices(self, unit: Unit, current_per: int | None = None) -> None:
        """Every unit's quantities: the unit is still being chosen."""
        super().fill_choices(unit)
        self.unit.choices = [
            SelectChoice(Unit.GRAM.value, _("by weight")),
            SelectChoice(Unit.PIECE.value, _("by the piece")),
        ]
        self.per.choices = per_choices(Unit.GRAM) + per_choices(Unit.PIECE)


class PictureForm(FlaskForm):
    """A photo of the product for the catalog."""

    image = FileField(_l("Photo"), validators=[FileRequired(_l("Choose a photo."))])


class EmptyForm(FlaskForm):
    """Only the CSRF token: a button that changes one thing."""


@dataclass(frozen=True)
class PriceChange:
    """A price the product was given, from when and by whom (from its price history)."""

    at: datetime
    actor: str
    price_fen: int
    price_per: int


def price_history(product: Product) -> list[PriceChange]:
    """The product's prices, newest first: every price it was given, as the sales read them."""
    return [
        PriceChange(row.valid_from, row.set_by.username if row.set_by else _("system"), row.price_fen, row.price_per)
        for row in pricing.history_of(product.id)
    ]


def allow_picture_upload() -> None:
    """Let a picture upload be larger than the app's 1 MiB body limit, before anything reads the body."""
    if request.endpoint == "admin_products.picture":
        # The multipart wrapping adds a little to the file itself.
        request.max_content_length = current_app.config["PRODUCT_IMAGE_MAX_BYTES"] + 64 * 1024


@bp.get("/")
@manager_only
def index():
    """Every product, on sale first, with its price, section, picture and certificate."""
    return render_template(
        "admin/products/index.html", rows=products.all_products(), per_label=per_label, today=business_today()
    )


@bp.route("/new", methods=["GET", "POST"])
@manager_only
def new():
    """Add a product to the catalog."""
    form = NewProductForm(active=True, per="500")
    form.fill_choices(Unit.GRAM)
    status = 200
    if form.is_submitted():
        status = 422
        if form.validate() and (changes := form.changes()) is not None:
            status = _create(form, changes)
            if status is None:
                return redirect(url_for(".index"))
    return render_template("admin/products/new.html", form=form), status


def _create(form: NewProductForm, changes: dict) -> int | None:
    """Create the product from a valid form; the status to answer with if it was refused."""
    unit = Unit(form.unit.data)
    if changes["price_per"] not in PER_CHOICES[unit]:
        show_error(form, "per", _("Choose a quantity the unit is sold in."))
        return 422
    try:
        product = products.create_product(sku=form.sku.data, unit=unit, by=signed_in_user(), **changes)
    except DomainError as error:
        db.session.rollback()
        return show_domain_error(form, error, FIELDS)
    flash(_("Added %(name)s.", name=product.name_zh), "info")
    return None


def edit_page(product: Product, form: ProductForm, status: int = 200, picture_form=None):
    """The product's page: its details form and its picture."""
    body = render_template(
        "admin/products/edit.html",
        product=product,
        form=form,
        picture_form=picture_form or PictureForm(formdata=None),
        remove_form=EmptyForm(formdata=None),
        per_label=per_label,
        prices=price_history(product),
        local_time=local_time,
    )
    return body, status


def details_form(product: Product) -> ProductForm:
    """The details form filled in with the product as it is."""
    form = ProductForm(
        formdata=None,
        obj=product,
        category=product.category.value,
        price=money.format_fen(product.price_fen).removeprefix("¥").replace(",", ""),
        per=str(product.price_per),
    )
    form.fill_choices(product.unit, product.price_per)
    return form


@bp.route("/<id:product_id>", methods=["GET", "POST"])
@manager_only
def edit(product_id: int):
    """Change a product's names, section, price, descriptions, certificate or whether it is on sale."""
    product = _product_or_404(product_id)
    if request.method == "GET":
        return edit_page(product, details_form(product))
    form = ProductForm()
    form.fill_choices(product.unit, product.price_per)
    if not form.validate() or (changes := form.changes()) is None:
        return edit_page(product, form, 422)
    try:
        products.update_product(product_id, by=signed_in_user(), **changes)
    except DomainError as error:
        db.session.rollback()
        return edit_page(_product_or_404(product_id), form, show_domain_error(form, error, FIELDS))
    flash(_("Saved %(name)s.", name=changes["name_zh"].strip()), "info")
    return redirect(url_for(".edit", product_id=product_id))


@bp.post("/<id:product_id>/picture")
@manager_only
def picture(product_id: int):
    """Give the product a photo: checked by its content, stored re-encoded without its metadata."""
    product = _product_or_404(product_id)
    form = PictureForm()
    if not form.validate():
        return edit_page(product, details_form(product), 422, picture_form=form)
    try:
        products.set_picture(product_id, form.image.data.read())
    except DomainError as error:
        db.session.rollback()
        status = show_domain_error(form, error, FIELDS)
        return edit_page(_product_or_404(product_id), details_form(product), status, picture_form=form)
    flash(_("The photo of %(name)s is on the catalog.", name=product.name_zh), "info")
    return redirect(url_for(".edit", product_id=product_id))


@bp.post("/<id:product_id>/picture/remove")
@manager_only
def remove_picture(product_id: int):
    """Go back to the shared placeholder picture."""
    product = _product_or_404(product_id)
    if not EmptyForm().validate():
        return edit_page(product, details_form(product), 400)
    products.remove_picture(product_id)
    flash(_("The photo of %(name)s is removed.", name=product.name_zh), "info")
    return redirect(url_for(".edit", product_id=product_id))


def _product_or_404(product_id: int) -> Product:
    """The product, or a 404 page."""
    try:
        return products.find_product(product_id)
    except products.UnknownProduct:
        abort(404)
