"""``/healthz``: what a load balancer or a supervisor asks each web process (see the README's
"Deploying on several hosts")."""
from __future__ import annotations

from inspect_app.db import make_engine


def test_health_answers_without_login_or_session_while_the_database_answers(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}
    assert "Set-Cookie" not in response.headers  # a probe every few seconds opens no session


def test_health_is_503_when_the_database_cannot_be_reached(app, client, tmp_path):
    working = app.extensions["db_engine"]
    # a database file in a folder that does not exist: SQLite cannot open it, as a server down
    app.extensions["db_engine"] = make_engine(f"sqlite:///{tmp_path / 'gone' / 'inspect.db'}")
    try:
        response = client.get("/healthz")
    finally:
        app.extensions["db_engine"].dispose()
        app.extensions["db_engine"] = working
    assert response.status_code == 503 and response.get_json() == {"status": "database unreachable"}
    assert client.get("/healthz").status_code == 200
