"""Login, sessions, throttling, CSRF."""
from __future__ import annotations

from sqlmodel import select

from inspect_app.auth.models import LoginAttempt, Role, User
from tests.conftest import PASSWORD


def test_login_success_renews_session_and_records_last_login(client, people, db):
    before = client.get("/login")
    old_cookie = client.get_cookie("inspect_session").value
    response = client.login("inspector")
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/home")
    assert client.get_cookie("inspect_session").value != old_cookie
    assert before.status_code == 200
    db.expire_all()
    user = db.exec(select(User).where(User.username == "inspector")).one()
    assert user.last_login_at is not None
    home = client.get("/home")
    assert home.status_code == 200
    assert "检查员" in home.get_data(as_text=True) or "inspector" in home.get_data(as_text=True)


def test_wrong_password_gives_clear_message(client, people, db):
    response = client.login("inspector", "wrong-password-9")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.get_data(as_text=True)
    assert client.get("/home").status_code == 302
    attempts = db.exec(select(LoginAttempt).where(LoginAttempt.username == "inspector")).all()
    assert [a.success for a in attempts] == [False]


def test_unknown_user_gives_the_same_message(client, people):
    response = client.login("nobody", "whatever-1")
    assert "用户名或密码错误" in response.get_data(as_text=True)


def test_login_throttled_after_repeated_failures(client, people, app):
    limit = app.config["LOGIN_MAX_FAILURES"]
    for _ in range(limit):
        assert client.login("manager", "bad-password-1").status_code == 200
    response = client.login("manager")  # even the right password is refused now
    assert response.status_code == 429
    assert "登录失败次数过多" in response.get_data(as_text=True)
    assert client.get("/home").status_code == 302
    # other accounts are not locked by it
    assert client.login("inspector").status_code == 302


def test_session_cookie_flags(client, people):
    response = client.login("inspector")
    cookie = [h for h in response.headers.getlist("Set-Cookie") if h.startswith("inspect_session=")][0]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # plain http in tests


def test_session_cookie_secure_over_https(app, people):
    from tests.conftest import Client

    c = Client(app.test_client())
    page = c.c.get("/login", base_url="https://localhost")
    cookie = [h for h in page.headers.getlist("Set-Cookie") if h.startswith("inspect_session=")][0]
    assert "Secure" in cookie


def test_deactivating_a_user_ends_their_sessions(client_as, people, db, client):
    victim = client_as(people["inspector"])
    assert victim.get("/home").status_code == 200
    admin = client_as(people["admin"])
    response = admin.post(f"/admin/users/{people['inspector'].id}/active", {"active": "0"})
    assert response.status_code == 302
    assert victim.get("/home").status_code == 302
    db.expire_all()
    assert db.get(User, people["inspector"].id).active is False
    assert client.login("inspector").status_code == 200  # cannot log in again either


def test_password_reset_ends_sessions(client_as, people, client):
    victim = client_as(people["manager"])
    assert victim.get("/home").status_code == 200
    admin = client_as(people["admin"])
    admin.post(f"/admin/users/{people['manager'].id}/password",
               {"pw-password": "New-pass-2026", "pw-confirm": "New-pass-2026"})
    assert victim.get("/home").status_code == 302
    assert client.login("manager", "New-pass-2026").status_code == 302


def test_own_password_change_keeps_this_session(client, people):
    client.login("reviewer")
    response = client.post("/account/password", {"current": PASSWORD, "password": "Another-1234",
                                                  "confirm": "Another-1234"})
    assert response.status_code == 302
    assert client.get("/home").status_code == 200


def test_weak_password_refused_with_message(client, people):
    client.login("reviewer")
    response = client.post("/account/password", {"current": PASSWORD, "password": "short", "confirm": "short"})
    assert "密码至少需要" in response.get_data(as_text=True)


def test_post_without_csrf_token_is_refused(client, people):
    response = client.post("/login", {"username": "inspector", "password": "test-pass-1"}, csrf=False)
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)


def test_logout_is_post_only(client, people):
    client.login("inspector")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 302
    assert client.get("/home").status_code == 302


def test_open_redirect_after_login_is_ignored(client, people):
    client.get("/login")
    response = client.post("/login?next=//evil.example/x", {"username": "inspector", "password": "test-pass-1"})
    assert response.headers["Location"].endswith("/home")


def test_login_redirects_back_to_requested_page(client, people):
    response = client.get("/outlets?q=西湖")
    assert "/login" in response.headers["Location"]
    client.get(response.headers["Location"])
    client._token = None
    login = client.post("/login?next=/outlets?q=x", {"username": "inspector", "password": "test-pass-1"})
    assert login.headers["Location"].endswith("/outlets?q=x")


def test_role_is_one_of_six(people):
    assert {u.role for u in people.values()} == set(Role)
