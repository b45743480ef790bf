"""An id in a URL that no row can have (past an INTEGER column's 32 bits, or past 64 bits) is a 404
on every route, GET and POST alike."""
from __future__ import annotations

import pytest
from werkzeug.routing import AnyConverter, IntegerConverter

from inspect_app.forms_common import LARGEST_ID

TOO_LONG = "9" * 23  # past 2**63: SQLite's driver cannot bind it (an OverflowError, a 500, before the converter)


def _urls(app, value: int) -> list[tuple[str, str]]:
    """Every route with an ``<int:>`` part, each such part ``value`` (the others their first choice)."""
    found = []
    for rule in app.url_map.iter_rules():
        converters = rule._converters
        if not any(isinstance(conv, IntegerConverter) for conv in converters.values()):
            continue
        values = {name: value if isinstance(conv, IntegerConverter)
                  else sorted(conv.items)[0] if isinstance(conv, AnyConverter) else "x"
                  for name, conv in converters.items()}
        url = app.url_map.bind("localhost").build(rule.endpoint, values)
        found += [(method, url) for method in sorted(rule.methods & {"GET", "POST"})]
    return found


@pytest.mark.parametrize("value", [TOO_LONG, str(2 ** 31)])
def test_an_id_past_64_bits_is_404_on_every_route(app, client_as, people, value):
    """Past 64 bits SQLite's driver cannot bind it; past 32 bits PostgreSQL cannot compare it with an
    INTEGER id column (a DataError): both were 500s."""
    admin = client_as(people["admin"])
    urls = _urls(app, int(value))
    assert len(urls) > 80
    for method, url in urls:
        response = admin.get(url) if method == "GET" else admin.post(url, {})
        assert response.status_code == 404, (method, url, response.status_code)


@pytest.mark.parametrize("value", [str(LARGEST_ID)])
def test_the_largest_id_still_reaches_the_view(app, client_as, people, value):
    """The bound is the database's, not lower: the largest id is an ordinary unknown row."""
    admin = client_as(people["admin"])
    assert admin.get(f"/visits/{value}").status_code == 404
    assert admin.get(f"/complaints/{value}").status_code == 404


@pytest.mark.parametrize("path", ["/outlets?unit=", "/outlets?page=", "/board?unit=", "/board/lines?outlet=",
                                  "/schedule?outlet=", "/visits/new?outlet=", "/visits?page=", "/complaints?unit=",
                                  "/complaints?staff=", "/admin/audit?page=", "/admin/jobs?page=", "/admin/users?unit=", "/admin/users?page="])
def test_a_filter_or_page_past_64_bits_is_no_filter_not_a_500(client_as, people, path):
    """``?unit=``, ``?outlet=``, ``?page=``... read with ``type=int`` took any length, and the query's
    driver raised OverflowError; now such a value is read as none given."""
    response = client_as(people["director"] if "/admin/" not in path
                         else people["admin"]).get(path + TOO_LONG)
    assert response.status_code == 200, response.status_code
