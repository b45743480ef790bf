"""Imports every table so ``SQLModel.metadata`` is complete (Alembic and tests use it)."""
from inspect_app.audit.models import AuditEvent  # noqa: F401
from inspect_app.auth.models import LoginAttempt, User, UserOutlet  # noqa: F401
from inspect_app.org.models import Outlet, Unit, Window  # noqa: F401
