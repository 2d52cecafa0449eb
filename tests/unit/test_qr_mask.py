"""The statement's QR codes choose reportlab's mask by a faster reckoning of the same penalty: the same codes."""

import random
import string

import pytest
from reportlab.graphics.barcode import qrencoder

from shop.pdf.labels import FastMaskQRCode, lost_points

random.seed(17)
VALUES = [
    "https://bangfu.example.cn/verify/statement/12/2026-11/3f9a0c1d2e4b",
    "http://127.0.0.1:5000/h/" + "x" * 43,
    "临高县" * 20,
    "a",
    *("".join(random.choice(string.printable[:94]) for _ in range(random.randint(1, 400))) for _ in range(12)),
]


@pytest.mark.parametrize("value", VALUES)
def test_each_masks_penalty_and_the_code_made_are_reportlabs(value):
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData(value)
    code.version = code.calculate_version()
    for pattern in range(8):
        code.makeImpl(True, pattern)
        assert lost_points(code.modules) == qrencoder.QRUtil.getLostPoint(code)
    level = qrencoder.QRErrorCorrectLevel.M
    theirs, ours = qrencoder.QRCode(None, level), FastMaskQRCode(None, level)
    for made in (theirs, ours):
        made.addData(value)
        made.make()
    assert ours.modules == theirs.modules
