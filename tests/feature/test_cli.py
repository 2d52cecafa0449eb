"""The command line: db upgrade, seed-demo and create-user."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import sqlalchemy as sa

from shop import create_app
from shop.extensions import db
from shop.models import (
    Counter,
    DeclaredIncome,
    Household,
    HouseholdCategory,
    HouseholdStatus,
    Lot,
    Measure,
    MeasureDone,
    Product,
    Role,
    Sale,
    StockMovement,
    Town,
    User,
    Village,
    Visit,
)
from tests.conftest import PASSWORD, base_config
from tests.probes import movements_explain_stock

MODELS = (Counter, Town, Village, User, Household, HouseholdStatus, Product, Lot, Sale, StockMovement)
MODELS += (Measure, MeasureDone, Visit, DeclaredIncome)


def counts(app) -> dict[str, int]:
    with app.app_context():
        return {m.__tablename__: db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in MODELS}


def test_db_upgrade_builds_the_schema_on_an_empty_database(tmp_path):
    app = create_app(base_config(f"sqlite:///{tmp_path / 'fresh.sqlite3'}"))
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
        db.engine.dispose()
    assert {m.__tablename__ for m in MODELS} <= tables


def test_seed_demo_fills_an_empty_installation(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "bangfu-demo" in result.output
    seeded = counts(app)
    assert seeded["town"] == 10 and seeded["counter"] == 1
    assert 35 <= seeded["household"] <= 45
    assert 8 <= seeded["product"] <= 12
    with app.app_context():
        assert db.session.scalar(sa.select(Counter.name)) == "临城江南市场对面专柜"
        towns = set(db.session.scalars(sa.select(Town.name_zh)))
        assert towns == set("临城镇 波莲镇 东英镇 博厚镇 皇桐镇 多文镇 和舍镇 南宝镇 新盈镇 调楼镇".split())
        villages = set(db.session.scalars(sa.select(Village.name_zh)))
        assert {"大波村", "丛潭村", "茶胡村", "先光村", "抱堂村"} <= villages
        categories = set(db.session.scalars(sa.select(Household.category)))
        assert categories == set(HouseholdCategory)
        assert db.session.scalar(sa.select(sa.func.count()).where(Household.officer_id.is_(None))) == 0
        roles = set(db.session.scalars(sa.select(User.role)))
        assert roles == set(Role)
        suppliers_per_product = db.session.execute(
            sa.select(Lot.product_id, sa.func.count(sa.distinct(Lot.household_id))).group_by(Lot.product_id)
        ).all()
        assert all(n >= 2 for _, n in suppliers_per_product)
        assert len(suppliers_per_product) >= 8
    # An officer's work ledger to look at: a plan with a corrected measure, a visit typed in late, income.
    assert (seeded["measure"], seeded["measure_done"], seeded["visit"], seeded["declared_income"]) == (4, 1, 2, 3)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Visit.late)) == 1
    # The demo till has rung up a morning's sales, and every gram on the shelf is explained.
    assert seeded["sale"] >= 3
    assert movements_explain_stock(app)


def test_seed_demo_twice_adds_nothing_the_second_time(app):
    runner = app.test_cli_runner()
    runner.invoke(args=["seed-demo"])
    first = counts(app)
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0
    assert "nothing new" in result.output
    assert counts(app) == first


def test_the_demo_accounts_can_sign_in(app, client):
    from tests.conftest import Api

    app.test_cli_runner().invoke(args=["seed-demo"])
    api = Api(client)
    assert api.login("officer1", "bangfu-demo").get_json()["user"] == {"username": "officer1", "role": "officer"}


def test_create_user_asks_for_the_password_twice(world):
    result = world.test_cli_runner().invoke(
        args=["create-user", "lin", "--role", "clerk"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    with world.app_context():
        user = db.session.scalar(sa.select(User).where(User.username == "lin"))
        assert user.role is Role.CLERK
        assert PASSWORD not in user.password_hash


def test_an_officer_takes_over_the_households_named(goods, app):
    result = app.test_cli_runner().invoke(
        args=["create-user", "newofficer", "--role", "officer", "--households", "DB001, CT001"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        officers = set(db.session.scalars(sa.select(User.username).join(Household, Household.officer_id == User.id)))
    assert officers == {"newofficer"}


def test_a_supervisor_is_limited_to_the_town_given(world):
    world.test_cli_runner().invoke(
        args=["create-user", "boss", "--role", "supervisor", "--town", "和舍镇"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    with world.app_context():
        assert db.session.scalar(sa.select(User).where(User.username == "boss")).town.name_zh == "和舍镇"


@pytest.mark.parametrize(
    ("args", "typed", "complaint"),
    [
        (["lin", "--role", "clerk"], f"{PASSWORD}\nsomething else\n", "do not match"),
        (["lin", "--role", "clerk"], "short\nshort\n", "至少需要 10 个字符"),
        (["lin", "--role", "boss"], f"{PASSWORD}\n{PASSWORD}\n", "Invalid value"),
        (["lin", "--role", "supervisor", "--town", "海口市"], f"{PASSWORD}\n{PASSWORD}\n", "不是本县的镇"),
        (["lin", "--role", "clerk", "--town", "和舍镇"], f"{PASSWORD}\n{PASSWORD}\n", "只有督导和督查人员"),
        (["lin", "--role", "officer", "--households", "NOPE1"], f"{PASSWORD}\n{PASSWORD}\n", "NOPE1"),
        (["Lin Hai", "--role", "clerk"], f"{PASSWORD}\n{PASSWORD}\n", "小写字母"),
        (["lin", "--role", "clerk", "--counter", "NOPE"], f"{PASSWORD}\n{PASSWORD}\n", "NOPE"),
    ],
)
def test_create_user_refuses_what_it_cannot_do_and_creates_nothing(world, args, typed, complaint):
    result = world.test_cli_runner().invoke(args=["create-user", *args], input=typed)
    assert result.exit_code != 0
    assert complaint in result.output
    with world.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id))) == 0


def test_create_user_refuses_a_taken_username(staff):
    result = staff.test_cli_runner().invoke(
        args=["create-user", "ADMIN", "--role", "clerk"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code != 0
    assert "已被使用" in result.output


def test_the_real_command_reads_the_password_twice_from_a_pipe(world, database_url):
    repo = Path(__file__).resolve().parents[2]
    flask = Path(sys.executable).with_name("flask")
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "test"}
    done = subprocess.run(
        [str(flask), "--app", "shop", "create-user", "piped", "--role", "officer"],
        input=f"{PASSWORD}\n{PASSWORD}\n",
        capture_output=True,
        text=True,
        cwd=repo,
        env=env,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    with world.app_context():
        assert db.session.scalar(sa.select(User.role).where(User.username == "piped")) is Role.OFFICER
