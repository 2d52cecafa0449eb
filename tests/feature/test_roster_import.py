"""The household roster import, from the command line and through the manager's page, and the staff import.

All or nothing: a bad row is named by line, column and reason and nothing is written; a good file
adds and updates households, each change kept in the household's history; the same file twice
changes nothing the second time.
"""

import csv
import io
import os
import re
import stat
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
from werkzeug.security import check_password_hash

from shop.extensions import db
from shop.models import (
    AuditEvent,
    Household,
    HouseholdCategory,
    HouseholdChange,
    HouseholdStatus,
    MonitorSubtype,
    Role,
    User,
    Village,
)

HEADER = "户编号,户主姓名,乡镇,村,家庭人口,户类别,监测类型,帮扶责任人,联系电话"
ROWS = [
    "DB101,王亦明,临城镇,大波村,4,脱贫户,,officer,13812345678",
    "CT101,符海成,和舍镇,丛潭村,3,监测户,边缘易致贫户,officer2,",
    "CT102,陈三,和舍镇,新村,2,一般农户,,officer,",
]
WRITTEN = (Household, HouseholdStatus, HouseholdChange, Village, AuditEvent)


def roster(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in WRITTEN}


def run_import(app, tmp_path: Path, content: bytes, *args: str, name: str = "roster.csv"):
    path = tmp_path / name
    path.write_bytes(content)
    return app.test_cli_runner().invoke(args=["households", "import", str(path), *args])


def household(app, code: str) -> Household | None:
    with app.app_context():
        found = db.session.scalars(
            sa.select(Household).where(Household.code == code).options(sa.orm.joinedload(Household.village))
        ).first()
        if found:
            db.session.expunge(found)
        return found


# ---------------------------------------------------------------- the command line


def test_a_good_roster_adds_households_and_the_same_file_again_changes_nothing(app, staff, tmp_path):
    result = run_import(app, tmp_path, roster(*ROWS))
    assert result.exit_code == 0, result.output
    assert "Added 3, updated 0, unchanged 0 households." in result.output
    assert "和舍镇 新村" in result.output  # a village new to a county town is added, and said so
    wang = household(app, "DB101")
    assert (wang.head_name, wang.members, wang.category, wang.phone) == (
        "王亦明",
        4,
        HouseholdCategory.TUOPIN,
        "13812345678",
    )
    fu = household(app, "CT101")
    assert fu.monitor_subtype is MonitorSubtype.MARGINAL
    with app.app_context():
        statuses = db.session.scalars(sa.select(HouseholdStatus.note)).all()
        assert len(statuses) == 3 and all("roster.csv" in note for note in statuses)
        trail = db.session.scalars(
            sa.select(AuditEvent.after).where(AuditEvent.entity == "household", AuditEvent.action == "insert")
        ).all()
        assert len(trail) == 3 and any('"head_name": "王**"' in after for after in trail)
        assert not any("王亦明" in after or "13812345678" in after for after in trail)
        assert db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.entity == "household_status")) == 3
    before = counts(app)
    again = run_import(app, tmp_path, roster(*ROWS))
    assert again.exit_code == 0, again.output
    assert "Added 0, updated 0, unchanged 3 households." in again.output
    assert counts(app) == before


def test_a_known_code_updates_the_household_and_its_history_keeps_the_change(app, staff, tmp_path):
    assert run_import(app, tmp_path, roster(*ROWS)).exit_code == 0
    changed = [
        "DB101,王亦明,临城镇,大波村,5,监测户,突发严重困难户,officer2,",  # members, standing, officer; phone kept
        *ROWS[1:],
    ]
    result = run_import(app, tmp_path, roster(*changed), name="roster-december.csv")
    assert result.exit_code == 0, result.output
    assert "Added 0, updated 1, unchanged 2 households." in result.output
    wang = household(app, "DB101")
    assert (wang.members, wang.category, wang.monitor_subtype) == (5, HouseholdCategory.JIANCE, MonitorSubtype.SUDDEN)
    assert wang.phone == "13812345678"
    with app.app_context():
        changes = db.session.execute(
            sa.select(HouseholdChange.field, HouseholdChange.before, HouseholdChange.after, HouseholdChange.source)
            .where(HouseholdChange.household_id == wang.id)
            .order_by(HouseholdChange.id)
        ).all()
        assert [(c.field.value, c.before, c.after, c.source) for c in changes] == [
            ("members", "4", "5", "import"),
            ("officer", "officer", "officer2", "import"),
        ]
        latest = db.session.scalars(
            sa.select(HouseholdStatus)
            .where(HouseholdStatus.household_id == wang.id)
            .order_by(HouseholdStatus.id.desc())
        ).first()
        assert latest.category is HouseholdCategory.JIANCE and "roster-december.csv" in latest.note


