"""Staff administration by the counter manager: the list, adding, editing, (de)activating and resetting accounts."""

import json
import re

import pytest
import sqlalchemy as sa

from shop.extensions import db
from shop.models import AuditEvent, Household, Role, User
from shop.staff import accounts
from tests.conftest import PASSWORD, Api

#: A password zxcvbn rates unguessable, for new accounts and resets.
GOOD = "teal kettle drifts north"


def send(user: Api, url: str, **fields):
    """Post a page's form as the browser would, with the session's CSRF token."""
    return user.client.post(url, data={"csrf_token": user.token or user.refresh_token(), **fields})


def account(app, username: str) -> dict | None:
    """The stored account as plain values, or None."""
    with app.app_context():
        user = db.session.scalars(sa.select(User).where(User.username == username)).first()
        if user is None:
            return None
        return {
            "id": user.id,
            "role": user.role.value,
            "display_name": user.display_name,
            "town": user.town.name_zh if user.town else None,
            "counter": user.counter.code if user.counter else None,
            "active": user.active,
            "must_change_password": user.must_change_password,
            "password_hash": user.password_hash,
            "password_changed_at": user.password_changed_at,
        }


def officer_of(app, code: str) -> str | None:
    with app.app_context():
        household = db.session.scalars(sa.select(Household).where(Household.code == code)).one()
        return household.officer.username if household.officer else None


def user_count(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(User))


def new_account(**fields) -> dict:
    return {"display_name": "", "role": "clerk", "town": "", "counter": "", "households": "", **fields}


def details_of(app, who: str, **changes) -> dict:
    """The edit form's fields as the page fills them in, with some changed."""
    stored = account(app, who)
    with app.app_context():
        user = db.session.get(User, stored["id"])
        codes = "\n".join(accounts.household_codes_of(user))
    return {
        "display_name": stored["display_name"],
        "role": stored["role"],
        "town": stored["town"] or "",
        "counter": stored["counter"] or "",
        "households": codes,
        **changes,
    }


# ---------------------------------------------------------------- who may


@pytest.mark.parametrize("username", ["clerk", "officer", "heshe", "county"])
def test_only_the_manager_may_open_the_staff_pages(staff, as_role, username):
    user = as_role(username)
    clerk_id = account(staff, "clerk")["id"]
    assert user.client.get("/admin/users/").status_code == 403
    assert user.client.get("/admin/users/new").status_code == 403
    assert send(user, "/admin/users/new", **new_account(username="mole", password=GOOD)).status_code == 403
    assert send(user, f"/admin/users/{clerk_id}/active", active="0").status_code == 403
    assert send(user, f"/admin/users/{clerk_id}/password", password=GOOD).status_code == 403
    assert account(staff, "mole") is None
    assert account(staff, "clerk")["active"]


def test_strangers_are_sent_to_sign_in(staff, client):
    response = client.get("/admin/users/")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login")


# ---------------------------------------------------------------- the list


def test_the_list_shows_each_accounts_role_scope_and_state(goods, as_role, app):
    admin = as_role("admin")
    admin.client.get("/lang/en")
    html = admin.client.get("/admin/users/").get_data(as_text=True)
    rows = re.findall(r'<tr data-user="([^"]+)"', html)
    assert set(rows) >= {"admin", "clerk", "clerk2", "officer", "officer2", "heshe", "county"}

    def row(name):
        return re.search(rf'<tr data-user="{name}".*?</tr>', html, re.S).group(0)

    assert "Heshe" in row("heshe") and "Whole county" in row("county")
    assert "1 households" in row("officer") and "#officer-households" in row("officer")
    assert "波莲镇专柜" in row("clerk2")
    assert 'data-active="1"' in row("clerk")


# ---------------------------------------------------------------- adding


def test_the_manager_adds_a_town_supervisor_who_must_choose_a_password(staff, as_role):
    admin = as_role("admin")
    response = send(
        admin,
        "/admin/users/new",
        **new_account(username="Lin", display_name="林队长", role="supervisor", town="和舍镇", password=GOOD),
    )
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    lin = account(staff, "lin")
    assert lin["role"] == "supervisor" and lin["town"] == "和舍镇" and lin["display_name"] == "林队长"
    assert lin["must_change_password"] and lin["active"] and lin["password_changed_at"] is not None
    assert GOOD not in lin["password_hash"]


def test_a_new_officer_takes_over_the_households_named(goods, as_role, app):
    admin = as_role("admin")
    response = send(
        admin,
        "/admin/users/new",
        **new_account(username="wu", role="officer", households="DB001, CT001", password=GOOD),
    )
    assert response.status_code == 302
    assert officer_of(app, "DB001") == "wu" and officer_of(app, "CT001") == "wu"


def test_a_new_clerk_works_at_the_counter_chosen(staff, as_role):
    response = send(
        as_role("admin"), "/admin/users/new", **new_account(username="zhou", counter="BL-01", password=GOOD)
    )
    assert response.status_code == 302
    assert account(staff, "zhou")["counter"] == "BL-01"


