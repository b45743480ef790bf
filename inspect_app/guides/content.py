"""What the guides are and where each page's help points: the guide files of ``docs/``, the page →
guide-section map per role, and the first-login tour of each role.

The anchors named here are the ``{#anchor}`` ids of the guides' headings; a test reads the guides
and fails when a page points to a section a guide no longer has.
"""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import lazy_gettext as _l

from inspect_app.auth.models import Role


@dataclass(frozen=True)
class Guide:
    slug: str  # docs/<slug>.md and /help/<slug>
    zh: str
    en: str


GUIDES: dict[str, Guide] = {g.slug: g for g in (
    Guide("inspector", "巡检员", "Inspector"),
    Guide("shopper", "暗访员", "Mystery shopper"),
    Guide("reviewer", "审核员", "Reviewer"),
    Guide("branch-chief", "网点负责人", "Branch chief"),
    Guide("manager", "区域经理", "Manager"),
    Guide("complaint-handler", "投诉处理员", "Complaint handler"),
    Guide("admin", "系统管理员", "Administrator"),
    Guide("quality-office", "质量管理办公室", "Quality office"),
)}

ROLE_GUIDE: dict[str, str] = {
    Role.inspector: "inspector", Role.shopper: "shopper", Role.reviewer: "reviewer",
    Role.branch_chief: "branch-chief", Role.manager: "manager", Role.handler: "complaint-handler",
    Role.admin: "admin",
}

#: Page → (guide, section) per role. A key is an endpoint or a blueprint prefix ending in "."; the
#: exact endpoint wins, then the prefix, then the role's guide from the top. The quality office's
#: own pages (configuration, indicator imports) open its guide whoever reads them.
COMMON = {
    "auth.change_password": ("{own}", "account"),
    "auth.devices": ("{own}", "account"),
    "notifications.index": ("{own}", "account"),
    "channels.preferences": ("{own}", "account"),
    "downloads.": ("{own}", "account"),
    "config.": ("quality-office", "config"),
    "indicators.import_values": ("quality-office", "import"),
}

HELP: dict[str, dict[str, tuple[str, str]]] = {
    Role.inspector: {
        "dashboard.home": ("inspector", "today"),
        "visits.index": ("inspector", "today"),
        "visits.checkin": ("inspector", "checkin"),
        "visits.fill": ("inspector", "fill"),
        "visits.detail": ("inspector", "submit"),
        "visits.new": ("inspector", "adhoc"),
        "rectifications.": ("inspector", "recheck"),
        "org.": ("inspector", "adhoc"),
        "dashboard.outlet": ("inspector", "adhoc"),
    },
    Role.shopper: {
        "dashboard.home": ("shopper", "today"),
        "visits.index": ("shopper", "today"),
        "visits.checkin": ("shopper", "today"),
        "visits.fill": ("shopper", "timers"),
        "visits.detail": ("shopper", "submit"),
    },
    Role.reviewer: {
        "dashboard.home": ("reviewer", "queue"),
        "review.queue": ("reviewer", "queue"),
        "review.review": ("reviewer", "review"),
        "rectifications.": ("reviewer", "disputes"),
        "visits.": ("reviewer", "review"),
    },
    Role.branch_chief: {
        "dashboard.home": ("branch-chief", "home"),
        "dashboard.outlet": ("branch-chief", "home"),
        "rectifications.notices": ("branch-chief", "notice"),
        "rectifications.notice": ("branch-chief", "notice"),
        "rectifications.line": ("branch-chief", "answer"),
        "rectifications.": ("branch-chief", "notice"),
        "reports.notice_pdf": ("branch-chief", "pdf"),
        "complaints.": ("branch-chief", "complaints"),
        "visits.": ("branch-chief", "self"),
        "plans.": ("branch-chief", "self"),
    },
    Role.manager: {
        "dashboard.home": ("manager", "board"),
        "rectifications.": ("manager", "board"),
        "visits.schedule": ("manager", "schedule"),
        "review.blackouts": ("manager", "schedule"),
        "review.": ("reviewer", "queue"),  # managers may stand in for a reviewer
        "visits.stars": ("manager", "results"),
        "visits.": ("manager", "results"),
        "plans.": ("manager", "plans"),
        "reports.": ("manager", "bulletins"),
        "indicators.": ("manager", "ranking"),
        "complaints.": ("manager", "complaints"),
        "org.": ("manager", "results"),
        "dashboard.outlet": ("manager", "results"),
    },
    Role.handler: {
        "dashboard.home": ("complaint-handler", "desk"),
        "complaints.index": ("complaint-handler", "desk"),
        "complaints.new": ("complaint-handler", "new"),
        "complaints.detail": ("complaint-handler", "investigate"),
        "complaints.callbacks": ("complaint-handler", "callback"),
        "complaints.key_customer": ("complaint-handler", "callback"),
        "complaints.edit_key_customer": ("complaint-handler", "callback"),
        "complaints.accountability": ("complaint-handler", "accountability"),
        "complaints.accountability_list": ("complaint-handler", "accountability"),
        "complaints.": ("complaint-handler", "desk"),
    },
    Role.admin: {
        "dashboard.home": ("admin", "accounts"),
        "auth.": ("admin", "accounts"),
        "org.units": ("admin", "org"),
        "org.outlets": ("admin", "org"),
        "org.outlet_edit": ("admin", "org"),
        "org.outlets_import": ("admin", "org"),
        "org.staff": ("admin", "staff"),
        "org.staff_edit": ("admin", "staff"),
        "org.staff_import": ("admin", "staff"),
        "audit.": ("admin", "audit"),
        "guides.system": ("admin", "system"),
        "channels.": ("admin", "channels"),
        "jobs.": ("admin", "channels"),
        "indicators.": ("quality-office", "ranking"),
        "reports.": ("quality-office", "bulletins"),
        # what administrators see of the managers' and reviewers' work is explained in their guides
        "rectifications.": ("manager", "board"),
        "visits.": ("manager", "results"),
        "visits.schedule": ("manager", "schedule"),
        "plans.": ("manager", "plans"),
        "complaints.": ("manager", "complaints"),
        "review.blackouts": ("manager", "schedule"),
        "review.": ("reviewer", "queue"),
    },
}


