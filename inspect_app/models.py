"""Imports every table so ``SQLModel.metadata`` is complete (Alembic and tests use it)."""
from inspect_app.audit.models import AuditEvent  # noqa: F401
from inspect_app.auth.models import LoginAttempt, User, UserOutlet, UserSession  # noqa: F401
from inspect_app.channels.models import Channel, Delivery, NotificationPreference  # noqa: F401
from inspect_app.checklists.models import ChecklistVersion, ConfigDraft  # noqa: F401
from inspect_app.complaints.models import (  # noqa: F401
    Accountability,
    Callback,
    Commendation,
    Complaint,
    ComplaintEvent,
    ComplaintStatsMonth,
    KeyCustomer,
)
from inspect_app.downloads.models import GeneratedFile  # noqa: F401
from inspect_app.evidence.models import Photo, PhotoMarkup, Signature  # noqa: F401
from inspect_app.guides.models import TourSeen  # noqa: F401
from inspect_app.indicators.models import IndicatorSnapshot, IndicatorTreeVersion, OperatingValue  # noqa: F401
from inspect_app.jobs.models import Job  # noqa: F401
from inspect_app.notifications.models import Notification  # noqa: F401
from inspect_app.org.models import Outlet, OutletBlackout, StaffMember, Unit, Window  # noqa: F401
from inspect_app.plans.models import InspectionPlan, PlanBlackout, PlanMember, PlanOutlet, PlanPairing  # noqa: F401
from inspect_app.rectifications.models import (  # noqa: F401
    ExtensionRequest,
    KeptFigures,
    LineOverdue,
    LineOverdueBelow,
    LineStats,
    LineStatsBelow,
    LineStatsMonth,
    RectificationEvent,
    RectificationLine,
    RectificationNotice,
)
from inspect_app.reports.models import KeptBulletin, KeptNoticePdf, PublishedBulletin  # noqa: F401
from inspect_app.visits.models import Answer, StarRating, Visit  # noqa: F401