@pytest.mark.parametrize(
    ("fields", "field_text"),
    [
        ({"role": "clerk", "town": "和舍镇"}, "Only supervisors and inspectors"),
        ({"role": "supervisor", "households": "DB001"}, "Only officers"),
        ({"role": "officer", "counter": "BL-01"}, "Only clerks"),
        ({"role": "officer", "households": "NOPE99"}, "NOPE99"),
        ({"role": "supervisor", "town": "Atlantis"}, ""),
        ({"role": "superuser"}, ""),
        ({"role": ""}, ""),
    ],
)
def test_a_role_takes_only_its_own_kind_of_scope(goods, as_role, app, fields, field_text):
    before = user_count(app)
    admin = as_role("admin")
    admin.client.get("/lang/en")
    response = send(admin, "/admin/users/new", **new_account(username="scope", password=GOOD, **fields))
    assert response.status_code == 422
    assert field_text in response.get_data(as_text=True)
    assert user_count(app) == before
    assert officer_of(app, "DB001") == "officer"


@pytest.mark.parametrize(
    "password", ["password123!", "1234567890", "qwertyuiop", "newbie123456", "Newbie-Tea-42", "short"]
)
def test_weak_common_and_username_passwords_are_refused_for_new_accounts(staff, as_role, password):
    response = send(as_role("admin"), "/admin/users/new", **new_account(username="newbie", password=password))
    assert response.status_code == 422
    assert account(staff, "newbie") is None


def test_a_taken_username_is_a_conflict(staff, as_role):
    response = send(as_role("admin"), "/admin/users/new", **new_account(username="CLERK", password=GOOD))
    assert response.status_code == 409
    assert account(staff, "clerk")["role"] == "clerk"


# ---------------------------------------------------------------- editing


def test_an_officers_households_are_reassigned_by_code(goods, as_role, app):
    admin = as_role("admin")
    officer2 = account(app, "officer2")["id"]
    response = send(admin, f"/admin/users/{officer2}", **details_of(app, "officer2", households="DB001\nCT001"))
    assert response.status_code == 302
    assert officer_of(app, "DB001") == "officer2" and officer_of(app, "CT001") == "officer2"
    response = send(admin, f"/admin/users/{officer2}", **details_of(app, "officer2", households="CT001"))
    assert response.status_code == 302
    assert officer_of(app, "DB001") is None and officer_of(app, "CT001") == "officer2"


def test_the_edit_page_shows_the_officers_household_codes(goods, as_role, app):
    html = as_role("admin").client.get(f"/admin/users/{account(app, 'officer')['id']}").get_data(as_text=True)
    assert "DB001" in html and "CT001" not in html


def test_a_supervisor_moved_to_the_till_loses_the_town(staff, as_role):
    admin = as_role("admin")
    heshe = account(staff, "heshe")["id"]
    refused = send(admin, f"/admin/users/{heshe}", **details_of(staff, "heshe", role="clerk"))
    assert refused.status_code == 422
    assert account(staff, "heshe")["role"] == "supervisor"
    moved = send(admin, f"/admin/users/{heshe}", **details_of(staff, "heshe", role="clerk", town="", counter="BL-01"))
    assert moved.status_code == 302
    after = account(staff, "heshe")
    assert (after["role"], after["town"], after["counter"]) == ("clerk", None, "BL-01")


def test_an_officer_whose_households_are_released_may_change_role(goods, as_role, app):
    admin = as_role("admin")
    officer = account(app, "officer")["id"]
    refused = send(admin, f"/admin/users/{officer}", **details_of(app, "officer", role="clerk"))
    assert refused.status_code == 422
    assert account(app, "officer")["role"] == "officer"
    moved = send(admin, f"/admin/users/{officer}", **details_of(app, "officer", role="clerk", households=""))
    assert moved.status_code == 302
    assert account(app, "officer")["role"] == "clerk" and officer_of(app, "DB001") is None


def test_changes_to_accounts_are_in_the_audit_trail_without_the_password(staff, as_role, app):
    send(as_role("admin"), "/admin/users/new", **new_account(username="trail", password=GOOD))
    with app.app_context():
        event = db.session.scalars(
            sa.select(AuditEvent)
            .where(AuditEvent.entity == "app_user", AuditEvent.action == "insert")
            .order_by(AuditEvent.id.desc())
        ).first()
        after = json.loads(event.after)
    assert after["username"] == "trail" and after["password_hash"] == "***"


# ---------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    "fields",
    [
        {"display_name": "x" * 10_000},
        {"display_name": "bad\x00name"},
        {"display_name": "two\nlines"},
        {"role": "root"},
        {"town": "<script>"},
        {"counter": "NOPE"},
        {"households": "DB001\x00"},
        {"households": "DB001," * 2000},
    ],
)
def test_hostile_edits_are_refused_and_change_nothing(goods, as_role, app, fields):
    admin = as_role("admin")
    clerk = account(app, "clerk")
    response = send(admin, f"/admin/users/{clerk['id']}", **details_of(app, "clerk", **fields))
    assert 400 <= response.status_code < 500
    assert account(app, "clerk") == clerk
    assert officer_of(app, "DB001") == "officer"


