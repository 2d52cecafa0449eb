"""Spreadsheets made by hand in Excel: CSV (UTF-8, UTF-8 with BOM or GB18030) or XLSX, read as rows.

Pure: no Flask, no database. `read_table` checks the file and its header up front and then
streams the rows, so a 50,000-row file is never held in memory at once.

Errors: every refusal is an `UnreadableTable` with a `reason` code, an English `message`
(a msgid with %(name)s placeholders, marked with `N_` so it lands in messages.pot) and the
`params` to fill it with. A Flask caller translates with `gettext(err.message, **err.params)`;
`str(err)` is the English text. A problem met while streaming (a line too long, a broken
quote) is raised by the row iterator, so callers must expect it there too.

A file with a header and no data rows is refused by `read_table` itself ("no_rows"), so
callers never need to check for it after iterating.

Reasons: empty, no_rows, utf16 (UTF-16/32), encoding (neither UTF-8 nor GB18030), file_type
(a PDF, PNG... whatever its name), binary, not_a_workbook (a zip that is not one), damaged,
old_excel (.xls or password-protected), merged_cells, several_sheets, missing_columns,
no_known_columns, duplicate_column, line_too_long, bad_csv (an unclosed quote), too_large.

The content decides CSV or XLSX, not the file's name. An XLSX's hidden sheets are ignored (a
template keeps its dropdown lists there). The header is the first non-blank row;
a canonical column name is accepted as a spelling too, and messages name a column by its
first spelling. Cells outside the canonical columns are ignored but still make a row non-blank.
"""

import codecs
import csv
import io
import itertools
import tempfile
import unicodedata
import zipfile
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from typing import BinaryIO

#: A physical CSV line (or an XLSX row's joined text) longer than this is not hand-made data.
MAX_LINE_CHARS = 32_768
#: An XLSX part (a sheet, the shared strings) larger than this uncompressed is refused: a zip bomb.
MAX_XLSX_PART_BYTES = 200 * 1024 * 1024
#: How many header cells an error message quotes, and how much of each.
QUOTED_HEADERS = 12
QUOTED_CHARS = 40

_CHUNK = 64 * 1024
_SPOOL = 1024 * 1024
_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def N_(message: str) -> str:
    """Marks a msgid for extraction; the caller translates it."""
    return message


MESSAGES = {
    "empty": N_("The file is empty."),
    "no_rows": N_("The file has a header but no rows under it."),
    "utf16": N_("The file is saved as %(encoding)s. In Excel, save it as “CSV UTF-8” or as an Excel workbook (.xlsx)."),
    "encoding": N_(
        "The file is text but neither UTF-8 nor GB18030. In Excel, save it as “CSV UTF-8” or as an Excel "
        "workbook (.xlsx)."
    ),
    "file_type": N_("The file is a %(kind)s, not a spreadsheet. Send a CSV file or an Excel workbook (.xlsx)."),
    "binary": N_("The file is not a spreadsheet: it holds binary data. Send a CSV file or an Excel workbook (.xlsx)."),
    "not_a_workbook": N_(
        "The file is a zip archive but not an Excel workbook. Send a CSV file or an Excel workbook (.xlsx)."
    ),
    "damaged": N_("The Excel workbook is damaged and cannot be read. Open it in Excel and save it again."),
    "old_excel": N_("The file is an old Excel workbook (.xls) or a protected one. Save it as .xlsx or CSV UTF-8."),
    "merged_cells": N_(
        "Sheet “%(sheet)s” has merged cells (%(ranges)s). Unmerge them so that every row has its own cells."
    ),
    "several_sheets": N_("The workbook has data on more than one sheet (%(sheets)s). Keep the data on one sheet."),
    "missing_columns": N_("The header has no column %(missing)s. The header found: %(found)s."),
    "no_known_columns": N_(
        "The first row is not a header we know. Expected columns such as %(expected)s; found: %(found)s."
    ),
    "duplicate_column": N_("The column %(column)s appears twice in the header (%(found)s)."),
    "line_too_long": N_("Line %(line)s is longer than %(limit)s characters: this is not a table made by hand."),
    "bad_csv": N_("Line %(line)s cannot be read as CSV: check its quotation marks."),
    "too_large": N_("The workbook is too large to read."),
}


class UnreadableTable(Exception):
    """The file cannot be read as a table; `reason` says why, `message` % `params` says it in English."""

    def __init__(self, reason: str, **params: object):
        self.reason = reason
        self.message = MESSAGES[reason]
        self.params = params
        super().__init__(self.message % params if params else self.message)