def test_a_dry_run_reports_the_same_and_writes_nothing(app, staff, tmp_path):
    before = counts(app)
    result = run_import(app, tmp_path, roster(*ROWS), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Would add 3, update 0 and leave 0 unchanged households." in result.output
    assert "Dry run: nothing was written." in result.output
    assert counts(app) == before


def test_an_excel_workbook_and_a_gb18030_file_are_read_too(app, staff, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    for line in [HEADER, *ROWS]:
        sheet.append([int(v) if v.isdigit() and len(v) < 3 else v for v in line.split(",")])
    out = io.BytesIO()
    book.save(out)
    result = run_import(app, tmp_path, out.getvalue(), name="roster.xlsx")
    assert result.exit_code == 0, result.output
    assert "Added 3" in result.output
    english = "code,head_name,town,village,members,category,monitor_subtype,officer,phone"
    gb = roster("DB102,黎明,Lincheng,大波村,2,jiance,sudden,OFFICER,", header=english).decode().encode("gb18030")
    result = run_import(app, tmp_path, gb, name="gb.csv")
    assert result.exit_code == 0, result.output
    assert household(app, "DB102").monitor_subtype is MonitorSubtype.SUDDEN


BAD_ROWS = {
    "a town not the county's": ("DB101,王亦明,海口市,大波村,4,脱贫户,,officer,", "乡镇"),
    "members in words": ("DB101,王亦明,临城镇,大波村,四,脱贫户,,officer,", "家庭人口"),
    "an officer who does not exist": ("DB101,王亦明,临城镇,大波村,4,脱贫户,,nobody,", "帮扶责任人"),
    "a clerk as the officer": ("DB101,王亦明,临城镇,大波村,4,脱贫户,,clerk,", "帮扶责任人"),
    "a subtype on a 脱贫户": ("DB101,王亦明,临城镇,大波村,4,脱贫户,边缘易致贫户,officer,", "监测类型"),
    "a bad phone": ("DB101,王亦明,临城镇,大波村,4,脱贫户,,officer,1381234", "联系电话"),
    "a too-long name": ("DB101," + "王" * 51 + ",临城镇,大波村,4,脱贫户,,officer,", "户主姓名"),
    "an unknown category": ("DB101,王亦明,临城镇,大波村,4,贫困户,,officer,", "户类别"),
    "a bad code": ("DB 101,王亦明,临城镇,大波村,4,脱贫户,,officer,", "户编号"),
    "no village": ("DB101,王亦明,临城镇,,4,脱贫户,,officer,", "村"),
    "zero members": ("DB101,王亦明,临城镇,大波村,0,脱贫户,,officer,", "家庭人口"),
}


@pytest.mark.parametrize("case", sorted(BAD_ROWS))
def test_a_bad_row_is_named_by_line_and_column_and_nothing_is_written(app, staff, tmp_path, case):
    row, column = BAD_ROWS[case]
    before = counts(app)
    result = run_import(app, tmp_path, roster(ROWS[1], ROWS[2], row))
    assert result.exit_code == 1, result.output
    assert f"line 4, {column}: " in result.output
    assert "line 2" not in result.output and "line 3" not in result.output
    assert "nothing imported" in result.output
    assert counts(app) == before


def test_every_bad_row_is_named_and_a_repeated_code_names_both_lines(app, staff, tmp_path):
    rows = [
        ROWS[0],
        "DB101,王二,临城镇,大波村,3,脱贫户,,officer,",
        "CT109,符,海口市,丛潭村,四,脱贫户,,nobody,",
        ROWS[2],
    ]
    before = counts(app)
    result = run_import(app, tmp_path, roster(*rows))
    assert result.exit_code == 1
    assert re.search(r"line 3, 户编号: .*DB101.*2", result.output)
    for column in ("乡镇", "家庭人口", "帮扶责任人"):
        assert f"line 4, {column}: " in result.output
    assert "line 5" not in result.output
    assert counts(app) == before


def xlsx(build) -> bytes:
    book = openpyxl.Workbook()
    build(book)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def merged(book):
    sheet = book.active
    for line in [HEADER, *ROWS]:
        sheet.append(line.split(","))
    sheet.merge_cells("C2:C3")


def two_sheets(book):
    book.active.append(HEADER.split(","))
    book.active.append(ROWS[0].split(","))
    book.create_sheet("第二页").append(ROWS[1].split(","))


UNREADABLE = {
    "an empty file": (b"", "文件是空的"),
    "a header and no rows": (HEADER.encode() + b"\n", "没有数据行"),
    "UTF-16": ("\n".join([HEADER, *ROWS]).encode("utf-16"), "UTF-16"),
    "neither UTF-8 nor GB18030": (HEADER.encode() + b"\n\xff\xfe\xfd,\x80\n", "既不是 UTF-8 也不是 GB18030"),
    "a PDF": (b"%PDF-1.4\n" + b"\x00" * 200, "PDF"),
    "a PNG": (b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "PNG"),
    "merged cells": (xlsx(merged), "合并单元格（C2:C3）"),
    "several sheets": (xlsx(two_sheets), "不止一个工作表"),
    "10 MB of nonsense lines": (b"lorem ipsum, dolor sit amet\n" * 380_000, "不是可识别的表头"),
    "10 MB on one line": (b"lorem ipsum dolor sit amet " * 400_000, "第 1 行超过 32768 个字符"),
    "10 MB of random bytes": (os.urandom(10 * 1024 * 1024), "不是表格"),
    "a header of other columns": (b"name,age\nwang,4\n", "不是可识别的表头"),
}


@pytest.mark.parametrize("case", sorted(UNREADABLE))
def test_a_file_that_is_no_roster_is_refused_with_a_clear_message(app, staff, tmp_path, case):
    content, words = UNREADABLE[case]
    before = counts(app)
    result = run_import(app, tmp_path, content, name="roster.xlsx" if content[:2] == b"PK" else "roster.csv")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert words.lower() in result.output.lower(), result.output
    assert counts(app) == before


# ---------------------------------------------------------------- the manager's page


def upload(user, content: bytes, name: str = "roster.csv", token: str | None = None):
    data = {"roster": (io.BytesIO(content), name, "text/csv")}
    if token is not False:
        data["csrf_token"] = token or user.token
    return user.client.post("/admin/households/import/", data=data, content_type="multipart/form-data")


def confirm(user, url: str, token: str | None = None):
    return user.client.post(url, data={"csrf_token": token or user.token})


@pytest.fixture
def chinese(admin):
    admin.client.set_cookie("lang", "zh_CN")
    return admin


def test_upload_preview_confirm_and_a_second_confirm_does_nothing(app, staff, chinese):
    admin = chinese
    sent = upload(admin, roster(*ROWS))
    assert sent.status_code == 302, sent.get_data(as_text=True)[:500]
    url = sent.headers["Location"]
    page = admin.client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and len(page.data) < 150_000
    assert "导入前请核对名册" in html
    assert 'data-added="DB101"' in html and "王**" in html and "王亦明" not in html
    assert "和舍镇 新村" in html
    assert counts(app)["household"] == 0  # the preview wrote nothing
    done = confirm(admin, url)
    assert done.status_code == 302
    result = admin.client.get(url).get_data(as_text=True)
    assert 'data-state="done"' in result and "名册已导入" in result
    after = counts(app)
    assert after["household"] == 3
    with app.app_context():
        by = db.session.scalars(sa.select(HouseholdStatus.recorded_by_id)).all()
        admin_id = db.session.scalars(sa.select(User.id).where(User.username == "admin")).one()
        assert set(by) == {admin_id}
    again = confirm(admin, url)
    assert again.status_code == 409
    assert counts(app) == after


def test_the_preview_shows_changes_masked_and_refused_rows_in_chinese(app, staff, chinese, tmp_path):
    assert run_import(app, tmp_path, roster(*ROWS)).exit_code == 0
    rows = [
        "DB101,王亦明,临城镇,大波村,5,监测户,,officer,13912345678",
        ROWS[1],
        "CT103,林,和舍镇,丛潭村,四,一般农户,,officer,",
    ]
    response = upload(chinese, roster(*rows))
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'data-updated="DB101"' in page
    assert "人口: 4 → 5" in page
    assert "138****5678 → 139****5678" in page
    assert "类别: 脱贫户 → 监测户" in page
    assert 'data-refused="4"' in page and "请用数字填写人口" in page
    assert "导入：" not in page  # no confirm button while a row is refused
    assert 'name="csrf_token"' not in page.split("</header>")[1]


def test_confirm_needs_the_csrf_token_and_the_uploader(app, staff, admin, as_role, tmp_path):
    url = upload(admin, roster(*ROWS)).headers["Location"]
    assert confirm(admin, url, token="forged").status_code == 400
    assert admin.client.post(url, data={}).status_code == 400
    assert counts(app)["household"] == 0
    with app.app_context():
        accounts_module = __import__("shop.staff.accounts", fromlist=["create_user"])
        accounts_module.create_user("admin2", "correct horse battery", Role.ADMIN)
    other = as_role("admin2")
    assert other.client.get(url).status_code == 404
    assert confirm(other, url).status_code == 404
    assert counts(app)["household"] == 0
    assert confirm(admin, url).status_code == 302
    assert counts(app)["household"] == 3


def test_a_kept_file_changed_on_the_server_is_not_imported(app, staff, admin):
    url = upload(admin, roster(*ROWS)).headers["Location"]
    token = url.rstrip("/").rsplit("/", 1)[1]
    kept = Path(app.config["ROSTER_UPLOADS_FOLDER"]) / f"{token}.upload"
    kept.write_bytes(roster(ROWS[0].replace("4,", "9,")))
    assert confirm(admin, url).status_code == 422
    assert counts(app)["household"] == 0
    assert not kept.exists()


def test_an_unreadable_upload_is_refused_on_the_form(app, staff, chinese):
    for content in (b"", b"%PDF-1.4 not a roster", HEADER.encode() + b"\n"):
        response = upload(chinese, content)
        assert response.status_code == 422
        assert "field-error" in response.get_data(as_text=True)
    assert upload(chinese, roster(*ROWS), token=False).status_code == 400
    assert not list(Path(app.config["ROSTER_UPLOADS_FOLDER"]).glob("*.upload"))


def test_an_import_raced_by_another_is_told_to_try_again_and_stays_confirmable(app, staff, admin, monkeypatch):
    from shop.villages import roster as roster_module

    url = upload(admin, roster(*ROWS)).headers["Location"]
    with app.app_context():
        roster_module.import_roster(io.BytesIO(roster(ROWS[0])), "other.csv", by=None)
    # As if the other import had committed after this one looked for its households.
    monkeypatch.setattr(roster_module._Walk, "existing", lambda self, codes: {})
    before = counts(app)
    raced = confirm(admin, url)
    assert raced.status_code == 409
    assert counts(app) == before
    monkeypatch.undo()
    assert confirm(admin, url).status_code == 302
    assert counts(app)["household"] == 3


def test_markup_in_a_roster_is_shown_as_text(app, staff, admin):
    script = "<script>alert(1)</script>"
    row = f"DB101,王亦明,临城镇,{script},4,脱贫户,,officer,"
    url = upload(admin, roster(row), name=f"{script}.csv").headers["Location"]
    page = admin.client.get(url).get_data(as_text=True)
    assert script not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert confirm(admin, url).status_code == 302
    assert household(app, "DB101").village.name_zh == script  # kept as the text it is


@pytest.mark.parametrize("config_overrides", [{"ROSTER_UPLOAD_MAX_BYTES": 4096}])
def test_an_upload_over_the_limit_is_refused_with_413(app, staff, admin, config_overrides):
    assert upload(admin, roster(*ROWS * 1500)).status_code == 413
    assert upload(admin, roster(*ROWS)).status_code == 302


def test_the_households_list_links_the_import_for_the_manager_only(app, staff, admin, as_role):
    assert "/admin/households/import/" in admin.client.get("/admin/households/").get_data(as_text=True)
    assert "/admin/households/import/" not in as_role("officer").client.get("/admin/households/").get_data(as_text=True)


# ---------------------------------------------------------------- staff accounts in bulk

STAFF_HEADER = "用户名,姓名,角色,乡镇,专柜,帮扶户"


def run_users(app, tmp_path: Path, content: bytes, *args: str):
    path = tmp_path / "staff.csv"
    path.write_bytes(content)
    return app.test_cli_runner().invoke(args=["users", "import", str(path), *args])


def test_staff_accounts_are_added_with_one_time_passwords_kept_in_a_private_file(app, staff, tmp_path):
    assert run_import(app, tmp_path, roster(*ROWS)).exit_code == 0
    rows = [
        "li.wei,李伟,帮扶责任人,,,DB101、CT101",
        "zhang,张敏,售货员,,LC-JN,",
        "lincheng,,督导人员,临城镇,,",
        "chen,陈,officer,,,",
    ]
    out = tmp_path / "secret" / "passwords.csv"
    result = run_users(app, tmp_path, "\n".join([STAFF_HEADER, *rows]).encode(), "--passwords", str(out))
    assert result.exit_code == 0, result.output
    assert "Added 4 accounts" in result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    with out.open(encoding="utf-8-sig") as f:
        passwords = {row["username"]: row["one_time_password"] for row in csv.DictReader(f)}
    assert set(passwords) == {"li.wei", "zhang", "lincheng", "chen"}
    for password in passwords.values():
        assert password not in result.output
    with app.app_context():
        users = {u.username: u for u in db.session.scalars(sa.select(User).where(User.username.in_(passwords)))}
        assert all(u.must_change_password for u in users.values())
        assert check_password_hash(users["li.wei"].password_hash, passwords["li.wei"])
        assert users["li.wei"].role is Role.OFFICER and users["zhang"].counter.code == "LC-JN"
        assert users["lincheng"].town.name_zh == "临城镇"
        officers = db.session.scalars(sa.select(Household.officer_id).where(Household.code.in_(["DB101", "CT101"])))
        assert set(officers) == {users["li.wei"].id}
    # Again: every username exists, nothing changes, no passwords file is left behind.
    second = tmp_path / "second.csv"
    again = run_users(app, tmp_path, "\n".join([STAFF_HEADER, *rows]).encode(), "--passwords", str(second))
    assert again.exit_code == 0, again.output
    assert "Added 0 accounts; 4 usernames exist already" in again.output
    assert not second.exists()
    # An existing passwords file is never overwritten.
    refused = run_users(app, tmp_path, "\n".join([STAFF_HEADER, "new1,,clerk,,,"]).encode(), "--passwords", str(out))
    assert refused.exit_code != 0 and "exists already" in refused.output


def test_a_bad_staff_row_adds_no_account_and_leaves_no_passwords_file(app, staff, tmp_path):
    rows = [
        "good,好,clerk,,,",
        "Bad Name,,clerk,,,",
        "x1,,厨师,,,",
        "x2,,督导人员,海口市,,",
        "x3,,officer,,,NOPE1",
        "x4,,clerk,临城镇,,",
        "good,,clerk,,,",
    ]
    out = tmp_path / "p.csv"
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(User))
    result = run_users(app, tmp_path, "\n".join([STAFF_HEADER, *rows]).encode(), "--passwords", str(out))
    assert result.exit_code == 1
    for line, column in ((3, "用户名"), (4, "角色"), (5, "乡镇"), (6, "帮扶户"), (7, "乡镇"), (8, "用户名")):
        assert f"line {line}, {column}: " in result.output, result.output
    assert "line 2," not in result.output
    assert not out.exists()
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == before
