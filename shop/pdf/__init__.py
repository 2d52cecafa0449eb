"""Printed documents rendered with reportlab: values in, PDF bytes out; no Flask, no database.

- `render_receipt`: the buyer's 80 mm thermal receipt.
- `render_receiving_slip`: the A4 slip a household signs when it delivers a lot.
- `render_labels`: 60 × 40 mm package labels with a QR code to the lot's trace page.
"""

from shop.pdf.fonts import cjk_font, embeds_truetype
from shop.pdf.labels import PackageLabel, render_labels
from shop.pdf.receipt import HelpedHousehold, Receipt, ReceiptLine, render_receipt
from shop.pdf.slip import ReceivingSlip, render_receiving_slip

__all__ = [
    "HelpedHousehold",
    "PackageLabel",
    "Receipt",
    "ReceiptLine",
    "ReceivingSlip",
    "cjk_font",
    "embeds_truetype",
    "render_labels",
    "render_receipt",
    "render_receiving_slip",
]