@dataclass(frozen=True)
class Row:
    """One data row: its spreadsheet line number (header = 1) and trimmed text per canonical column."""

    line: int
    values: dict[str, str]


@dataclass(frozen=True)
class Refusal:
    """A bad cell: its line (header = 1), its column and what is wrong."""

    line: int
    column: str
    reason: str


@dataclass(frozen=True)
class Header:
    """The header row: where it is and which canonical column each cell stands for."""

    line: int
    #: canonical column → 0-based position in the row
    positions: dict[str, int]
    #: header cells as written, in order
    found: tuple[str, ...]
    #: header cells that match no canonical column (ignored)
    ignored: tuple[str, ...] = ()


@dataclass
class Table:
    """A readable table: its header and an iterator of its non-blank data rows."""

    header: Header
    rows: Iterator[Row]
    #: "csv" or "xlsx"
    kind: str
    #: the CSV's encoding ("utf-8", "utf-8-sig", "gb18030"), or the XLSX's sheet name
    detail: str
    filename: str = ""


def read_table(
    source: BinaryIO,
    filename: str,
    columns: Mapping[str, tuple[str, ...]],
    required: Collection[str],
) -> Table:
    """The table in a CSV or XLSX file, its header checked; rows are streamed (see the module's docstring)."""
    source = _seekable(source)
    magic = source.read(8)
    source.seek(0)
    if not magic:
        raise UnreadableTable("empty")
    if magic.startswith(b"PK\x03\x04"):
        return _read_xlsx(source, filename, columns, required)
    if magic.startswith(b"\xd0\xcf\x11\xe0"):
        raise UnreadableTable("old_excel")
    for signature, kind in _SIGNATURES:
        if magic.startswith(signature):
            raise UnreadableTable("file_type", kind=kind)
    return _read_csv(source, filename, columns, required)


_SIGNATURES = (
    (b"%PDF", "PDF"),
    (b"\x89PNG", "PNG"),
    (b"\xff\xd8\xff", "JPEG"),
    (b"GIF8", "GIF"),
    (b"PK", "ZIP"),
    (b"\x1f\x8b", "gzip"),
    (b"Rar!", "RAR"),
    (b"7z\xbc\xaf", "7z"),
    (b"{\\rtf", "RTF"),
)


def _seekable(source: BinaryIO) -> BinaryIO:
    """The source itself when it can be rewound, else a spooled copy (small in memory, large on disk)."""
    if source.seekable():
        return source
    copy = tempfile.SpooledTemporaryFile(max_size=_SPOOL)
    while chunk := source.read(_CHUNK):
        copy.write(chunk)
    copy.seek(0)
    return copy


# --- header -----------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """A header cell as compared: NFKC (full-width letters), trimmed, case-insensitive."""
    return unicodedata.normalize("NFKC", text).strip().casefold()


def _quote(cells: Collection[str]) -> str:
    """Header cells quoted for a message, bounded however long the line."""
    shown = [c if len(c) <= QUOTED_CHARS else c[:QUOTED_CHARS] + "…" for c in list(cells)[:QUOTED_HEADERS]]
    text = ", ".join(f"“{c}”" for c in shown) or "—"
    return text + (", …" if len(cells) > QUOTED_HEADERS else "")


def _header(cells: list[str], line: int, columns: Mapping[str, tuple[str, ...]], required: Collection[str]) -> Header:
    """The header's canonical columns, or the reason it is not the header asked for."""
    spellings = {_fold(s): name for name, accepted in columns.items() for s in (name, *accepted)}
    found = tuple(c.strip() for c in cells)
    positions: dict[str, int] = {}
    ignored = []
    for i, cell in enumerate(found):
        name = spellings.get(_fold(cell))
        if name is None:
            if cell:
                ignored.append(cell)
        elif name in positions:
            raise UnreadableTable("duplicate_column", column=f"“{cell}”", found=_quote(found))
        else:
            positions[name] = i
    if not positions:
        expected = _quote([columns[n][0] if columns[n] else n for n in columns])
        raise UnreadableTable("no_known_columns", expected=expected, found=_quote([c for c in found if c]))
    missing = [n for n in columns if n in required and n not in positions]
    if missing:
        named = " / ".join(f"“{columns[n][0] if columns[n] else n}”" for n in missing)
        raise UnreadableTable("missing_columns", missing=named, found=_quote([c for c in found if c]))
    return Header(line=line, positions=positions, found=found, ignored=tuple(ignored))


