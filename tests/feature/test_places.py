"""Setting up an installation: towns and villages from a file, counters on the command line and on the pages."""

import io
import json
from datetime import timedelta

import openpyxl
import pytest
import sqlalchemy as sa

from shop.clock import business_today
from shop.extensions import db
from shop.models import AuditEvent, Counter, Lot, Town, User, Village
from shop.ops import demo
from shop.villages import places
from tests.conftest import PASSWORD, Api

LONG = "镇" * 500
NUL = "临\x00城"


def send(user: Api, url: str, **fields):
    """Post a page's form as the browser would, with the session's CSRF token."""
    return user.client.post(url, data={"csrf_token": user.token or user.refresh_token(), **fields})


def run(app, *args, **kwargs):
    """Run a `flask --app shop` command; its result."""
    return app.test_cli_runner().invoke(args=list(args), **kwargs)


def places_of(app) -> dict[str, set[str]]:
    """Every town's Chinese name with its villages' names."""
    with app.app_context():
        towns = {t.name_zh: set() for t in db.session.scalars(sa.select(Town))}
        for village in db.session.scalars(sa.select(Village)):
            towns[village.town.name_zh].add(village.name_zh)
        return towns


def counters_of(app) -> dict[str, tuple[str, str, bool]]:
    """Every counter's code with its name, address and whether it is open."""
    with app.app_context():
        return {c.code: (c.name, c.address, c.active) for c in db.session.scalars(sa.select(Counter))}


def town_id(app, name: str) -> int:
    with app.app_context():
        return db.session.scalars(sa.select(Town.id).where(Town.name_zh == name)).one()


def counter_id(app, code: str) -> int:
    with app.app_context():
        return db.session.scalars(sa.select(Counter.id).where(Counter.code == code)).one()


def audited(app, entity: str) -> list[tuple[str, str | None, dict]]:
    """The trail's events on one table: action, actor's username, values after."""
    with app.app_context():
        events = db.session.scalars(sa.select(AuditEvent).where(AuditEvent.entity == entity).order_by(AuditEvent.id))
        return [
            (e.action, db.session.get(User, e.actor_id).username if e.actor_id else None, json.loads(e.after or "{}"))
            for e in events
        ]


def xlsx(rows: list[list[object]]) -> bytes:
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# ---------------------------------------------------------------- places import


def test_lingao_ships_with_the_package_and_matches_the_demo():
    text = places.lingao_file().read_text(encoding="utf-8")
    assert text.splitlines()[0] == "镇,村,town_en,village_en"
    rows = [line.split(",") for line in text.splitlines()[1:]]
    assert {(r[0], r[2]) for r in rows} == set(demo.TOWNS)
    assert {(r[0], r[1], r[3]) for r in rows if r[1]} == {(t, v, en) for t, v, en, *_ in demo.VILLAGES}


def test_places_import_lingao_on_an_empty_database_and_again_adds_nothing(app):
    first = run(app, "places", "import", "--lingao")
    assert first.exit_code == 0, first.output
    assert "Towns: 10 added, 0 already recorded. Villages: 5 added, 0 already recorded." in first.output
    found = places_of(app)
    assert set(found) == {t for t, _ in demo.TOWNS}
    assert found["和舍镇"] == {"丛潭村", "茶胡村", "先光村", "抱堂村"} and found["波莲镇"] == set()
    with app.app_context():
        assert db.session.scalars(sa.select(Town.name_en).where(Town.name_zh == "和舍镇")).one() == "Heshe"
    again = run(app, "places", "import", "--lingao")
    assert again.exit_code == 0, again.output
    assert "Towns: 0 added, 10 already recorded. Villages: 0 added, 5 already recorded." in again.output
    assert places_of(app) == found
    assert len(audited(app, "town")) == 10 and {a for a, _, _ in audited(app, "village")} == {"insert"}