def help_target(role: str | None, endpoint: str | None) -> tuple[str, str | None]:
    """(guide slug, section anchor or None) for a page seen by a role; the guides' index when
    nobody is logged in."""
    own = ROLE_GUIDE.get(role or "")
    if own is None:
        return "index", None
    endpoint = endpoint or ""
    table = {**COMMON, **HELP.get(role, {})}
    prefix = endpoint.split(".", 1)[0] + "."
    guide, anchor = table.get(endpoint) or table.get(prefix) or (own, None)
    return (own if guide == "{own}" else guide), anchor


@dataclass(frozen=True)
class TourStep:
    title: object  # lazy strings: the tour speaks the reader's language
    text: object
    anchor: str  # the section of the role's guide that says more


TOURS: dict[str, list[TourStep]] = {
    Role.inspector: [
        TourStep(_l("Today's visits"), _l("Your home page lists the overdue visits, those in progress "
                                          "and today's. Tap a visit to start."), "today"),
        TourStep(_l("Check in at the outlet"), _l("At the door, tap Check in and start: the phone records "
                                                  "the time and where you are."), "checkin"),
        TourStep(_l("Item by item"), _l("Mark each item pass or fail; a failure may need a photo. Every "
                                        "tap is saved on the phone, even without signal."), "fill"),
        TourStep(_l("Submit"), _l("When every item is answered, submit. Failures become a rectification "
                                  "notice for the outlet."), "submit"),
        TourStep(_l("Re-check"), _l("Under Rectify you verify what outlets fixed: accept, or return "
                                    "with a reason."), "recheck"),
    ],
    Role.shopper: [
        TourStep(_l("Your secret visits"), _l("Home lists the visits given to you. Nobody at the outlet "
                                              "can see them."), "today"),
        TourStep(_l("One-tap timers"), _l("Tap a timer as you enter, join the queue, are served, are "
                                          "done and leave."), "timers"),
        TourStep(_l("Receipt and photos"), _l("Photograph the receipt after you leave; add what you "
                                              "saw in your own words."), "receipt"),
        TourStep(_l("Submit"), _l("A reviewer reads your visit before the outlet sees anything; it "
                                  "may come back to you with questions."), "submit"),
    ],
    Role.reviewer: [
        TourStep(_l("The review queue"), _l("Secret visits wait here until you release them."), "queue"),
        TourStep(_l("Read the visit"), _l("Check answers, timers, photos and the impression against "
                                          "each other."), "review"),
        TourStep(_l("Return or release"), _l("Return it to the shopper with a question, or release it: "
                                             "only then does the outlet see the findings."), "return"),
        TourStep(_l("Disputes"), _l("When an outlet disputes a finding, you uphold or withdraw it."),
                 "disputes"),
    ],
    Role.branch_chief: [
        TourStep(_l("Your outlets"), _l("Home shows what is open at your outlets and what is due "
                                        "first."), "home"),
        TourStep(_l("Acknowledge the notice"), _l("A rectification notice lists each problem with its "
                                                  "deadline. Acknowledge it first."), "notice"),
        TourStep(_l("Send what you fixed"), _l("For each line, describe what was done and add an "
                                               "after-photo. The inspector verifies it."), "answer"),
        TourStep(_l("Disagree?"), _l("Dispute a line with your reasons; a reviewer decides."), "dispute"),
    ],
    Role.manager: [
        TourStep(_l("The board"), _l("The rectification board shows what is open, late and closed "
                                     "under your unit."), "board"),
        TourStep(_l("Schedule visits"), _l("Give outlets, a checklist and dates to an inspector or a "
                                           "shopper."), "schedule"),
        TourStep(_l("Results and stars"), _l("Visits, scores and window stars of your outlets, with "
                                             "exports."), "results"),
        TourStep(_l("Bulletins and ranking"), _l("Publish the day's, week's or month's bulletin; see "
                                                 "the composite ranking."), "bulletins"),
    ],
    Role.handler: [
        TourStep(_l("Your desk"), _l("Your complaints and the ones nobody has taken yet, with their "
                                     "deadlines."), "desk"),
        TourStep(_l("Register a complaint"), _l("Record source, outlet and what the customer said; "
                                                "you own it from first contact."), "new"),
        TourStep(_l("Investigate and conclude"), _l("Add notes, conclude and grade; raise rectification "
                                                    "lines when needed."), "investigate"),
        TourStep(_l("Call back"), _l("A complaint closes with the customer's callback."), "callback"),
    ],
    Role.admin: [
        TourStep(_l("Accounts"), _l("Create accounts and give each a role and a scope."), "accounts"),
        TourStep(_l("Units and outlets"), _l("Keep the unit tree and the outlets with their windows; "
                                             "import them from CSV."), "org"),
        TourStep(_l("System"), _l("Version, database, storage, job queue and the last backup on one "
                                  "page."), "system"),
        TourStep(_l("Audit log"), _l("Every change, who made it and when."), "audit"),
    ],
}
