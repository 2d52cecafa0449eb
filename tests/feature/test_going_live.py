"""The README's "Going live", followed on an empty database: no demo data, only commands, pages and the API.

It ends as the county needs it to: a sale whose credit carries the household's new monitoring
status after a recorded status change, while the credit written before the change keeps the old one.
"""

import csv
from datetime import timedelta

from shop.clock import business_today
from tests.conftest import PASSWORD, Api

STAFF = "用户名,姓名,角色,乡镇,专柜,帮扶户\nshou,陈美玲,售货员,,LC-JN,\nlin.hy,林海燕,帮扶责任人,,,\n"
ROSTER = (
    "户编号,户主姓名,乡镇,村,家庭人口,户类别,监测类型,帮扶责任人,联系电话\n"
    "DB001,王亦明,临城镇,大波村,4,监测户,边缘易致贫户,lin.hy,13812345678\n"
    "CT001,符海成,和舍镇,丛潭村,2,脱贫户,,lin.hy,\n"
)
NEW_PASSWORD = "salt fish at dawn 7"


def flask(app, *args, input=None):
    """Run `flask --app shop ARGS…` and insist that it succeeds."""
    result = app.test_cli_runner().invoke(args=list(args), input=input)
    assert result.exit_code == 0, result.output
    return result.output


def first_sign_in(app, username: str, one_time: str) -> Api:
    """Sign in with a one-time password and choose one's own, as the password page asks."""
    user = Api(app.test_client())
    assert user.login(username, one_time).status_code == 200
    assert user.get("/api/households").status_code == 403  # nothing else works before the change
    form = {"csrf_token": user.token, "current": one_time, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    assert user.client.post("/account/password", data=form).status_code == 302
    return user


def credits_of(manager: Api, household_id: int) -> list[dict]:
    entries = manager.get(f"/api/households/{household_id}/ledger").get_json()["entries"]
    return [e for e in entries if e["kind"] == "credit"]


def test_a_blank_server_reaches_a_sale_that_carries_a_recorded_status_change(app, tmp_path):
    # Places, a counter and the first manager.
    flask(app, "places", "import", "--lingao")
    flask(app, "counters", "add", "LC-JN", "--name", "临城江南市场对面专柜", "--address", "临城镇江南市场正对面")
    flask(app, "create-user", "manager", "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n")

    # Staff in bulk, then the roster that names the officers.
    (tmp_path / "staff.csv").write_text(STAFF, encoding="utf-8")
    passwords = tmp_path / "passwords.csv"
    output = flask(app, "users", "import", str(tmp_path / "staff.csv"), "--passwords", str(passwords))
    with passwords.open(encoding="utf-8-sig") as f:
        one_time = {row["username"]: row["one_time_password"] for row in csv.DictReader(f)}
    assert set(one_time) == {"shou", "lin.hy"} and not any(p in output for p in one_time.values())
    (tmp_path / "roster.csv").write_text(ROSTER, encoding="gb18030")
    assert "Would add 2," in flask(app, "households", "import", str(tmp_path / "roster.csv"), "--dry-run")
    flask(app, "households", "import", str(tmp_path / "roster.csv"))

    # Products and the first lot: the manager adds the product, the clerk receives the household's shrimp.
    manager, clerk = Api(app.test_client()), first_sign_in(app, "shou", one_time["shou"])
    assert manager.login("manager").status_code == 200
    shrimp = {"sku": "LG-XG", "name": "虾干", "unit": "g", "price_fen": 6800, "price_per": 500}
    product_id = manager.post("/api/products", json=shrimp).get_json()["id"]
    wang = next(h for h in manager.get("/api/households").get_json() if h["code"] == "DB001")
    assert wang["monitoring_status"] == "identified" and wang["officer"] == "lin.hy"
    lot = {"product_id": product_id, "household_id": wang["id"], "quantity": 3000, "mode": "consignment"}
    lot["best_before"] = (business_today() + timedelta(days=180)).isoformat()
    assert clerk.post("/api/lots", json=lot).status_code == 201

    def sell(key: str) -> None:
        body = {
            "idempotency_key": key,
            "payment_method": "cash",
            "lines": [{"product_id": product_id, "quantity": 500}],
        }
        assert clerk.post("/api/counter/sales", json=body).status_code == 201

    sell("going-live-0001")
    # The county decides the household's risk is eliminated; the manager records it.
    change = {"category": "jiance", "monitoring_status": "risk_eliminated", "reason": "县级审定：收入稳定六个月"}
    recorded = manager.post(
        f"/api/households/{wang['id']}/status", json={**change, "effective_on": str(business_today())}
    )
    assert recorded.status_code == 201, recorded.get_json()
    sell("going-live-0002")

    before, after = credits_of(manager, wang["id"])
    assert (before["monitoring_status"], after["monitoring_status"]) == ("identified", "risk_eliminated")
    history = manager.get(f"/api/households/{wang['id']}").get_json()["status_history"]
    assert [h["monitoring_status"] for h in history] == ["identified", "risk_eliminated"]
    assert history[-1]["recorded_by"] == "manager"
    # The officer sees their household, and the ledger is whole.
    officer = first_sign_in(app, "lin.hy", one_time["lin.hy"])
    assert {h["code"] for h in officer.get("/api/households").get_json()} == {"DB001", "CT001"}
    assert "Ledger intact: 2 entries" in flask(app, "ledger", "verify")
