"""Who may open which page: every role against every page, including look-alikes out of scope."""
from __future__ import annotations

import re

import pytest

ROLES = ["admin", "manager", "other_manager", "director", "inspector", "shopper", "reviewer", "chief", "other_chief",
         "handler", "other_handler"]
ADMIN_ONLY = {"admin"}
REGION_ROLES = {"admin", "manager", "other_manager", "director", "inspector", "reviewer"}

# page (with {placeholders} filled from org_tree/people) → roles that get 200; the rest get 403.
PAGES = {
    "/home": set(ROLES),
    "/outlets": REGION_ROLES | {"chief", "other_chief", "handler", "other_handler"},
    "/staff": REGION_ROLES | {"chief", "other_chief", "handler", "other_handler"},
    "/account/password": set(ROLES),
    "/admin/units": ADMIN_ONLY,
    "/admin/users": ADMIN_ONLY,
    "/admin/users/new": ADMIN_ONLY,
    "/admin/users/{inspector_id}": ADMIN_ONLY,
    "/admin/users/import": ADMIN_ONLY,
    "/admin/outlets/new": ADMIN_ONLY,
    "/admin/outlets/{xihu1}/edit": ADMIN_ONLY,
    "/admin/outlets/import": ADMIN_ONLY,
    "/admin/audit": ADMIN_ONLY,
}

# object pages: out of scope answers 404, never 403, so a guessed id tells nothing.
SCOPED = {
    "/outlets/{xihu1}": {"admin", "manager", "director", "inspector", "reviewer", "chief", "handler"},
    "/outlets/{haishu1}": {"admin", "other_manager", "director", "reviewer", "other_handler"},
}

# POST-only admin actions: every non-admin is refused before anything happens.
ADMIN_POSTS = [
    "/admin/units",
    "/admin/units/{province}",
    "/admin/outlets/{xihu1}/windows",
    "/admin/users/{inspector_id}/active",
    "/admin/users/{inspector_id}/password",
]


def fill(url, org_tree, people):
    return url.format(
        inspector_id=people["inspector"].id, xihu1=org_tree["xihu1"].id, haishu1=org_tree["haishu1"].id,
        province=org_tree["province"].id,
    )


@pytest.mark.parametrize("role", ROLES)
def test_role_page_matrix(role, client_as, org_tree, people):
    client = client_as(people[role])
    for url, allowed in PAGES.items():
        response = client.get(fill(url, org_tree, people))
        expected = 200 if role in allowed else 403
        assert response.status_code == expected, f"{role} {url}: {response.status_code}, expected {expected}"


@pytest.mark.parametrize("role", ROLES)
def test_scoped_objects_answer_404_out_of_scope(role, client_as, org_tree, people):
    client = client_as(people[role])
    for url, allowed in SCOPED.items():
        response = client.get(fill(url, org_tree, people))
        expected = 200 if role in allowed else 404
        assert response.status_code == expected, f"{role} {url}: {response.status_code}, expected {expected}"


@pytest.mark.parametrize("role", [r for r in ROLES if r != "admin"])
def test_admin_posts_refused(role, client_as, org_tree, people, db):
    client = client_as(people[role])
    for url in ADMIN_POSTS:
        response = client.post(fill(url, org_tree, people), {"name": "x", "code": "X1", "number": "9",
                                                             "active": "0", "pw-password": "Abcdefg-123",
                                                             "pw-confirm": "Abcdefg-123"})
        assert response.status_code == 403, f"{role} POST {url}: {response.status_code}"
    from sqlmodel import select

    from inspect_app.audit.models import AuditEvent

    assert not db.exec(select(AuditEvent).where(AuditEvent.actor_id == people[role].id)).all()


def _routes(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        yield rule, _sample_url(rule.rule)


def _sample_url(pattern: str) -> str:
    """Fill each converter with a value it accepts: ints with 1, any(a, b) with a, the rest with x."""
    def value(match):
        converter = match.group(1) or ""
        if converter.startswith("int"):
            return "1"
        if converter.startswith("any("):
            return converter[4:].split(",")[0].strip(" )'\"")
        return "x"

    return re.sub(r"<(?:([^:>]+):)?[^>]+>", value, pattern)


PUBLIC_ENDPOINTS = {"auth.login", "auth.logout", "auth.set_language", "dashboard.index", "service_worker", "manifest",
                    "health",  # /healthz: a probe for load balancers, nothing about the data
                    # the role guides: the docs/ folder of the repository, read before the first login too
                    "guides.index", "guides.guide", "guides.image"}


def test_every_route_needs_login(app, client):
    """Crawls the URL map: a route added later is covered without touching this test."""
    checked = 0
    for rule, url in _routes(app):
        if rule.endpoint in PUBLIC_ENDPOINTS or rule.endpoint.startswith("public."):
            continue
        method = "GET" if "GET" in rule.methods else "POST"
        response = client.open(url, method=method, data={"csrf_token": client.csrf_token()})
        assert response.status_code in (302, 401), f"{method} {url} answered {response.status_code} without login"
        checked += 1
    assert checked > 10


def test_every_post_route_checks_csrf(app, client_as, people):
    client = client_as(people["admin"])
    checked = 0
    for rule, url in _routes(app):
        if "POST" not in rule.methods:
            continue
        response = client.post(url, {}, csrf=False)
        assert response.status_code == 400, f"POST {url} without CSRF answered {response.status_code}"
        checked += 1
    assert checked >= 5