def _rows(
    records: Iterator[tuple[int, list[str]]], header: Header, columns: Mapping[str, tuple[str, ...]]
) -> Iterator[Row]:
    """Non-blank records as rows of trimmed text per canonical column."""
    for line, cells in records:
        if not any(c.strip() for c in cells):
            continue
        values = {}
        for name in columns:
            i = header.positions.get(name)
            values[name] = cells[i].strip() if i is not None and i < len(cells) else ""
        yield Row(line=line, values=values)


def _table(
    records: Iterator[tuple[int, list[str]]],
    columns: Mapping[str, tuple[str, ...]],
    required: Collection[str],
    kind: str,
    detail: str,
    filename: str,
) -> Table:
    """The header from the first non-blank record, and the rest as rows (at least one)."""
    nonblank = ((line, cells) for line, cells in records if any(c.strip() for c in cells))
    first = next(nonblank, None)
    if first is None:
        raise UnreadableTable("empty")
    header = _header(first[1], first[0], columns, required)
    rows = _rows(nonblank, header, columns)
    head = next(rows, None)
    if head is None:
        raise UnreadableTable("no_rows")
    return Table(header, itertools.chain([head], rows), kind, detail, filename)


# --- CSV --------------------------------------------------------------------------------------


def _encoding(source: BinaryIO) -> str:
    """UTF-8 (with or without BOM) or GB18030, decided over the whole file; else UnreadableTable."""
    start = source.read(_CHUNK)
    source.seek(0)
    if start.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise UnreadableTable("utf16", encoding="UTF-32")
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(start):
        raise UnreadableTable("utf16", encoding="UTF-16")
    for encoding in ("utf-8", "gb18030"):
        if _decodes(source, encoding):
            return "utf-8-sig" if encoding == "utf-8" and start.startswith(codecs.BOM_UTF8) else encoding
    if _binary(start):
        raise UnreadableTable("binary")
    raise UnreadableTable("encoding")


def _looks_utf16(start: bytes) -> bool:
    """UTF-16 without a BOM: text where every other byte is NUL."""
    sample = start[:4096]
    return len(sample) >= 4 and sample.count(0) * 3 >= len(sample)


def _binary(start: bytes) -> bool:
    """More than 1% control bytes (other than tab, CR, LF) in a file that decodes as no text: not text at all."""
    sample = start[:4096]
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13))
    return controls * 100 > len(sample)


def _decodes(source: BinaryIO, encoding: str) -> bool:
    """Whether the whole file decodes, checked chunk by chunk."""
    decoder = codecs.getincrementaldecoder(encoding)()
    try:
        while chunk := source.read(_CHUNK):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
        return True
    except UnicodeDecodeError:
        return False
    finally:
        source.seek(0)


def _lines(text: io.TextIOBase) -> Iterator[str]:
    """Physical lines, each refused when longer than MAX_LINE_CHARS (read no further than that)."""
    number = 0
    while line := text.readline(MAX_LINE_CHARS + 2):  # + 2: room for the CR LF
        number += 1
        if len(line.rstrip("\r\n")) > MAX_LINE_CHARS:
            raise UnreadableTable("line_too_long", line=number, limit=MAX_LINE_CHARS)
        yield line


def _delimiter(first_line: str) -> str:
    """Comma unless the header line is plainly split by tabs or semicolons (other Excel locales)."""
    counts = {d: first_line.count(d) for d in (",", "\t", ";")}
    return max(counts, key=lambda d: (counts[d], d == ","))


def _csv_records(text: io.TextIOBase) -> Iterator[tuple[int, list[str]]]:
    """CSV records numbered as spreadsheet rows (a record with embedded newlines is one row)."""
    lines = _lines(text)
    first = next(lines, None)
    if first is None:
        return
    reader = csv.reader(itertools.chain([first], lines), delimiter=_delimiter(first))
    number = 0
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error:
            raise UnreadableTable("bad_csv", line=number + 1) from None
        number += 1
        yield number, cells


def _read_csv(source: BinaryIO, filename: str, columns, required) -> Table:
    """A CSV table in UTF-8 or GB18030."""
    encoding = _encoding(source)
    text = io.TextIOWrapper(source, encoding=encoding, newline="")
    return _table(_csv_records(text), columns, required, "csv", encoding, filename)


# --- XLSX -------------------------------------------------------------------------------------


@dataclass
class _Sheet:
    """What the pre-pass learns about one worksheet."""

    title: str
    path: str
    has_data: bool = False
    merged: list[str] = field(default_factory=list)


