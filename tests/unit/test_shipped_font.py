"""The CJK font shipped in shop/pdf/font/: what it draws, what it is, and that it travels with the package."""

import fnmatch
import tomllib
import unicodedata
from pathlib import Path

import pytest
from fontTools.ttLib import TTFont

from shop.pdf import subset_font
from shop.pdf.fonts import SHIPPED_FONT

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shipped() -> TTFont:
    """The shipped font, opened with fontTools."""
    return TTFont(str(SHIPPED_FONT), lazy=True)


@pytest.fixture(scope="module")
def cmap(shipped) -> set[int]:
    """The code points the shipped font draws."""
    return set(shipped.getBestCmap())


def names(codes) -> str:
    """Code points as U+XXXX for a failure message, the first twenty of them."""
    return " ".join(f"U+{code:04X}" for code in sorted(codes)[:20])


def test_every_character_the_documents_print_themselves_is_in_the_font(cmap):
    printed = subset_font.printed_characters()
    assert {ord(c) for c in "−·—…¥￥×÷（）：；，。、壹贰叁肆伍陆柒捌玖拾佰仟万亿元角分整签字核验续页"} <= printed
    assert not printed - cmap, names(printed - cmap)


def test_the_font_draws_every_hanzi_gbk_encodes(cmap):
    hanzi = {
        code
        for code in subset_font.gbk_characters()
        if unicodedata.name(chr(code), "").startswith(("CJK UNIFIED", "CJK COMPATIBILITY"))
    }
    assert len(hanzi) > 20_900
    assert not hanzi - cmap, names(hanzi - cmap)
    assert {ord(c) for c in "堃喆淼玥犇骉覃龚黎冼符"} <= cmap


def test_the_font_draws_latin_punctuation_and_fullwidth_forms(cmap):
    wanted = (
        set(range(0x20, 0x7F))
        | set(range(0xA0, 0x100))
        | {ord(c) for c in "−·—–…‘’“”‰※"}
        | set(range(0x3000, 0x3004))
        | set(range(0x3005, 0x3018))
        | set(range(0xFF01, 0xFF5F))
        | set(range(0xFFE0, 0xFFE7))
    )
    assert not wanted - cmap, names(wanted - cmap)


def test_the_font_is_plain_truetype_without_hinting_or_layout_tables(shipped):
    assert shipped.sfntVersion == "\x00\x01\x00\x00"
    assert "glyf" in shipped and "CFF " not in shipped
    assert not {"fpgm", "prep", "cvt ", "gasp", "GSUB", "GPOS", "GDEF", "vmtx"} & set(shipped.keys())
    assert shipped["OS/2"].fsType & 0x0302 == 0, "the font must allow embedding"


def test_the_font_says_it_is_a_subset_and_is_of_a_reasonable_size(shipped):
    assert subset_font.VERSION_NOTE in shipped["name"].getDebugName(5)
    assert shipped["name"].getDebugName(1) == "WenQuanYi Micro Hei"
    assert SHIPPED_FONT.stat().st_size < 4 * 1024 * 1024


def test_the_licence_and_a_notice_naming_the_source_lie_beside_the_font():
    licence = (SHIPPED_FONT.parent / "LICENSE-Apache-2.0.txt").read_text()
    notice = (SHIPPED_FONT.parent / "NOTICE").read_text()
    assert "Apache License" in licence and "Version 2.0, January 2004" in licence
    assert "WenQuanYi Micro Hei" in notice and "python -m shop.pdf.subset_font" in notice


def test_a_non_editable_install_carries_the_font_and_its_licence():
    with (ROOT / "pyproject.toml").open("rb") as file:
        patterns = tomllib.load(file)["tool"]["setuptools"]["package-data"]["shop"]
    for path in SHIPPED_FONT.parent.iterdir():
        inside = path.relative_to(ROOT / "shop").as_posix()
        assert any(fnmatch.fnmatch(inside, pattern) for pattern in patterns), inside


def test_the_shipped_font_holds_what_the_script_would_keep_today(cmap):
    if not subset_font.SOURCE.is_file():
        pytest.skip("the source font (fonts-wqy-microhei) is not installed")
    source = set(TTFont(str(subset_font.SOURCE), fontNumber=0, lazy=True).getBestCmap())
    lacking = subset_font.wanted_characters() & source - cmap
    assert not lacking, f"remake it with python -m shop.pdf.subset_font: {names(lacking)}"
