"""How quantities read: on screen in the page's language, on printed papers in Chinese.

The one home of quantity wording, for pages (through shop.web.templating) and for use cases
whose messages name a quantity alike. Weighed goods read in 斤 in Chinese, kg in English.
"""

from flask import g, has_request_context
from flask_babel import get_locale
from flask_babel import gettext as _

from shop.units import Unit, grams_to_jin_text, grams_to_kg_text

_CHINESE = "_bangfu_is_chinese"


def is_chinese() -> bool:
    """Whether the page is being shown in Chinese; decided once per request, since a shelf asks it per product."""
    if not has_request_context():
        return str(get_locale()).startswith("zh")
    chinese = g.get(_CHINESE)
    if chinese is None:
        chinese = str(get_locale()).startswith("zh")
        setattr(g, _CHINESE, chinese)
    return chinese


def quantity_text(qty: int, unit: Unit) -> str:
    """A stock quantity as a shopper reads it: 6.5 斤 / 3.25 kg, or 12 件 / 12 pcs."""
    if unit is Unit.GRAM:
        if is_chinese():
            jin = grams_to_jin_text(qty)
            # A crumb under 0.01 斤 would read "0 斤": say its grams instead.
            return _("%(g)s g", g=qty) if jin == "0" and qty else _("%(n)s jin", n=jin)
        return _("%(n)s kg", n=grams_to_kg_text(qty))
    return _("%(n)s pcs", n=qty)


def staff_quantity_text(quantity: int, unit: Unit) -> str:
    """A quantity as staff read it at the counter, exact and in the till's units: 250 g (0.5 jin), or 2 pcs."""
    if unit is Unit.GRAM:
        jin = grams_to_jin_text(quantity)
        return _("%(g)s g (%(jin)s jin)", g=quantity, jin=jin) if jin != "0" else _("%(g)s g", g=quantity)
    return _("%(n)s pcs", n=quantity)


def printed_quantity_zh(quantity: int, unit: Unit) -> str:
    """A quantity as printed papers (receipts, slips) give it, in Chinese: 3000 克（6 斤）, or 12 件."""
    if unit is Unit.GRAM:
        jin = grams_to_jin_text(quantity)
        # A crumb under 0.01 斤 would print "0 斤": its grams say it all.
        return f"{quantity} 克（{jin} 斤）" if jin != "0" else f"{quantity} 克"
    return f"{quantity} 件"


def market_quantity_zh(quantity: int | None, unit) -> str:
    """A quantity as a Chinese market reads it: 0.5 斤 (2 克 for a crumb under 0.01 斤), 2 件; nothing for None."""
    if quantity is None:
        return ""
    if unit is Unit.GRAM:
        jin = grams_to_jin_text(quantity)
        return f"{quantity} 克" if jin == "0" and quantity else f"{jin} 斤"
    return f"{quantity} 件"