def _sheets(archive: zipfile.ZipFile) -> list[_Sheet]:
    """The workbook's visible worksheets in order, with their part paths."""
    from xml.etree import ElementTree

    try:
        workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
    except KeyError:
        raise UnreadableTable("not_a_workbook") from None
    except ElementTree.ParseError:
        raise UnreadableTable("damaged") from None
    targets = {r.get("Id"): r.get("Target", "") for r in rels.iter(f"{_PKG_REL_NS}Relationship")}
    sheets = []
    for sheet in workbook.iter(f"{_MAIN_NS}sheet"):
        target = targets.get(sheet.get(f"{_REL_NS}id"), "")
        path = target.lstrip("/") if target.startswith("/") else "xl/" + target
        if sheet.get("state", "visible") == "visible":  # hidden sheets hold a template's dropdown lists
            sheets.append(_Sheet(title=sheet.get("name", ""), path=path))
    return sheets


def _survey(archive: zipfile.ZipFile, sheet: _Sheet) -> None:
    """Whether a sheet holds any value and which ranges are merged, in one streaming pass (no tree is built)."""
    from xml.parsers import expat

    try:
        info = archive.getinfo(sheet.path)
    except KeyError:
        return
    if info.file_size > MAX_XLSX_PART_BYTES:
        raise UnreadableTable("too_large")
    parser = expat.ParserCreate()  # no namespaces: tags are compared by their local name

    def start(name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition(":")[2]
        if local in ("v", "is"):  # a cell's value, or its inline string
            sheet.has_data = True
        elif local == "mergeCell":
            sheet.merged.append(attrs.get("ref", "?"))

    parser.StartElementHandler = start
    with archive.open(info) as part:
        parser.ParseFile(part)


def _cell_text(value: object) -> str:
    """A cell's value as text: whole numbers without ".0", dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        if value.time() == time(0, 0):
            return value.date().isoformat()
        return value.isoformat(sep=" ", timespec="minutes" if value.second == 0 else "seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.isoformat(timespec="minutes" if value.second == 0 else "seconds")
    return str(value)


def _xlsx_records(workbook, title: str) -> Iterator[tuple[int, list[str]]]:
    """A sheet's rows as text, numbered as Excel numbers them; closes the workbook when done."""
    from xml.etree import ElementTree

    try:
        sheet = workbook[title]
        sheet.reset_dimensions()  # some writers record a wrong size; read what is there
        for number, values in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            cells = [_cell_text(v) for v in values]
            if sum(len(c) for c in cells) > MAX_LINE_CHARS:
                raise UnreadableTable("line_too_long", line=number, limit=MAX_LINE_CHARS)
            yield number, cells
    except (KeyError, IndexError, ValueError, TypeError, ElementTree.ParseError):
        raise UnreadableTable("damaged") from None
    finally:
        workbook.close()


def _read_xlsx(source: BinaryIO, filename: str, columns, required) -> Table:
    """An XLSX table: exactly one sheet with data, no merged cells."""
    # Imported here, like the XML parsers: CSV-only callers, and workers that read no file, do not pay for them.
    from xml.etree import ElementTree
    from xml.parsers import expat

    import openpyxl

    try:
        archive = zipfile.ZipFile(source)
        sheets = _sheets(archive)
        for part in ("xl/sharedStrings.xml", "xl/styles.xml"):
            if part in archive.NameToInfo and archive.getinfo(part).file_size > MAX_XLSX_PART_BYTES:
                raise UnreadableTable("too_large")
        for sheet in sheets:
            _survey(archive, sheet)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError):
        raise UnreadableTable("damaged") from None
    except (ElementTree.ParseError, expat.ExpatError):
        raise UnreadableTable("damaged") from None
    with_data = [s for s in sheets if s.has_data]
    if not with_data:
        raise UnreadableTable("empty")
    if len(with_data) > 1:
        raise UnreadableTable("several_sheets", sheets=_quote([s.title for s in with_data]))
    sheet = with_data[0]
    if sheet.merged:
        ranges = ", ".join(sheet.merged[:5]) + (", …" if len(sheet.merged) > 5 else "")
        raise UnreadableTable("merged_cells", sheet=sheet.title, ranges=ranges)
    source.seek(0)
    try:
        workbook = openpyxl.load_workbook(source, read_only=True, data_only=True)
    except Exception:  # openpyxl raises many kinds on a damaged workbook
        raise UnreadableTable("damaged") from None
    try:
        return _table(_xlsx_records(workbook, sheet.title), columns, required, "xlsx", sheet.title, filename)
    except BaseException:
        workbook.close()
        raise
