"""The statement's QR codes are made faster than reportlab makes them, and are the very same codes."""

import random
import string

import pytest
from reportlab.graphics.barcode import qrencoder

from shop.pdf.qr import FastMaskQRCode, code_words, lost_points

random.seed(17)
VALUES = [
    "https://bangfu.example.cn/verify/statement/12/2026-11/3f9a0c1d2e4b",
    "http://127.0.0.1:5000/h/" + "x" * 43,
    "临高县" * 20,
    "a",
    "",
    "12345678901234567890",
    "HELLO WORLD 123",
    "x" * 900,
    *("".join(random.choice(string.printable[:94]) for _ in range(random.randint(1, 400))) for _ in range(16)),
]
LEVELS = (qrencoder.QRErrorCorrectLevel.M, qrencoder.QRErrorCorrectLevel.L, qrencoder.QRErrorCorrectLevel.H)


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


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("value", VALUES[:8])
def test_the_code_words_with_their_error_correction_are_reportlabs(value, level):
    code = qrencoder.QRCode(None, level)
    code.addData(value)
    version = code.calculate_version()
    assert code_words(version, level, code.dataList) == qrencoder.QRCode.createData(version, level, code.dataList)


def test_a_value_too_long_for_its_version_is_refused_as_reportlab_refuses_it():
    code = qrencoder.QRCode(None, qrencoder.QRErrorCorrectLevel.M)
    code.addData("x" * 200)
    with pytest.raises(Exception, match="code length overflow"):
        code_words(1, qrencoder.QRErrorCorrectLevel.M, code.dataList)
