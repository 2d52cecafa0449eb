"""Reading hand-made spreadsheets: CSV in the encodings Excel writes, XLSX, and everything that is not a table."""

import gc
import io
import tracemalloc
import weakref
import zipfile
from datetime import date, datetime

import openpyxl
import pytest

from shop.tables import MAX_LINE_CHARS, UnreadableTable, read_table

COLUMNS = {
    "town": ("镇", "town", "乡镇"),
    "village": ("村", "village"),
    "town_en": ("town_en", "镇英文名"),
}
REQUIRED = {"town"}


def table(data: bytes, filename: str = "places.csv", columns=COLUMNS, required=REQUIRED):
    """The table read from these bytes."""
    return read_table(io.BytesIO(data), filename, columns, required)


def rows(data: bytes, filename: str = "places.csv", **kw):
    """The (line, values) of every row."""
    return [(r.line, r.values) for r in table(data, filename, **kw).rows]


def refused(data: bytes, filename: str = "places.csv", **kw) -> UnreadableTable:
    """The error reading these bytes, rows included."""
    with pytest.raises(UnreadableTable) as caught:
        list(table(data, filename, **kw).rows)
    return caught.value


def xlsx(*sheets: list[list[object]], merge: str | None = None, titles=None) -> bytes:
    """A workbook with these sheets (rows of values); the first sheet's range `merge` merged."""
    book = openpyxl.Workbook()
    for i, data in enumerate(sheets):
        sheet = book.active if i == 0 else book.create_sheet()
        if titles:
            sheet.title = titles[i]
        for row in data:
            sheet.append(row)
    if merge:
        book.active.merge_cells(merge)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


TEXT = "镇,村,town_en\n临城镇,大波村,Lincheng\n和舍镇,,Heshe\n"
EXPECTED = [
    (2, {"town": "临城镇", "village": "大波村", "town_en": "Lincheng"}),
    (3, {"town": "和舍镇", "village": "", "town_en": "Heshe"}),
]


@pytest.mark.parametrize(
    "data",
    [TEXT.encode("utf-8"), b"\xef\xbb\xbf" + TEXT.encode("utf-8"), TEXT.encode("gb18030")],
    ids=["utf-8", "utf-8-bom", "gb18030"],
)
def test_csv_in_every_encoding_excel_writes(data):
    assert rows(data) == EXPECTED


def test_encoding_is_reported_and_bom_is_not_part_of_the_header():
    read = table(b"\xef\xbb\xbf" + TEXT.encode("utf-8"))
    assert read.kind == "csv" and read.detail == "utf-8-sig"
    assert read.header.positions == {"town": 0, "village": 1, "town_en": 2}
    assert table(TEXT.encode("gb18030")).detail == "gb18030"


def test_gb18030_decided_over_the_whole_file_not_its_start():
    data = ("town,village\n" + "Lincheng,Dabo\n" * 10_000).encode("ascii") + "和舍镇,丛潭村\n".encode("gb18030")
    assert rows(data)[-1] == (10_002, {"town": "和舍镇", "village": "丛潭村", "town_en": ""})


def test_headers_trimmed_case_insensitive_and_in_english_or_chinese():
    assert rows(b" Town , VILLAGE ,notes\r\nLincheng,Dabo,x\r\n") == [
        (2, {"town": "Lincheng", "village": "Dabo", "town_en": ""})
    ]
    # Full-width letters typed with a Chinese input method match too.
    assert rows("ＴＯＷＮ\n临城镇\n".encode())[0][1]["town"] == "临城镇"


def test_values_trimmed_blank_rows_skipped_line_numbers_are_spreadsheet_rows():
    data = "镇,村\n\n  临城镇 ,\u3000大波村\u3000\n,,\n \t, \n和舍镇,丛潭村\n".encode()
    assert rows(data) == [
        (3, {"town": "临城镇", "village": "大波村", "town_en": ""}),
        (6, {"town": "和舍镇", "village": "丛潭村", "town_en": ""}),
    ]


