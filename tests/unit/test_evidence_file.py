"""The evidence file's layout: long tables run onto further pages, each page footed with the household and x of y."""

import re
from datetime import datetime
from io import BytesIO

import pytest
from pypdf import PdfReader

from shop.pdf.evidence_file import EvidenceFile, FileSection, render_evidence_file
from shop.pdf.report import ReportTable


def a_file(rows: int) -> EvidenceFile:
    visits = tuple(
        (str(i), f"2026-11-{1 + i % 28:02d}【补录】", "入户走访", f"第{i}次走访情况", "未发现") for i in range(rows)
    )
    table = ReportTable("三、走访记录", ("编号", "走访日期", "方式", "走访情况", "风险"), visits, (False,) * 5)
    return EvidenceFile(
        household_code="DB001",
        title="一户一档 · DB001",
        particulars=(("户编码", "DB001"), ("户主", "王**"), ("家庭人口", "4 人")),
        sections=(
            FileSection(table, "录入时间晚于走访日期 7 天以上的，标注【补录】。"),
            FileSection(ReportTable("九、审计记录", ("时间",), (), (False,))),
        ),
        generated_at=datetime(2026, 12, 4, 9, 30),
        generated_by="督查组（inspector）",
    )


def pages(document: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(BytesIO(document)).pages]


def test_a_short_file_is_one_page_with_its_footer():
    [page] = pages(render_evidence_file(a_file(3)))
    assert "王**" in page and "第2次走访情况" in page and "（无记录）" in page
    assert re.search(r"第\s*1\s*页\s*/\s*共\s*1\s*页", page)
    assert "2026-12-04 09:30" in page and "inspector" in page


@pytest.mark.parametrize("rows", [80, 200])
def test_a_long_table_runs_on_and_every_page_says_which_household_and_page_it_is(rows):
    printed = pages(render_evidence_file(a_file(rows)))
    assert len(printed) > 1
    for number, page in enumerate(printed, start=1):
        assert "DB001" in page
        assert re.search(rf"第\s*{number}\s*页\s*/\s*共\s*{len(printed)}\s*页", page), page[-200:]
    assert "三、走访记录（续）" in printed[1].replace(" ", "")
    assert f"第{rows - 1}次走访情况" in "".join(printed)
