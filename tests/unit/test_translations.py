"""The Chinese catalog is complete, compiled and faithful to its placeholders."""

import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "shop" / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]")


def zh_catalog():
    with open(TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.po", "rb") as f:
        return read_po(f)


def singular(message_id) -> str:
    """A message's id, or the singular id of a plural message."""
    return message_id if isinstance(message_id, str) else message_id[0]


def text(string) -> str | tuple[str, ...]:
    """A translation in one comparable shape, whether it has plural forms or not."""
    return string if isinstance(string, str) else tuple(string)


def forms(message) -> list[tuple[str, str]]:
    """(source, translation) pairs of a message: one, or one per plural form (Chinese has one)."""
    if isinstance(message.id, str):
        return [(message.id, message.string)]
    return [(source, translation) for source in message.id for translation in message.string]


def messages_in_source() -> set[str]:
    """Every message the code and templates ask to translate, extracted afresh."""
    method_map = [("shop/**.py", "python"), ("admin/**.py", "python"), ("templates/**.html", "jinja2")]
    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map=method_map, keywords=keywords
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found


def test_every_message_in_the_source_has_a_chinese_translation():
    catalog = zh_catalog()
    translated = {singular(m.id): m.string for m in catalog if m.id and all(m.string) and not m.fuzzy}
    missing = sorted(messages_in_source() - set(translated))
    assert missing == [], "run `make translations` and translate these"


def test_translations_keep_their_placeholders():
    for message in zh_catalog():
        for source, translation in forms(message) if message.id else []:
            assert sorted(PLACEHOLDER.findall(source)) == sorted(PLACEHOLDER.findall(translation)), source


def test_the_compiled_catalog_matches_the_po_file():
    with open(TRANSLATIONS / "zh" / "LC_MESSAGES" / "messages.mo", "rb") as f:
        compiled = {singular(m.id): text(m.string) for m in read_mo(f) if m.id}
    source = {singular(m.id): text(m.string) for m in zh_catalog() if m.id and all(m.string)}
    assert compiled == source, "run `make translations` to recompile"
