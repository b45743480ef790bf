"""A page the service worker fetches to keep for offline use (X-Inspect-Copy) takes no one-time
message: the flash is still there for the page the person opens next (a submit's "已提交" was
eaten by a copy refresh racing the navigation)."""
from __future__ import annotations

from tests.visit_helpers import checked_in_visit


def test_a_kept_copy_leaves_the_flash_for_the_next_page(app, db, client_as, org_tree, people):
    visit = checked_in_visit(app, db, people["inspector"], org_tree["xihu1"])
    inspector = client_as(people["inspector"])
    with inspector.c.session_transaction() as session:
        session["_flashes"] = [("success", "检查已提交")]
    copy = inspector.get(f"/visits/{visit.id}/fill", headers={"X-Inspect-Copy": "1"})
    assert copy.status_code == 200 and "检查已提交" not in copy.get_data(as_text=True)
    seen = inspector.get(f"/visits/{visit.id}/fill").get_data(as_text=True)
    assert "检查已提交" in seen