def test_fields_the_form_does_not_have_are_ignored(staff, as_role):
    admin = as_role("admin")
    clerk = account(staff, "clerk")
    response = send(
        admin,
        f"/admin/users/{clerk['id']}",
        **details_of(staff, "clerk", username="root", active="0", must_change_password="1", password_hash="x", id="1"),
    )
    assert response.status_code == 302
    assert account(staff, "clerk") == clerk
    assert account(staff, "root") is None


@pytest.mark.parametrize(
    "fields",
    [
        {"username": "a" * 5000},
        {"username": "bad\x01name"},
        {"username": "中文名"},
        {"username": "ok", "password": "p" * 5000},
        {"username": "ok", "password": "teal kettle\x00drifts north"},
        {"username": "ok", "role": "admin'; drop table app_user; --"},
    ],
)
def test_hostile_new_accounts_are_refused(staff, as_role, fields):
    before = user_count(staff)
    response = send(as_role("admin"), "/admin/users/new", **new_account(**{"password": GOOD, **fields}))
    assert 400 <= response.status_code < 500
    assert user_count(staff) == before


@pytest.mark.parametrize("url", ["/admin/users/999999", "/admin/users/99999999999999", "/admin/users/0"])
def test_an_unknown_account_is_not_found(staff, as_role, url):
    assert as_role("admin").client.get(url).status_code == 404


def test_a_bad_active_value_is_refused(staff, as_role):
    clerk = account(staff, "clerk")
    response = send(as_role("admin"), f"/admin/users/{clerk['id']}/active", active="maybe")
    assert response.status_code == 422
    assert account(staff, "clerk")["active"]


# ---------------------------------------------------------------- deactivating


def test_a_deactivated_clerks_open_session_stops_at_the_next_request(staff, as_role):
    clerk = as_role("clerk")
    assert clerk.client.get("/admin/").status_code == 200
    admin = as_role("admin")
    response = send(admin, f"/admin/users/{account(staff, 'clerk')['id']}/active", active="0")
    assert response.status_code == 302
    assert not account(staff, "clerk")["active"]
    assert clerk.get("/api/session").get_json()["user"] is None
    assert clerk.client.get("/admin/").status_code == 302
    assert Api(staff.test_client()).login("clerk").status_code == 401


def test_a_reactivated_account_can_sign_in_again(staff, as_role):
    admin = as_role("admin")
    clerk_id = account(staff, "clerk")["id"]
    send(admin, f"/admin/users/{clerk_id}/active", active="0")
    assert send(admin, f"/admin/users/{clerk_id}/active", active="1").status_code == 302
    assert Api(staff.test_client()).login("clerk").status_code == 200


def test_the_manager_cannot_deactivate_or_demote_themselves(staff, as_role):
    admin = as_role("admin")
    me = account(staff, "admin")
    assert send(admin, f"/admin/users/{me['id']}/active", active="0").status_code == 409
    demoted = send(admin, f"/admin/users/{me['id']}", **details_of(staff, "admin", role="clerk"))
    assert demoted.status_code == 409
    assert account(staff, "admin") == me


def test_another_manager_may_be_deactivated_but_never_the_last(staff, as_role):
    with staff.app_context():
        accounts.create_user("admin2", PASSWORD, Role.ADMIN)
    admin = as_role("admin")
    second = account(staff, "admin2")["id"]
    assert send(admin, f"/admin/users/{second}/active", active="0").status_code == 302
    with staff.app_context():
        # admin2's request raced the deactivation: its user object still says active and admin.
        stale = User(id=second, username="admin2", role=Role.ADMIN, active=True, password_hash="")
        with pytest.raises(accounts.LastAdmin):
            accounts.set_active(account(staff, "admin")["id"], False, stale)
    assert account(staff, "admin")["active"]


# ---------------------------------------------------------------- resetting


def test_a_reset_ends_the_holders_sessions_and_forces_a_new_password(staff, as_role, app):
    clerk = as_role("clerk")
    before = account(app, "clerk")
    response = send(as_role("admin"), f"/admin/users/{before['id']}/password", password=GOOD)
    assert response.status_code == 302
    after = account(app, "clerk")
    assert after["must_change_password"] and after["password_hash"] != before["password_hash"]
    assert clerk.get("/api/session").get_json()["user"] is None
    fresh = Api(app.test_client())
    assert fresh.login("clerk", PASSWORD).status_code == 401
    assert fresh.login("clerk", GOOD).status_code == 200
    assert fresh.get("/api/households").get_json()["error"]["code"] == "password_change_required"


def test_a_weak_temporary_password_is_refused(staff, as_role):
    before = account(staff, "clerk")
    response = send(as_role("admin"), f"/admin/users/{before['id']}/password", password="clerk2024!!")
    assert response.status_code == 422
    assert account(staff, "clerk") == before
