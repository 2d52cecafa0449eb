"""A corpus of hostile input, and the requests built from it for each kind of field.

Each value is either one the server MUST refuse in a field of that kind (a wrong type,
a number out of range, a control character, a string over any length limit), or one
it MAY take, because it is a legitimate piece of text for that field (a name with an
emoji, a note quoting `<script>`): for those the only demand is no 5xx and no
unescaped echo. `Case.must_refuse` says which.
"""

import io
import json
from dataclasses import dataclass, field

from PIL import Image

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
#: What must never appear raw in an HTML answer.
RAW_MARKUP = (SCRIPT, "<img src=x onerror=alert(1)>")
SQL_OR = "' OR 1=1 --"
SQL_DROP = "'; DROP TABLE sale; --"
PATHS = ("../../etc/passwd", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", "/etc/passwd", "C:\\Windows\\win.ini")
RTL = "abc\u202egpj.exe"
ZWJ = "王\u200d亦\u200d明"
NUL = "a\x00b"
FULLWIDTH = "６８"
COMBINING = "e\u0301\u0301\u0301\u0301"
EMOJI = "👨‍👩‍👧‍👦🦐"
HUGE_TEXT = "虾" * 34_000  # about 100 kB in UTF-8
BLANK = "   \t  "
#: Over the app's 1 MiB body limit.
TWO_MIB = 2 * 1024 * 1024

#: Printable strings every free-text field may keep (and must show escaped).
FREE_TEXT = (SCRIPT, IMG, SQL_OR, SQL_DROP, RTL, ZWJ, COMBINING, EMOJI, FULLWIDTH, PATHS[0])
#: Strings no identifier, number, choice or date may be.
NOT_A_VALUE = (SCRIPT, SQL_DROP, PATHS[0], PATHS[1], NUL, "abc", "")


@dataclass(frozen=True)
class Case:
    """One hostile request: what to send, and whether the server must refuse it."""

    label: str
    must_refuse: bool
    json: object = None
    raw: bytes | None = None
    form: dict | list | None = None
    headers: dict = field(default_factory=dict)
    content_type: str | None = None
    path: str | None = None
    csrf: str = "good"  # "good", "missing" or "bad"
    #: Files sent with the form: {field: (content, filename, content type)}.
    files: dict = field(default_factory=dict)


# ---------------------------------------------------------------- JSON values by field kind

#: Wrong JSON types and out-of-range numbers for an integer field.
JSON_BAD_INT = ("6800", 2**63, 1.5, True, -(2**63) - 1, 1e308, [], {}, FULLWIDTH, 68.0, -1, SCRIPT)
#: Raw tokens that are not numbers JSON allows (NaN, Infinity) or overflow a double.
RAW_NUMBERS = ("NaN", "Infinity", "-Infinity", "1e309")
JSON_BAD_TEXT = (NUL, HUGE_TEXT, 123, [], {}, True, "\x1b[31m")
JSON_BAD_CHOICE = (1, [], None, "", BLANK, SCRIPT, SQL_OR, PATHS[0], "CASH", "cash\x00")
JSON_BAD_DATE = (20260101, "2026-13-45", "0000-00-00", "99999-01-01", "", SCRIPT, "２０２６-０１-０１")
JSON_BAD_BOOL = ("true", 1, 0, None, [], "yes")
JSON_BAD_LIST = ("[]", {}, 1, None, [], [None], [1], ["x"])
JSON_BAD_OBJECT = ("{}", [], 1, None, True)


def json_values(kind: str, required: bool) -> list[tuple[object, bool]]:
    """(value, must_refuse) pairs for a JSON field of this kind."""
    refuse = {
        "int": JSON_BAD_INT,
        "id": (*JSON_BAD_INT, 0),
        "text": JSON_BAD_TEXT,
        "code": (*JSON_BAD_TEXT, SCRIPT, SQL_OR, PATHS[0], FULLWIDTH, ZWJ),
        "choice": JSON_BAD_CHOICE,
        "date": JSON_BAD_DATE,
        "bool": JSON_BAD_BOOL,
        "list": JSON_BAD_LIST,
        "object": JSON_BAD_OBJECT,
    }[kind]
    pairs = [(v, True) for v in refuse]
    if required:
        blank = [("", True), (BLANK, True)] if kind in ("text", "code") else []
        pairs = [(None, True), *blank, *pairs]
    if kind == "text":
        pairs += [(v, False) for v in FREE_TEXT]
    return pairs


# ---------------------------------------------------------------- form values by field kind

#: Strings that are no number at all, in any field that takes a quantity or an amount.
NOT_A_NUMBER = ("abc", "-1", "1e309", "NaN", "Infinity", str(2**63), str(-(2**63) - 1), "1" + "0" * 400, "1\x00")


def form_values(kind: str) -> list[tuple[str, bool]]:
    """(value, must_refuse) pairs for a form field of this kind (forms only carry strings)."""
    markup = [(SCRIPT, True), (SQL_DROP, True), (HUGE_TEXT, True)]
    if kind in ("qty", "money", "qty_opt", "money_opt", "int_opt"):
        empty_refused = kind in ("qty", "money")
        return [
            *((v, True) for v in NOT_A_NUMBER),
            ("", empty_refused),
            (BLANK, empty_refused),
            ("1.0001", True),
            (FULLWIDTH, False),  # full-width digits are what a Chinese keyboard types: taken as 68
            *markup,
        ]
    if kind in ("choice", "choice_opt"):  # an optional select's empty choice means "none"
        optional = kind == "choice_opt"
        return [("", not optional), (BLANK, not optional), ("x", True), (PATHS[0], True), (NUL, True), *markup]
    if kind == "lenient_choice":  # an unknown unit falls back to the line's own unit
        return [(v, False) for v in ("", "x", SCRIPT, PATHS[0], NUL)]
    if kind == "id":
        return [(v, True) for v in ("", "abc", "0", "-1", str(2**63), "99999", "1\x00", "1e309", SCRIPT, SQL_OR)]
    if kind in ("date", "date_opt"):  # an optional date left empty means "none"
        bad = ("2026-13-45", "0000-00-00", "99999-01-01", "1\x00", SCRIPT, SQL_OR)
        return [("", kind == "date"), *((v, True) for v in bad)]
    if kind == "phone":
        bad = ("", "abc", "1381234567", "138123456789", "+1 650 555 0100", NUL, SCRIPT, SQL_OR, HUGE_TEXT)
        return [*((v, True) for v in bad), ("１３８１２３４５６７８", False)]
    if kind == "token":
        return [(v, True) for v in ("", "x", NUL, SCRIPT, SQL_OR, PATHS[0], HUGE_TEXT)]
    if kind in ("text", "text_req"):
        required = kind == "text_req"
        return [
            (NUL, True),
            ("\x1b[31m", True),
            (HUGE_TEXT, True),
            ("", required),
            (BLANK, required),
            *((v, False) for v in FREE_TEXT),
        ]
    raise ValueError(kind)


def rotate(pairs: list, position: int, core: int = 4, stride: int = 3) -> list:
    """A representative subset: the first `core` values always, the rest shared out among the fields by position."""
    return [p for i, p in enumerate(pairs) if i < core or (i + position) % stride == 0]


# ---------------------------------------------------------------- whole bodies


def set_at(body: dict, where: tuple, value) -> dict:
    """A deep copy of `body` with the field at `where` (keys and list indexes) set to `value`."""
    copy = json.loads(json.dumps(body))
    target = copy
    for step in where[:-1]:
        target = target[step]
    target[where[-1]] = value
    return copy


def with_raw(body: dict, where: tuple, token: str) -> bytes:
    """`body` as JSON text with the field at `where` written as a raw token (NaN, 1e309, "\\ud800")."""
    marker = "__HOSTILE_RAW__"
    return json.dumps(set_at(body, where, marker)).replace(f'"{marker}"', token).encode()


def nested(levels: int) -> bytes:
    """A JSON array nested `levels` deep."""
    return b"[" * levels + b"]" * levels


def json_body_cases(body: dict, first_field: str | None) -> list[Case]:
    """Hostile bodies for any JSON write, whatever its fields."""
    text = json.dumps(body)
    cases = [
        Case("malformed JSON", True, raw=text[:-3].encode()),
        Case("a JSON array", True, json=[body]),
        Case("JSON null", True, raw=b"null"),
        Case("a JSON string", True, json=text),
        Case("an empty body", True, raw=b""),
        Case("not UTF-8", True, raw=b'{"a": "\xff\xfe"}'),
        Case("10,000 nested arrays", True, raw=nested(10_000)),
        Case("10,000 nested objects", True, raw=b'{"a":' * 10_000 + b"1" + b"}" * 10_000),
        Case("a 2 MiB body", True, raw=b'{"x": "' + b"a" * TWO_MIB + b'"}'),
        Case("form-encoded", True, form={k: str(v) for k, v in body.items()}),
        Case("text/plain", True, raw=text.encode(), content_type="text/plain"),
        Case("no CSRF token", True, json=body, csrf="missing"),
        Case("a wrong CSRF token", True, json=body, csrf="bad"),
        Case("a price sent by the client", True, json={**body, "total_fen": 1}),
    ]
    if first_field:
        dup = text[:-1] + f', "{first_field}": {{"$ne": null}}}}'
        cases.append(Case(f"duplicate key {first_field}, the last one bad", True, raw=dup.encode()))
    return cases


def json_field_cases(body: dict, fields: dict[tuple, tuple[str, bool]]) -> list[Case]:
    """Each field of `body` set to each hostile value of its kind, one field at a time."""
    cases = []
    for position, (where, (kind, required)) in enumerate(fields.items()):
        name = ".".join(map(str, where))
        for value, refuse in rotate(json_values(kind, required), position):
            shown = repr(value)[:30]
            cases.append(Case(f"{name}={shown}", refuse, json=set_at(body, where, value)))
        if kind in ("int", "id"):
            for token in rotate(list(RAW_NUMBERS), position, core=1, stride=2):
                cases.append(Case(f"{name}={token}", True, raw=with_raw(body, where, token)))
        if kind in ("text", "code"):
            cases.append(Case(f"{name}=lone surrogate", True, raw=with_raw(body, where, '"a\\ud800b"')))
            cases.append(Case(f"{name}=10,000 nested", True, raw=with_raw(body, where, nested(10_000).decode())))
    if any(required for _kind, required in fields.values()):
        cases.append(Case("every field missing", True, json={}))
    return cases


def form_body_cases(data: dict) -> list[Case]:
    """Hostile submissions of any form, whatever its fields."""
    flat = [(k, v) for k, v in data.items()]
    return [
        Case("no CSRF token", True, form=data, csrf="missing"),
        Case("a wrong CSRF token", True, form=data, csrf="bad"),
        Case("a 2 MiB body", True, form={**data, "filler": "a" * TWO_MIB}),
        Case("JSON instead of a form", True, json=data, csrf="missing"),
        Case("not UTF-8", False, raw=b"csrf_token=@CSRF@&note=%ff%fe%ed%a0%80", content_type=FORM),
        Case("each field twice", False, form=flat + [(k, SCRIPT) for k, _ in flat]),
    ]


FORM = "application/x-www-form-urlencoded"


def form_field_cases(data: dict, fields: dict[str, str]) -> list[Case]:
    """Each named field of a form set to each hostile value of its kind, one field at a time."""
    cases = []
    for position, (name, kind) in enumerate(fields.items()):
        for value, refuse in rotate(form_values(kind), position):
            cases.append(Case(f"{name}={value[:30]!r}", refuse, form={**data, name: value}))
        # A radio or select left out falls back to its default, as a browser never leaves one out.
        refuse = kind not in MAY_BE_LEFT_OUT
        cases.append(Case(f"{name} missing", refuse, form={k: v for k, v in data.items() if k != name}))
    return cases


#: Form fields a submission may leave out (they are optional, or have a default).
MAY_BE_LEFT_OUT = {"text", "qty_opt", "money_opt", "int_opt", "lenient_choice", "choice", "choice_opt", "date_opt"}


# ---------------------------------------------------------------- file uploads


def picture(kind: str = "JPEG", size=(64, 48)) -> bytes:
    """A real, small picture."""
    out = io.BytesIO()
    Image.new("RGB", size, (200, 120, 60)).save(out, kind)
    return out.getvalue()


def upload_cases(data: dict, field_name: str, limit: int) -> list[Case]:
    """Hostile files for an upload field that takes a photo, and good photos under hostile names."""
    good = picture()
    bomb = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(bomb, "PNG")
    refused = {
        "HTML named .jpg": (b"<html>" + SCRIPT.encode() + b"</html>", "photo.jpg", "image/jpeg"),
        "SVG with a script": (b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "a.svg", "image/svg+xml"),
        "PHP behind a JPEG's first bytes": (b"\xff\xd8\xff<?php system($_GET['c']); ?>", "x.php.jpg", "image/jpeg"),
        "a truncated JPEG": (good[: len(good) // 2], "half.jpg", "image/jpeg"),
        "a decompression bomb": (bomb.getvalue(), "bomb.png", "image/png"),
        "an empty file": (b"", "empty.jpg", "image/jpeg"),
        "a GIF": (b"GIF89a" + b"\x00" * 64, "a.gif", "image/gif"),
        "a ZIP": (b"PK\x03\x04" + b"\x00" * 64, "photo.zip", "application/zip"),
        "over the size limit": (b"\xff\xd8\xff" + b"\x00" * (limit + 1), "huge.jpg", "image/jpeg"),
    }
    taken = {
        "a path in the name": (good, "../../../etc/passwd", "image/jpeg"),
        "a Windows path in the name": (good, "..\\..\\win.ini", "image/jpeg"),
        "NUL in the name": (good, "photo.jpg\x00.php", "image/jpeg"),
        "right-to-left override in the name": (good, RTL, "image/jpeg"),
        "a 10,000-character name": (good, "虾" * 10_000 + ".jpg", "image/jpeg"),
        "script in the name": (good, SCRIPT + ".jpg", "image/jpeg"),
        "a JPEG labelled text/html": (good, "photo.jpg", "text/html"),
        "a PNG named .jpg": (picture("PNG"), "photo.jpg", "image/jpeg"),
        "a WebP": (picture("WEBP"), "photo.webp", "image/webp"),
    }
    cases = [Case(label, True, form=data, files={field_name: file}) for label, file in refused.items()]
    cases += [Case(label, False, form=data, files={field_name: file}) for label, file in taken.items()]
    cases += [
        Case("the file as a text field", True, form={**data, field_name: good.decode("latin-1")}),
        Case("no file", True, form=data),
        Case("no CSRF token", True, form=data, files={field_name: (good, "a.jpg", "image/jpeg")}, csrf="missing"),
        Case("a wrong CSRF token", True, form=data, files={field_name: (good, "a.jpg", "image/jpeg")}, csrf="bad"),
    ]
    return cases


# ---------------------------------------------------------------- spreadsheet uploads (the household roster)

ROSTER_HEADER = "户编号,户主姓名,乡镇,村,家庭人口,户类别,监测类型,帮扶责任人,联系电话"


def roster_file(*rows: str, header: str = ROSTER_HEADER, encoding: str = "utf-8") -> bytes:
    """A roster CSV with these rows."""
    return ("\n".join([header, *rows]) + "\n").encode(encoding)


def workbook(rows: list[list[str]], merge: str | None = None, sheets: int = 1) -> bytes:
    """An XLSX with these rows on its first sheet, a merged range, and more sheets holding a value each."""
    import openpyxl

    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    if merge:
        book.active.merge_cells(merge)
    for n in range(1, sheets):
        book.create_sheet(f"Sheet{n + 1}").append(["x"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def roster_upload_cases(data: dict, field_name: str, limit: int, good_row: str) -> list[Case]:
    """Hostile files for a roster upload field, and a good roster under hostile names or with hostile text."""
    good = roster_file(good_row)
    cells = good_row.split(",")
    csv_type = "text/csv"
    refused = {
        "an empty file": (b"", "roster.csv", csv_type),
        "a header and no rows": (roster_file(), "roster.csv", csv_type),
        "UTF-16": (good.decode().encode("utf-16"), "roster.csv", csv_type),
        "neither UTF-8 nor GB18030": (good + b"\xff\xfe\xfd\n", "roster.csv", csv_type),
        "a JPEG named .csv": (picture(), "roster.csv", csv_type),
        "a PDF": (b"%PDF-1.4\n" + b"\x00" * 64, "roster.pdf", "application/pdf"),
        "HTML named .csv": (b"<html>" + SCRIPT.encode() + b"</html>", "roster.csv", csv_type),
        "a ZIP that is no workbook": (b"PK\x03\x04" + b"\x00" * 64, "roster.xlsx", "application/zip"),
        "an old .xls": (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64, "roster.xls", "application/vnd.ms-excel"),
        "merged cells": (workbook([ROSTER_HEADER.split(","), cells, cells], merge="C2:C3"), "r.xlsx", csv_type),
        "two sheets": (workbook([ROSTER_HEADER.split(","), cells], sheets=2), "r.xlsx", csv_type),
        "a line of 40,000 characters": (roster_file("x" * 40_000), "roster.csv", csv_type),
        "an unclosed quote": (roster_file('"DB1,' + good_row), "roster.csv", csv_type),
        "nonsense lines": (b"lorem ipsum, dolor\n" * (limit // 40), "roster.csv", csv_type),
        "random bytes": (bytes(range(256)) * (limit // 512), "roster.csv", csv_type),
        "NUL in a name": (roster_file(good_row.replace(cells[1], "王\x00明")), "roster.csv", csv_type),
        "members in words": (roster_file(good_row.replace(f",{cells[4]},", ",四,")), "roster.csv", csv_type),
        # Past the limit and the 64 KiB the multipart wrapping is allowed: answered 413 before it is read.
        "over the size limit": (b"x" * (limit + 128 * 1024), "big.csv", csv_type),
    }
    taken = {
        "a path in the name": (good, "../../../etc/passwd", csv_type),
        "NUL in the name": (good, "roster.csv\x00.php", csv_type),
        "right-to-left override in the name": (good, RTL, csv_type),
        "a 10,000-character name": (good, "表" * 10_000 + ".csv", csv_type),
        "script in the name": (good, SCRIPT + ".csv", csv_type),
        "script in the village": (roster_file(good_row.replace(cells[3], SCRIPT)), "roster.csv", csv_type),
        "a formula in the name": (roster_file(good_row.replace(cells[1], "=HYPERLINK(1)")), "roster.csv", csv_type),
        "GB18030": (roster_file(good_row, encoding="gb18030"), "roster.csv", csv_type),
        "labelled text/html": (good, "roster.csv", "text/html"),
    }
    cases = [Case(label, True, form=data, files={field_name: file}) for label, file in refused.items()]
    cases += [Case(label, False, form=data, files={field_name: file}) for label, file in taken.items()]
    cases += [
        Case("the file as a text field", True, form={**data, field_name: good.decode()}),
        Case("no file", True, form=data),
        Case("no CSRF token", True, form=data, files={field_name: (good, "r.csv", csv_type)}, csrf="missing"),
        Case("a wrong CSRF token", True, form=data, files={field_name: (good, "r.csv", csv_type)}, csrf="bad"),
    ]
    return cases