def test_another_county_brings_its_own_file_in_gb18030(app, tmp_path):
    path = tmp_path / "澄迈县.csv"
    path.write_bytes("镇,村,town_en\n金江镇,大拉村,Jinjiang\n金江镇,夏插村,\n老城镇,,Laocheng\n".encode("gb18030"))
    result = run(app, "places", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "Towns: 2 added" in result.output and "Villages: 2 added" in result.output
    assert places_of(app) == {"金江镇": {"大拉村", "夏插村"}, "老城镇": set()}


def test_an_xlsx_grows_an_installation_matching_towns_by_either_name(world, tmp_path):
    path = tmp_path / "places.xlsx"
    path.write_bytes(xlsx([["town", "village"], ["Lincheng", "大波村"], ["lincheng", "新村"], ["和舍镇", "茶胡村"]]))
    result = run(world, "places", "import", str(path))
    assert result.exit_code == 0, result.output
    assert "Towns: 0 added, 2 already recorded. Villages: 2 added, 1 already recorded." in result.output
    assert places_of(world) == {"临城镇": {"大波村", "新村"}, "和舍镇": {"丛潭村", "茶胡村"}}


def test_bad_rows_are_each_named_and_nothing_is_imported(world, tmp_path):
    path = tmp_path / "places.csv"
    rows = [
        "镇,村",
        "新盈镇,新盈村",  # a good row: not written either
        ",无镇村",
        f"{LONG},",
        "临城镇,大\x07波",
        f"临城镇,{'村' * 61}",
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    before = places_of(world)
    result = run(world, "places", "import", str(path))
    assert result.exit_code == 1
    assert "line 3, column 镇" in result.output and "line 4, column 镇" in result.output
    assert "line 5, column 村" in result.output and "line 6, column 村" in result.output
    assert "4" in result.output.splitlines()[-1]  # "4 problems…; nothing was imported"
    assert places_of(world) == before
    assert not [event for event in audited(world, "town") if event[2].get("name_zh") == "新盈镇"]


def test_a_nul_in_a_file_is_a_bad_row_not_a_crash(world, tmp_path):
    path = tmp_path / "places.csv"
    path.write_bytes("镇,村\n临城镇,大\x00波\n".encode())
    result = run(world, "places", "import", str(path))
    assert result.exit_code == 1 and "line 2, column 村" in result.output
    assert places_of(world)["临城镇"] == {"大波村"}


def test_an_english_name_that_clashes_with_the_recorded_one_is_a_problem(world, tmp_path):
    path = tmp_path / "places.csv"
    path.write_text("镇,town_en\n临城镇,Lin Cheng\n东英镇,Heshe\n", encoding="utf-8")
    result = run(world, "places", "import", str(path))
    assert result.exit_code == 1
    assert "line 2, column town_en" in result.output and "line 3, column town_en" in result.output
    assert "东英镇" not in places_of(world)


@pytest.mark.parametrize(
    "content, complaint",
    [
        (b"", "empty"),
        (b"%PDF-1.7\n", "PDF"),
        ("村\n大波村\n".encode(), "“镇”"),
        ("镇,村\n".encode(), "no rows"),
        ("镇,村\n临城镇,大波村\n".encode("utf-16"), "UTF-16"),
    ],
)
def test_a_file_that_is_no_places_table_is_refused_clearly(app, tmp_path, content, complaint):
    path = tmp_path / "places.csv"
    path.write_bytes(content)
    app.config["LANGUAGES"] = ["en"]  # the messages in English, to match them here
    result = run(app, "places", "import", str(path))
    assert result.exit_code == 1
    assert complaint in result.output, result.output
    assert places_of(app) == {}


def test_places_import_needs_a_file_or_lingao(app, tmp_path):
    assert run(app, "places", "import").exit_code == 2
    path = tmp_path / "p.csv"
    path.write_text("镇\n临城镇\n", encoding="utf-8")
    assert run(app, "places", "import", str(path), "--lingao").exit_code == 2
    assert places_of(app) == {}


# ---------------------------------------------------------------- counters on the command line


def test_counters_add_and_list(app):
    assert "No counter yet" in run(app, "counters", "list").output
    added = run(app, "counters", "add", "lc-jn", "--name", "临城江南市场对面专柜", "--address", "临高县临城镇")
    assert added.exit_code == 0, added.output
    run(app, "counters", "add", "BL-01", "--name", "波莲镇专柜")
    assert counters_of(app) == {
        "LC-JN": ("临城江南市场对面专柜", "临高县临城镇", True),
        "BL-01": ("波莲镇专柜", "", True),
    }
    listed = run(app, "counters", "list").output.splitlines()
    assert listed == [
        "LC-JN\t临城江南市场对面专柜\t临高县临城镇\topen\t0 clerks",
        "BL-01\t波莲镇专柜\t-\topen\t0 clerks",
    ]
    assert [a for a, who, _ in audited(app, "counter")] == ["insert", "insert"]


@pytest.mark.parametrize(
    "args, complaint",
    [
        (["LC-JN", "--name", "又一个专柜"], "LC-JN"),
        (["lc-jn", "--name", "又一个专柜"], "LC-JN"),
        (["NEW", "--name", "临城江南市场对面专柜"], "临城江南市场对面专柜"),
        (["NEW", "--name", ""], ""),
        (["NEW", "--name", "   "], ""),
        (["NEW", "--name", "专" * 500], "100"),
        (["NEW", "--name", "a\x00b"], ""),
        (["NEW", "--name", "x", "--address", "地" * 201], "200"),
        (["A B", "--name", "x"], ""),
        (["", "--name", "x"], ""),
        (["X" * 33, "--name", "x"], ""),
        (["<script>", "--name", "x"], ""),
    ],
)
def test_counters_add_refuses_what_a_clumsy_user_types(world, args, complaint):
    before = counters_of(world)
    result = run(world, "counters", "add", *args)
    assert result.exit_code == 1, result.output
    assert complaint in result.output
    assert counters_of(world) == before


def test_a_blank_server_reaches_a_first_sale_without_the_demo(app):
    """From `db upgrade` to a sale with the commands and the API alone: places, a counter, accounts, goods."""
    assert run(app, "places", "import", "--lingao").exit_code == 0
    assert run(app, "counters", "add", "LC-JN", "--name", "临城江南市场对面专柜").exit_code == 0
    for username, role in (("manager", "admin"), ("shou", "clerk"), ("bangfu", "officer")):
        created = run(app, "create-user", username, "--role", role, input=f"{PASSWORD}\n{PASSWORD}\n")
        assert created.exit_code == 0, created.output
    manager, clerk = Api(app.test_client()), Api(app.test_client())
    assert manager.login("manager").status_code == 200 and clerk.login("shou").status_code == 200
    product = {"sku": "LG-XG", "name": "虾干", "unit": "g", "price_fen": 6800, "price_per": 500}
    product_id = manager.post("/api/products", json=product).get_json()["id"]
    household = {
        "code": "DB001",
        "head_name": "王亦明",
        "town": "临城镇",
        "village": "大波村",
        "members": 4,
        "category": "jiance",
        "officer": "bangfu",
    }
    response = manager.post("/api/households", json=household)
    assert response.status_code == 201, response.get_json()
    best_before = (business_today() + timedelta(days=90)).isoformat()
    lot = {"product_id": product_id, "household_id": response.get_json()["id"], "quantity": 3000}
    received = clerk.post("/api/lots", json={**lot, "best_before": best_before, "mode": "consignment"})
    assert received.status_code == 201, received.get_json()
    sale = {"idempotency_key": "first-sale-01", "payment_method": "cash"}
    sold = clerk.post("/api/counter/sales", json={**sale, "lines": [{"product_id": product_id, "quantity": 500}]})
    assert sold.status_code == 201, sold.get_json()
    assert sold.get_json()["total_fen"] == 6800


# ---------------------------------------------------------------- the manager's pages: counters


@pytest.mark.parametrize("username", ["clerk", "officer", "county"])
def test_only_the_manager_may_open_the_places_pages(staff, as_role, username):
    user = as_role(username)
    assert user.client.get("/admin/places/").status_code == 403
    assert send(user, "/admin/places/counters/new", code="X", name="x").status_code == 403
    assert "X" not in counters_of(staff)


def test_the_places_link_is_in_the_managers_navigation_only(staff, as_role):
    assert 'href="/admin/places/"' in as_role("admin").client.get("/admin/").get_data(as_text=True)
    assert 'href="/admin/places/"' not in as_role("clerk").client.get("/admin/").get_data(as_text=True)


def test_the_overview_lists_counters_and_towns_with_their_villages(staff, admin):
    page = admin.client.get("/admin/places/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-counter="LC-JN"' in html and 'data-counter="BL-01"' in html
    assert 'data-town="临城镇"' in html and 'data-town="和舍镇"' in html
    town = html.split('data-town="临城镇"')[1].split("</tr>")[0]
    assert '<td class="num">1</td>' in town


def test_the_manager_adds_a_counter(staff, admin):
    assert admin.client.get("/admin/places/counters/new").status_code == 200
    response = send(admin, "/admin/places/counters/new", code=" dw-01 ", name="东英镇专柜", address="东英镇墟")
    assert response.status_code == 302
    assert counters_of(staff)["DW-01"] == ("东英镇专柜", "东英镇墟", True)
    assert 'data-counter="DW-01"' in admin.client.get("/admin/places/").get_data(as_text=True)
    assert audited(staff, "counter")[-1][:2] == ("insert", "admin")


@pytest.mark.parametrize(
    "fields, status, field",
    [
        ({"code": "LC-JN", "name": "又一个专柜"}, 409, "code"),
        ({"code": "bl-01", "name": "又一个专柜"}, 409, "code"),
        ({"code": "NEW", "name": "波莲镇专柜"}, 409, "name"),
        ({"code": "NEW", "name": ""}, 422, "name"),
        ({"code": "NEW", "name": "   "}, 422, "name"),
        ({"code": "NEW", "name": "专" * 500}, 422, "name"),
        ({"code": "NEW", "name": NUL}, 422, "name"),
        ({"code": "NEW", "name": "x", "address": "地" * 500}, 422, "address"),
        ({"code": "", "name": "x"}, 422, "code"),
        ({"code": "A B", "name": "x"}, 422, "code"),
        ({"code": "X" * 500, "name": "x"}, 422, "code"),
        ({"code": "N\x00", "name": "x"}, 422, "code"),
    ],
)
def test_a_clumsy_new_counter_is_refused_and_nothing_is_added(staff, admin, fields, status, field):
    before = counters_of(staff)
    response = send(admin, "/admin/places/counters/new", **{"address": "", **fields})
    assert response.status_code == status
    html = response.get_data(as_text=True)
    assert 'class="field-error"' in html or "flash-error" in html
    assert counters_of(staff) == before


def test_the_manager_renames_a_counter_and_changes_its_address(staff, admin):
    url = f"/admin/places/counters/{counter_id(staff, 'BL-01')}"
    assert "波莲镇专柜" in admin.client.get(url).get_data(as_text=True)
    assert send(admin, url, name="波莲镇墟专柜", address="波莲镇中心街").status_code == 302
    assert counters_of(staff)["BL-01"] == ("波莲镇墟专柜", "波莲镇中心街", True)
    action, who, after = audited(staff, "counter")[-1]
    assert (action, who, after) == ("update", "admin", {"name": "波莲镇墟专柜", "address": "波莲镇中心街"})


@pytest.mark.parametrize(
    "fields, status",
    [
        ({"name": "临城江南市场对面专柜"}, 409),
        ({"name": ""}, 422),
        ({"name": LONG}, 422),
        ({"name": NUL}, 422),
        ({"name": "x", "address": "a\x1bb"}, 422),
    ],
)
def test_a_clumsy_rename_is_refused(staff, admin, fields, status):
    before = counters_of(staff)
    response = send(admin, f"/admin/places/counters/{counter_id(staff, 'BL-01')}", **{"address": "", **fields})
    assert response.status_code == status
    assert counters_of(staff) == before


def test_an_unknown_counter_is_a_404(staff, admin):
    assert admin.client.get("/admin/places/counters/99999").status_code == 404
    assert send(admin, "/admin/places/counters/99999/open", active="0").status_code == 404


def test_closing_a_counter_keeps_its_lots_but_stops_receiving_there(staff, goods, admin, as_role):
    bl = counter_id(staff, "BL-01")
    best_before = (business_today() + timedelta(days=90)).isoformat()
    lot = {"product_id": goods["shrimp"], "household_id": goods["wang"], "quantity": 1000, "counter_id": bl}
    lot.update(best_before=best_before, mode="consignment")
    assert admin.post("/api/lots", json=lot).status_code == 201
    assert send(admin, f"/admin/places/counters/{bl}/open", active="0").status_code == 302
    assert counters_of(staff)["BL-01"][2] is False
    html = admin.client.get("/admin/places/").get_data(as_text=True)
    assert 'data-counter="BL-01" class="inactive"' in html
    # Its lot stays, but nothing more is received there and the receiving page no longer offers it.
    with staff.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Lot.counter_id == bl)) == 1
    assert admin.post("/api/lots", json=lot).status_code == 422
    assert "波莲镇专柜" not in admin.client.get("/admin/stock/receive").get_data(as_text=True)
    # Its clerk works at the first open counter meanwhile.
    assert as_role("clerk2").get("/api/counter/products").status_code == 200
    assert send(admin, f"/admin/places/counters/{bl}/open", active="1").status_code == 302
    assert counters_of(staff)["BL-01"][2] is True
    assert admin.post("/api/lots", json=lot).status_code == 201
    assert [after for action, _, after in audited(staff, "counter") if action == "update"] == [
        {"active": False},
        {"active": True},
    ]


def test_the_last_open_counter_cannot_be_closed(staff, admin):
    assert send(admin, f"/admin/places/counters/{counter_id(staff, 'BL-01')}/open", active="0").status_code == 302
    response = send(admin, f"/admin/places/counters/{counter_id(staff, 'LC-JN')}/open", active="0")
    assert response.status_code == 409
    assert "open another" in response.get_data(as_text=True) or "再关闭" in response.get_data(as_text=True)
    assert counters_of(staff)["LC-JN"][2] is True


@pytest.mark.parametrize("active", ["", "2", "yes", NUL, LONG])
def test_open_or_close_takes_only_0_or_1(staff, admin, active):
    before = counters_of(staff)
    assert send(admin, f"/admin/places/counters/{counter_id(staff, 'BL-01')}/open", active=active).status_code == 422
    assert counters_of(staff) == before


# ---------------------------------------------------------------- the manager's pages: towns and villages


def test_the_manager_adds_a_town_with_its_english_name_and_a_village(staff, admin):
    assert admin.client.get("/admin/places/towns/new").status_code == 200
    response = send(admin, "/admin/places/towns/new", name_zh=" 东英镇 ", name_en="Dongying")
    assert response.status_code == 302
    dongying = town_id(staff, "东英镇")
    assert response.headers["Location"].endswith(f"/admin/places/towns/{dongying}")
    assert send(admin, f"/admin/places/towns/{dongying}/villages", name_zh="抱利村", name_en="Baoli").status_code == 302
    assert places_of(staff)["东英镇"] == {"抱利村"}
    page = admin.client.get(f"/admin/places/towns/{dongying}").get_data(as_text=True)
    assert 'data-village="抱利村"' in page and "Baoli" in page
    assert audited(staff, "town")[-1][:2] == ("insert", "admin")
    assert audited(staff, "village")[-1][2]["name_zh"] == "抱利村"
    # The English pages show the English name the manager gave.
    admin.client.get("/lang/en")
    assert "Dongying" in admin.client.get("/admin/places/").get_data(as_text=True)


@pytest.mark.parametrize(
    "fields, status",
    [
        ({"name_zh": "临城镇"}, 409),
        ({"name_zh": "新镇", "name_en": "lincheng"}, 409),
        ({"name_zh": ""}, 422),
        ({"name_zh": "  "}, 422),
        ({"name_zh": LONG}, 422),
        ({"name_zh": NUL}, 422),
        ({"name_zh": "新镇", "name_en": "E" * 500}, 422),
        ({"name_zh": "新镇", "name_en": "a\x00b"}, 422),
        ({"name_zh": "新\u202e镇"}, 422),
    ],
)
def test_a_clumsy_new_town_is_refused(staff, admin, fields, status):
    before = places_of(staff)
    response = send(admin, "/admin/places/towns/new", **{"name_en": "", **fields})
    assert response.status_code == status
    assert places_of(staff) == before


@pytest.mark.parametrize(
    "fields, status",
    [
        ({"name_zh": "大波村"}, 409),
        ({"name_zh": ""}, 422),
        ({"name_zh": "村" * 61}, 422),
        ({"name_zh": LONG}, 422),
        ({"name_zh": NUL}, 422),
        ({"name_zh": "新村", "name_en": "x\x7f"}, 422),
    ],
)
def test_a_clumsy_new_village_is_refused(staff, admin, fields, status):
    before = places_of(staff)
    response = send(admin, f"/admin/places/towns/{town_id(staff, '临城镇')}/villages", **{"name_en": "", **fields})
    assert response.status_code == status
    assert places_of(staff) == before


def test_a_village_name_may_repeat_in_another_town(staff, admin):
    assert send(admin, f"/admin/places/towns/{town_id(staff, '和舍镇')}/villages", name_zh="大波村").status_code == 302
    assert places_of(staff)["和舍镇"] == {"丛潭村", "大波村"}


def test_an_unknown_town_is_a_404(staff, admin):
    assert admin.client.get("/admin/places/towns/99999").status_code == 404
    assert send(admin, "/admin/places/towns/99999/villages", name_zh="新村").status_code == 404


def test_the_audit_page_names_the_new_records(staff, admin):
    send(admin, "/admin/places/towns/new", name_zh="东英镇", name_en="Dongying")
    admin.client.get("/lang/en")
    html = admin.client.get("/admin/audit/?entity=town").get_data(as_text=True)
    assert "Town" in html and "东英镇" in html
    for entity in ("counter", "village"):
        assert admin.client.get(f"/admin/audit/?entity={entity}").status_code == 200


def test_the_pages_are_in_chinese_by_default(staff, admin):
    html = admin.client.get("/admin/places/").get_data(as_text=True)
    assert "专柜" in html and "Counters and towns" not in html