def test_a_record_with_an_embedded_newline_is_one_line():
    data = '镇,村\n临城镇,"大波\n村"\n和舍镇,丛潭村\n'.encode()
    assert rows(data) == [
        (2, {"town": "临城镇", "village": "大波\n村", "town_en": ""}),
        (3, {"town": "和舍镇", "village": "丛潭村", "town_en": ""}),
    ]


def test_a_row_with_only_an_ignored_column_is_not_blank():
    assert rows("镇,备注\n,note\n".encode()) == [(2, {"town": "", "village": "", "town_en": ""})]


def test_short_rows_give_empty_values():
    assert rows("镇,村\n临城镇\n".encode()) == [(2, {"town": "临城镇", "village": "", "town_en": ""})]


def test_tab_or_semicolon_separated_files_are_read():
    assert rows("镇\t村\n临城镇\t大波村\n".encode())[0][1]["village"] == "大波村"
    assert rows(b"town;village\nLincheng;Dabo\n")[0][1]["village"] == "Dabo"


def test_control_characters_are_passed_to_the_caller_to_judge():
    assert rows("镇,村\n临城\x00镇,大\x07波村\n".encode())[0][1] == {
        "town": "临城\x00镇",
        "village": "大\x07波村",
        "town_en": "",
    }


def test_empty_files_are_refused():
    assert refused(b"").reason == "empty"
    assert refused(b"\xef\xbb\xbf").reason == "empty"
    assert refused(b"\n\r\n,,\n").reason == "empty"
    assert "empty" in str(refused(b""))


def test_a_header_alone_is_refused_by_read_table_itself():
    with pytest.raises(UnreadableTable) as caught:
        table("镇,村\n\n,\n".encode())
    assert caught.value.reason == "no_rows"
    assert refused(xlsx([["镇", "村"]]), "p.xlsx").reason == "no_rows"


@pytest.mark.parametrize(
    "data, encoding",
    [
        (TEXT.encode("utf-16"), "UTF-16"),
        (TEXT.encode("utf-16-le"), "UTF-16"),
        ("town,village\nLincheng,Dabo\n".encode("utf-16-be"), "UTF-16"),
        (TEXT.encode("utf-32"), "UTF-32"),
    ],
    ids=["utf-16-bom", "utf-16-le", "utf-16-be-ascii", "utf-32"],
)
def test_utf16_is_refused_with_advice(data, encoding):
    err = refused(data)
    assert err.reason == "utf16" and err.params == {"encoding": encoding}
    assert "CSV UTF-8" in str(err)


def test_text_in_another_encoding_is_refused():
    # Latin-1 bytes that are neither valid UTF-8 nor GB18030 (0x80 and 0xFF alone are invalid in both).
    assert refused(b"town,village\nCaf\xe9,\x80\xff\n").reason == "encoding"


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n", "file_type"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "file_type"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "file_type"),
        (bytes(range(256)) * 40, "binary"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "old_excel"),
    ],
    ids=["pdf", "png", "jpeg", "binary", "xls"],
)
@pytest.mark.parametrize("filename", ["places.csv", "places.xlsx"])
def test_files_that_are_not_spreadsheets_are_refused_whatever_their_name(data, reason, filename):
    err = refused(data, filename)
    assert err.reason == reason
    if reason == "file_type":
        assert err.params["kind"] in str(err)


def test_random_bytes_are_refused():
    import random

    junk = random.Random(7).randbytes(100_000)
    assert refused(junk).reason in {"binary", "encoding"}


def test_a_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert refused(out.getvalue(), "places.xlsx").reason == "not_a_workbook"


