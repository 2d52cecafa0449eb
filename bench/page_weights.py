"""What each public page weighs on its first load, fetched over HTTP from the running app: no browser needed.

A page's weight is its HTML and every stylesheet, script, icon, image and font it
references (and the stylesheets' own url(...) references), each counted once and
uncompressed, as tests/browser/test_every_page.py weighs it in Chromium (the
HTML's gzipped size, as the app sends it to a browser that asks, is printed too). Every
image the page references is counted, lazy or not, so this is the most a phone
at 360 px can be sent on the first load. The limit is 150 KB.
"""

import re
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar

#: What every public page may weigh on its first load.
LIMIT_KB = 150.0
HTML_REFERENCES = re.compile(
    r'<(?:link[^>]*\brel="(?:stylesheet|icon|preload)"[^>]*\bhref|script[^>]*\bsrc|img[^>]*\bsrc)="([^"]+)"'
)
CSS_REFERENCES = re.compile(r"""url\(\s*['"]?([^'")]+)['"]?\s*\)|@import\s+['"]([^'"]+)['"]""")
CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    """A cookie jar fetching uncompressed answers from the app on a port."""

    def __init__(self, port: int):
        self.base = f"http://127.0.0.1:{port}"
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def get(self, path: str, **headers) -> tuple[int, bytes, str]:
        """Status, body (as sent) and final URL of a GET, redirects followed."""
        request = urllib.request.Request(self.base + path, headers={"Accept-Language": "zh-CN", **headers})
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, response.read(), response.geturl()
        except urllib.error.HTTPError as error:
            return error.code, error.read(), path

    def post(self, path: str, fields: dict) -> int:
        """Send a form; the final status."""
        data = urllib.parse.urlencode(fields).encode()
        with self.opener.open(urllib.request.Request(self.base + path, data=data), timeout=60) as response:
            return response.status


def weigh(browser: Browser, path: str) -> dict:
    """A page's bytes: its HTML and each asset it references, once each."""
    status, html, _ = browser.get(path)
    if status != 200:
        raise RuntimeError(f"GET {path} answered {status}")
    assets: dict[str, int] = {}
    pending = [urllib.parse.urljoin(path, ref) for ref in HTML_REFERENCES.findall(html.decode())]
    while pending:
        url = pending.pop()
        if url in assets or url.startswith("data:"):
            continue
        status, body, _ = browser.get(url)
        if status != 200:
            raise RuntimeError(f"{path} references {url}, which answers {status}")
        assets[url] = len(body)
        if url.split("?")[0].endswith(".css"):
            for ref, imported in CSS_REFERENCES.findall(body.decode()):
                pending.append(urllib.parse.urljoin(url, ref or imported))
    _, gzipped, _ = browser.get(path, **{"Accept-Encoding": "gzip"})
    return {
        "path": path,
        "html": len(html),
        "html_gzip": len(gzipped),
        "assets": len(assets),
        "kb": (len(html) + sum(assets.values())) / 1024,
    }


def public_pages(app) -> dict[str, str]:
    """The public pages of the catalog bench's world, by name: each made to show something real."""
    import sqlalchemy as sa

    from shop.extensions import db
    from shop.models import Household, Lot, Order, Product, Role, User
    from shop.oversight import household_pages, statements

    with app.app_context():
        lot = db.session.scalar(sa.select(Lot).where(Lot.qty_on_hand > 0).order_by(Lot.id).limit(1))
        product = lot.product_id
        unit = "jin" if db.session.get(Product, product).unit.value == "g" else "piece"
        order = db.session.scalar(sa.select(Order.token).limit(1))
        household = db.session.scalar(sa.select(Household.id).order_by(Household.id).limit(1))
        admin = db.session.scalar(sa.select(User).where(User.role == Role.ADMIN).limit(1))
        token = household_pages.issue_link(household, admin)
        month = lot.received_at.date().replace(day=1)
        statement = statements.month_statement(db.session.get(Household, household), month)
        hashes = [line.entry.hash for line in sorted(statement.lines, key=lambda line: line.entry.seq)]
        digest = statements.digest_of(household, month, hashes)
        return {
            "storefront": "/",
            "product page": f"/products/{product}",
            "trace page": f"/trace/{lot.trace_token}",
            "order status": f"/orders/{order}",
            "order lookup": "/orders/lookup",
            "ledger": "/ledger/",
            "ledger check": "/ledger/check",
            "statement check": f"/verify/statement/{household}/{month:%Y-%m}/{digest}",
            "household page": f"/h/{token}",
            "sign-in": "/login",
            "the cart's product and unit": f"{product} {unit}",
        }


def measure(app, port: int) -> list[dict]:
    """Every public page's first-load weight; the heaviest against the 150 KB limit."""
    pages = public_pages(app)
    product, unit = pages.pop("the cart's product and unit").split()
    stranger = Browser(port)
    weights = {name: weigh(stranger, path) for name, path in pages.items()}
    buyer = Browser(port)  # the basket and checkout, with one jar of something in the basket
    _, html, _ = buyer.get(f"/products/{product}")
    token = CSRF.search(html.decode()).group(1)
    buyer.post(f"/cart/add/{product}", {"csrf_token": token, "quantity": "1", "unit": unit})
    weights["basket"] = weigh(buyer, "/cart")
    weights["checkout"] = weigh(buyer, "/checkout")
    for name, w in sorted(weights.items(), key=lambda item: -item[1]["kb"]):
        html, sent = w["html"] / 1024, w["html_gzip"] / 1024
        parts = f"{html:.1f} KB HTML, {sent:.1f} KB gzipped; {w['assets']} assets"
        print(f"  page weight: {name:<16} {w['kb']:7.1f} KB ({parts})")
    heaviest = max(weights, key=lambda name: weights[name]["kb"])
    return [
        {
            "figure": f"Heaviest public page on first load at 360 px, KB ({heaviest}; baseline: the 150 KB limit)",
            "project": round(weights[heaviest]["kb"], 1),
            "baseline": LIMIT_KB,
            "better": "lower",
            "goal": "page_weight",
        }
    ]
