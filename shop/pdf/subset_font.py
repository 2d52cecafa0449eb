"""Make the CJK font shipped in shop/pdf/font/ from WenQuanYi Micro Hei: `python -m shop.pdf.subset_font`.

The subset keeps what a receipt, label or statement can print (printable ASCII, Latin-1,
general punctuation and the minus sign, CJK symbols and punctuation, fullwidth forms, every
character GBK encodes, which includes every hanzi of people's and villages' names that
the counter's computers can type, and every character the document modules write
themselves) and drops hinting and the tables reportlab never reads. The output depends only
on the source font and this script, so remaking it from the same source gives the same bytes.

Needs fontTools (in the test extras) and the source font, e.g. Debian's fonts-wqy-microhei:

    .venv/bin/python -m shop.pdf.subset_font [--source wqy-microhei.ttc] [--out shop/pdf/font/...ttf]
"""

import argparse
import ast
import sys
import unicodedata
from collections.abc import Iterable
from pathlib import Path

#: Where Debian and Ubuntu install the source font.
SOURCE = Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc")
#: The shipped font, beside its licence and notice.
FONT_DIR = Path(__file__).parent / "font"
TARGET = FONT_DIR / "WenQuanYiMicroHei-subset.ttf"
#: The repository's root, where the modules that write documents' words are found.
ROOT = Path(__file__).resolve().parents[2]

#: Modules whose string literals are printed on documents: the renderers and those who fill them in.
PRINTING_MODULES = (
    "shop/pdf/*.py",
    "shop/oversight/statement_pdf.py",
    "shop/oversight/report_*.py",
    "shop/money.py",
    "shop/units.py",
    "admin/counter.py",
    "admin/households.py",
    "admin/stock.py",
)

#: Blocks kept whole (as far as the source has them): first and last code point.
BLOCKS = (
    (0x0020, 0x007E),  # printable ASCII
    (0x00A0, 0x00FF),  # Latin-1: ¥ · × ÷ ° and accented names
    (0x2000, 0x206F),  # general punctuation: — … ‘ ’ “ ” ‰
    (0x2212, 0x2212),  # the minus sign of signed amounts
    (0x3000, 0x303F),  # CJK symbols and punctuation: 、。《》「」【】〇
    (0xFF00, 0xFFEF),  # fullwidth forms: （）：；，￥
    (0x3400, 0x4DBF),  # CJK extension A: the few rare hanzi the source draws
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
)

#: Tables reportlab never reads (layout, vertical metrics, hinting, the generator's stamp).
DROPPED_TABLES = ("GSUB", "GPOS", "GDEF", "vhea", "vmtx", "FFTM", "gasp", "cvt ", "fpgm", "prep", "hdmx", "VDMX")

#: Marks the subset as changed from the original, as the Apache License asks of modified files.
VERSION_NOTE = "; subset for Bangfu Counter (shop/pdf/subset_font.py)"


def gbk_characters() -> set[int]:
    """Every code point of the Basic Multilingual Plane that GBK encodes."""
    found = set()
    for code in range(0x80, 0x10000):
        try:
            chr(code).encode("gbk")
        except UnicodeEncodeError:
            continue
        found.add(code)
    return found


def printed_characters(root: Path = ROOT) -> set[int]:
    """Every visible character in the string literals of the modules that write documents."""
    found: set[int] = set()
    for pattern in PRINTING_MODULES:
        for path in sorted(root.glob(pattern)):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    found |= {ord(char) for char in node.value if unicodedata.category(char)[0] not in "CZ"}
    return found | {ord(" "), 0x3000}


def required_characters(root: Path = ROOT) -> set[int]:
    """What the shipped font must draw: printable ASCII, Latin-1, GBK and whatever documents print themselves."""
    latin = set(range(0x20, 0x7F)) | set(range(0xA0, 0x100))
    return latin | gbk_characters() | printed_characters(root)


def wanted_characters(root: Path = ROOT) -> set[int]:
    """What the shipped font is made to draw whenever the source font has it: the required and the blocks."""
    return {code for first, last in BLOCKS for code in range(first, last + 1)} | required_characters(root)


def make_subset(source: Path, target: Path, wanted: Iterable[int]) -> None:
    """Write the subset of source (a .ttf or the first font of a .ttc) to target, of the wanted characters it has."""
    from fontTools import subset
    from fontTools.ttLib import TTFont

    font = TTFont(str(source), fontNumber=0, recalcTimestamp=False)
    present = set(font.getBestCmap())
    wanted = set(wanted)
    options = subset.Options()
    options.hinting = False
    options.layout_features = []
    options.drop_tables += [table for table in DROPPED_TABLES if table not in options.drop_tables]
    options.glyph_names = False
    options.notdef_outline = True
    options.name_languages = ["*"]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=sorted(wanted & present))
    subsetter.subset(font)
    for table in DROPPED_TABLES:
        if table in font:
            del font[table]
    _mark_modified(font)
    target.parent.mkdir(parents=True, exist_ok=True)
    font.save(str(target))


def _mark_modified(font) -> None:
    """Append the subset note to the version string (name ID 5) in every language."""
    for record in font["name"].names:
        if record.nameID == 5 and VERSION_NOTE not in record.toUnicode():
            record.string = record.toUnicode() + VERSION_NOTE


def main(argv: list[str] | None = None) -> int:
    """Make the subset and say what it holds."""
    parser = argparse.ArgumentParser(prog="python -m shop.pdf.subset_font", description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=SOURCE, help=f"the source font (default {SOURCE})")
    parser.add_argument("--out", type=Path, default=TARGET, help=f"where to write the subset (default {TARGET})")
    args = parser.parse_args(argv)
    if not args.source.is_file():
        parser.error(f"{args.source} not found: install fonts-wqy-microhei or pass --source")
    make_subset(args.source, args.out, wanted_characters())
    from fontTools.ttLib import TTFont

    kept = set(TTFont(str(args.out)).getBestCmap())
    print(f"{args.out}: {len(kept)} characters, {args.out.stat().st_size / 1024:.0f} KiB")
    lacking = sorted(required_characters() - kept)
    if lacking:
        codes = " ".join(f"U+{code:04X}" for code in lacking)
        print(f"the source has no glyph for {len(lacking)} required characters: {codes}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