def test_a_truncated_workbook_is_refused():
    data = xlsx([["镇"], ["临城镇"]])
    assert refused(data[: len(data) // 2], "places.xlsx").reason == "damaged"


def test_a_workbook_named_csv_is_still_read_as_a_workbook():
    assert rows(xlsx([["镇"], ["临城镇"]]), "places.csv") == [(2, {"town": "临城镇", "village": "", "town_en": ""})]


def test_xlsx_rows_numbers_and_dates_come_back_as_text():
    columns = {"name": ("name",), "count": ("count",), "price": ("price",), "day": ("day",), "phone": ("phone",)}
    data = xlsx(
        [
            ["name", "count", "price", "day", "phone"],
            [" 临城镇 ", 12, 68.0, date(2026, 12, 3), 13800138000.0],
            [],
            [None, None, None, None, None],
            ["和舍镇", 3.5, 0.1, datetime(2026, 1, 2, 0, 0), "0898-28282828"],
        ]
    )
    read = table(data, "p.xlsx", columns=columns, required={"name"})
    assert read.kind == "xlsx" and read.detail == "Sheet"
    assert [(r.line, r.values) for r in read.rows] == [
        (2, {"name": "临城镇", "count": "12", "price": "68", "day": "2026-12-03", "phone": "13800138000"}),
        (5, {"name": "和舍镇", "count": "3.5", "price": "0.1", "day": "2026-01-02", "phone": "0898-28282828"}),
    ]


def test_xlsx_with_merged_cells_names_the_range():
    err = refused(xlsx([["镇", "村"], ["临城镇", "大波村"], ["", "丛潭村"]], merge="A2:A3"), "p.xlsx")
    assert err.reason == "merged_cells"
    assert err.params["ranges"] == "A2:A3" and "A2:A3" in str(err)


def test_xlsx_with_data_on_two_sheets_names_them():
    data = xlsx([["镇"], ["临城镇"]], [["notes"], ["x"]], titles=["村镇", "说明"])
    err = refused(data, "p.xlsx")
    assert err.reason == "several_sheets"
    assert "村镇" in err.params["sheets"] and "说明" in err.params["sheets"]


def test_xlsx_with_empty_extra_sheets_is_read_from_the_sheet_with_data():
    data = xlsx([], [["town"], ["Lincheng"]], [], titles=["Sheet1", "Places", "Sheet3"])
    read = table(data, "p.xlsx")
    assert read.detail == "Places"
    assert [r.values["town"] for r in read.rows] == ["Lincheng"]


def test_hidden_sheets_of_a_template_are_ignored():
    book = openpyxl.Workbook()
    book.active.append(["镇"])
    book.active.append(["临城镇"])
    lists = book.create_sheet("lists")
    lists.append(["临城镇", "和舍镇"])
    lists.sheet_state = "hidden"
    out = io.BytesIO()
    book.save(out)
    assert [r.values["town"] for r in table(out.getvalue(), "p.xlsx").rows] == ["临城镇"]


def test_xlsx_with_no_data_is_empty():
    assert refused(xlsx([], []), "p.xlsx").reason == "empty"


def test_a_missing_required_column_is_named_with_what_was_found():
    err = refused("村,人口\n大波村,300\n".encode())
    assert err.reason == "missing_columns"
    assert err.params["missing"] == "“镇”"
    assert "“村”" in err.params["found"] and "“人口”" in err.params["found"]
    assert refused(xlsx([["村"], ["大波村"]]), "p.xlsx").reason == "missing_columns"


def test_a_header_that_matches_nothing_is_refused():
    err = refused(b"name,age\nBob,3\n")
    assert err.reason == "no_known_columns"
    assert "“name”" in err.params["found"] and "“镇”" in err.params["expected"]


def test_a_column_given_twice_is_refused():
    err = refused("镇,town\n临城镇,Lincheng\n".encode())
    assert err.reason == "duplicate_column" and "town" in err.params["column"]


def test_an_unclosed_quote_is_refused_with_its_line():
    data = '镇,村\n临城镇,大波村\n和舍镇,"unclosed\n'.encode() + b"y\n" * 100_000
    err = refused(data)
    assert err.reason == "bad_csv" and err.params["line"] == 3


def test_ten_megabytes_without_a_newline_fail_fast_and_small():
    data = b"a" * (10 * 1024 * 1024)
    tracemalloc.start()
    err = refused(data)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert err.reason == "line_too_long" and err.params["line"] == 1
    assert peak < 2 * 1024 * 1024
    assert str(MAX_LINE_CHARS) in str(err)


def test_ten_megabytes_of_nonsense_lines_fail_on_the_header():
    import random

    alphabet = bytes.maketrans(bytes(range(256)), b"abc,xyz 123\n" * 21 + b"abcd")
    data = random.Random(1).randbytes(10_500_000).translate(alphabet)
    assert len(data) > 10_000_000
    err = refused(data)
    assert err.reason == "no_known_columns"
    assert len(str(err)) < 1500


def test_a_long_line_in_the_middle_names_its_line():
    data = "镇\n临城镇\n".encode() + b"x" * (MAX_LINE_CHARS + 1) + b"\n"
    read = table(data)
    with pytest.raises(UnreadableTable) as caught:
        list(read.rows)
    assert caught.value.reason == "line_too_long" and caught.value.params["line"] == 3


def test_a_line_exactly_at_the_limit_is_read():
    data = b"town\r\n" + b"x" * MAX_LINE_CHARS + b"\r\ny\r\n"
    assert [line for line, _ in rows(data)] == [2, 3]


def test_50000_rows_are_streamed_not_held():
    data = ("镇,村\n" + "".join(f"临城镇,村{n}\n" for n in range(50_000))).encode("gb18030")
    tracemalloc.start()
    count = 0
    for row in table(data).rows:
        count += 1
        last = row
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert count == 50_000 and last.line == 50_001 and last.values["village"] == "村49999"
    assert peak < 3 * 1024 * 1024  # the file alone is 0.8 MB; 50,000 Row objects would be ~20 MB


def raw_xlsx(rows: int) -> bytes:
    """A minimal workbook written by hand (fast): a header 镇,村 and `rows` rows of inline strings."""
    cells = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>临城镇</t></is></c>'
        f'<c r="B{n}" t="inlineStr"><is><t>村{n}</t></is></c></row>'
        for n in range(2, rows + 2)
    )
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    parts = {
        "[Content_Types].xml": (
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/worksheets/sheet1.xml" '
            'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
        ),
        "_rels/.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ),
        "xl/workbook.xml": (
            f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="村镇" sheetId="1" r:id="rId1"/>'
            "</sheets></workbook>"
        ),
        "xl/_rels/workbook.xml.rels": (
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{rel}/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
        ),
        "xl/worksheets/sheet1.xml": (
            f'<worksheet xmlns="{main}"><dimension ref="A1:B{rows + 1}"/><sheetData>'
            '<row r="1"><c r="A1" t="inlineStr"><is><t>镇</t></is></c><c r="B1" t="inlineStr"><is><t>村</t></is></c>'
            f"</row>{cells}</sheetData></worksheet>"
        ),
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in parts.items():
            archive.writestr(name, text)
    return out.getvalue()


def test_a_workbook_written_by_another_program_is_read():
    assert [(r.line, r.values["village"]) for r in table(raw_xlsx(3), "p.xlsx").rows] == [
        (2, "村2"),
        (3, "村3"),
        (4, "村4"),
    ]


def test_50000_xlsx_rows_are_streamed_not_held():
    read = table(raw_xlsx(50_000), "p.xlsx")
    first = next(read.rows)
    seen = weakref.ref(first)
    del first
    count = 1
    for row in read.rows:
        count += 1
        last = row.line
    gc.collect()
    assert count == 50_000 and last == 50_001
    assert seen() is None  # the first row was let go: rows are not accumulated


def test_a_source_that_cannot_seek_is_read():
    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self.inner = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            chunk = self.inner.read(len(buffer))
            buffer[: len(chunk)] = chunk
            return len(chunk)

    read = read_table(Pipe(TEXT.encode("gb18030")), "p.csv", COLUMNS, REQUIRED)
    assert [(r.line, r.values) for r in read.rows] == EXPECTED
