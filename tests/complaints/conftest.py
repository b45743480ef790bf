"""Fixtures of the complaint tests: a request context, staff at the test outlets."""
from __future__ import annotations

import pytest

from inspect_app.org.models import StaffMember


@pytest.fixture
def ctx(app):
    with app.test_request_context():
        yield


@pytest.fixture
def staff(db, org_tree):
    people = {
        "clerk": StaffMember(job_number="330106001-01", name="王小红", post="营业员", outlet_id=org_tree["xihu1"].id),
        "courier": StaffMember(job_number="330106001-02", name="李大明", post="投递员", outlet_id=org_tree["xihu1"].id),
        "elsewhere": StaffMember(job_number="330203001-01", name="陈静", post="营业员", outlet_id=org_tree["haishu1"].id),
    }
    for person in people.values():
        db.add(person)
    db.commit()
    return people
