"""Addresses that leave the app (QR codes on paper, links Stripe sends the buyer back to).

They are built on PUBLIC_BASE_URL when it is set: a tablet printing through
http://192.168.… must still print codes a buyer's phone can open.
"""

from datetime import date

from flask import current_app, url_for

from shop.oversight import household_pages


def public_base_url() -> str:
    """PUBLIC_BASE_URL without its trailing slash; empty when it is not set."""
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def public_url(endpoint: str, **values) -> str:
    """The endpoint's full address: under PUBLIC_BASE_URL when set, else under the address the request came to."""
    if base := public_base_url():
        return base + url_for(endpoint, **values)
    return url_for(endpoint, **values, _external=True)


def statement_url(household_id: int, month: date, digest: str) -> str:
    """The absolute address a statement's QR code opens, on the public address when one is configured."""
    args = {"household_id": household_id, "month": f"{month:%Y-%m}", "digest": digest}
    return public_url("verify.statement", **args)


def household_page_url(token: str) -> str:
    """The absolute address of a household's own page, on the public address when one is configured."""
    return public_url("household_page.page", token=token)


def own_page_url(household_id: int) -> str:
    """The address of the household's page to print on its papers; empty when it has no live link."""
    token = household_pages.live_token(household_id)
    return household_page_url(token) if token else ""


def statement_links(statement) -> tuple[str, str]:
    """A statement's printed links: its verification address and the household's own page ("" if none)."""
    household_id = statement.household.id
    return statement_url(household_id, statement.month, statement.digest), own_page_url(household_id)
