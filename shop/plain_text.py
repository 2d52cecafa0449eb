"""Plain text: which characters a typed name, note or description may not hold.

Control characters have no place in what people type (they hide text, break printed
papers, and PostgreSQL refuses NUL outright). One-line text (a name, a note) refuses every
C0 control and DEL; many-line text (a description, a reason) keeps tabs and line breaks.
The patterns are regular-expression strings so pydantic models and WTForms validators
can take them as they are.
"""

import re

#: A one-line text: no C0 control character (tab and line breaks included) and no DEL.
ONE_LINE = r"^[^\x00-\x1f\x7f]*$"
#: A many-line text: tabs, line feeds and carriage returns may stay; no other control character.
MANY_LINES = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
#: A place's name, stricter still: C1 controls, line and paragraph separators and
#: bidirectional overrides could make a printed name read as another.
PLACE_NAME = r"^[^\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$"

_ONE_LINE = re.compile(r"[\x00-\x1f\x7f]")
_MANY_LINES = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_PLACE_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def is_one_line(text: str) -> bool:
    """Whether a text is one plain line: no control character at all."""
    return _ONE_LINE.search(text) is None


def is_plain_lines(text: str) -> bool:
    """Whether a text is plain lines: no control character but tab, line feed and carriage return."""
    return _MANY_LINES.search(text) is None


def is_place_name(text: str) -> bool:
    """Whether a text may name a town or village: one plain line, no separators, bidi controls or lone surrogates."""
    return _PLACE_NAME.search(text) is None and not any(0xD800 <= ord(c) <= 0xDFFF for c in text)
