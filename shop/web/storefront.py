"""The public catalog: what the counter sells, at what price, from which villages."""

from dataclasses import dataclass

from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    send_from_directory,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _

from shop.catalog import product_images, products, shelf_cache
from shop.clock import business_today, now_utc
from shop.models import ProductCategory
from shop.stock import lots as stock
from shop.units import Unit, grams_to_jin_text, grams_to_kg_text
from shop.web.access import public
from shop.web.sessions import safe_next
from shop.web.templating import localised, price_text, product_image_url
from shop.wording import is_chinese

bp = Blueprint("catalog", __name__)

#: How long the language switch is remembered: a year.
LANG_COOKIE_AGE = 365 * 24 * 3600
#: A stored photo never changes under its name: a year.
PICTURE_CACHE_AGE = 365 * 24 * 3600


@bp.route("/")
@public
def index():
    """The home page: a page of the products on sale, with price, stock and villages."""
    category = request.args.get("category")
    chosen = ProductCategory(category) if category in set(ProductCategory) else None
    number = requested_page(request.args.get("page"))
    today, now = business_today(), now_utc()

    def render() -> tuple[str, object]:
        until = products.next_hold_lapse(now)  # read first: a hold lapsing during the render is caught next time
        page = products.catalog_page(today, chosen, number)
        html = render_template(
            "catalog/_shelf.html",
            cards=shelf_cards(page.entries),
            page=page,
            page_url=shelf_url,
            category=chosen,
            categories=products.categories_in_use(),
        )
        return html, until

    try:
        shelf = shelf_cache.cache().shelf((str(get_locale()), chosen, number), today, now, render)
    except products.PastTheLastPage as past:
        # An old link after the shelf shrank, or a made-up number: the last page is the nearest there is.
        # Nothing is kept for it, so made-up numbers cannot fill the worker's memory.
        return redirect(shelf_url(chosen, past.last))
    return render_template("catalog/index.html", shelf=shelf)


#: Digits enough for any real page number; a longer one is past the end, whatever it says.
PAGE_DIGITS = 6


def requested_page(text: str | None) -> int:
    """The shelf page a link asks for: anything but a number from 1 up is page 1, as if no page were asked."""
    if not text or not text.isascii() or not text.isdigit():
        return 1
    if len(text.lstrip("0")) > PAGE_DIGITS:
        return 10**PAGE_DIGITS  # no shelf is that long, and int() of a thousand digits is work for nothing
    return max(int(text), 1)


def shelf_url(category: ProductCategory | None, number: int) -> str:
    """The address of a page of the shelf (or of a section); page 1 is the plain one."""
    return url_for("catalog.index", category=category.value if category else None, page=number if number > 1 else None)


@dataclass(frozen=True)
class Card:
    """A product card's texts, worked out before the template prints them."""

    product_id: int
    name: str
    picture: str
    price: str
    #: "In stock: 6.5 jin", or "" when sold out.
    stock: str
    #: "From Dabo, Congtan", or "" when no lot on sale names a village.
    villages: str


def shelf_cards(entries: list[products.CatalogEntry]) -> list[Card]:
    """Each entry's card; texts many cards share (a price, a picture, a list of villages) are worked out once.

    Each phrase is translated once per shelf too: Flask-Babel's lookup costs more than the rest of a card.
    """
    prices, pictures, origins = {}, {}, {}
    stock_text = stock_wording()
    comma, origin = _(", "), _("From %(villages)s")
    cards = []
    for entry in entries:
        p = entry.product
        if (p.price_fen, p.price_per, p.unit) not in prices:
            prices[p.price_fen, p.price_per, p.unit] = price_text(p)
        if p.image not in pictures:
            pictures[p.image] = product_image_url(p)
        villages = tuple(v.id for v in entry.villages)
        if villages not in origins:
            named = comma.join(localised(v) for v in entry.villages)
            origins[villages] = origin % {"villages": named} if named else ""
        stock = stock_text(entry.available, p.unit) if entry.available else ""
        price = prices[p.price_fen, p.price_per, p.unit]
        cards.append(Card(p.id, localised(p), pictures[p.image], price, stock, origins[villages]))
    return cards


def stock_wording():
    """The stock line (In stock: 6.5 jin) in wording.quantity_text's words, each phrase translated once per shelf.

    Flask-Babel's lookup of a translation costs more than the rest of a card; a test holds this to
    quantity_text's words for every kind of quantity in both languages.
    """
    in_stock, pieces = _("In stock: %(qty)s"), _("%(n)s pcs")
    chinese = is_chinese()
    jin, grams, kg = (_("%(n)s jin"), _("%(g)s g"), None) if chinese else (None, None, _("%(n)s kg"))

    def weighed(qty: int) -> str:
        if not chinese:
            return kg % {"n": grams_to_kg_text(qty)}
        text = grams_to_jin_text(qty)
        # A crumb under 0.01 斤 would read "0 斤": say its grams instead.
        return grams % {"g": qty} if text == "0" else jin % {"n": text}

    return lambda qty, unit: in_stock % {"qty": weighed(qty) if unit is Unit.GRAM else pieces % {"n": qty}}


@bp.route("/products/<id:product_id>")
@public
def product(product_id: int):
    """A product's page: price, stock, certificate and the households it comes from."""
    item = products.product_on_sale(product_id)
    if item is None:
        abort(404)
    today = business_today()
    lots = stock.lots_on_sale(item.id, today)
    return render_template(
        "catalog/product.html",
        product=item,
        lots=lots,
        available=stock.available_by_product(today).get(item.id, 0),
        today=today,
    )


@bp.route("/pictures/products/<name>")
@public
def product_picture(name: str):
    """A product photo the manager uploaded. Its name is its content's hash, so it may be cached for good."""
    if not product_images.STORED_NAME.fullmatch(name):
        abort(404)
    response = send_from_directory(product_images.folder(), name, mimetype="image/jpeg", max_age=PICTURE_CACHE_AGE)
    response.cache_control.immutable = True
    return response


@bp.route("/lang/<code>")
@public
def switch_language(code: str):
    """Remember the chosen language and go back to the page it was chosen on."""
    if code not in current_app.config["LANGUAGES"]:
        abort(404)
    response = make_response(redirect(safe_next(request.args.get("next")) or url_for("catalog.index")))
    response.set_cookie("lang", code, max_age=LANG_COOKIE_AGE, samesite="Lax", httponly=True)
    return response


@bp.route("/trace/<token>")
@public
def trace(token: str):
    """A lot's public trace page, opened from the QR code on its package labels: where it came from."""
    lot = stock.lot_by_trace_token(token)
    if lot is None:
        abort(404)
    return render_template("catalog/trace.html", lot=lot, product=lot.product, today=business_today())
