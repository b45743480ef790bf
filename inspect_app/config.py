"""Configuration from the environment, with safe defaults for the embedded setup."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _instance_path() -> Path:
    return Path(os.environ.get("INSPECT_INSTANCE", PROJECT_ROOT / "instance")).resolve()


def _secret_key(instance: Path) -> str:
    """Use SECRET_KEY when given; otherwise generate one once and keep it under instance/."""
    key_file = instance / "secret_key"
    if key_file.exists():
        return key_file.read_text().strip()
    instance.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32)
    # Write-then-rename so two processes starting together agree on one key.
    tmp = key_file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(key)
    os.chmod(tmp, 0o600)
    try:
        os.link(tmp, key_file)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return key_file.read_text().strip()


def _int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


def load(overrides: dict | None = None) -> dict:
    """Defaults, then the environment, then ``overrides`` (what tests and scripts pass)."""
    overrides = dict(overrides or {})
    instance = Path(overrides.get("INSTANCE_PATH") or _instance_path()).resolve()
    result = dict(DEFAULTS)
    result.update(from_environment(instance))
    result.update(overrides)
    if result.get("PUBLIC_URL") and not result.get("TRUSTED_HOSTS"):
        # With a public address configured, a request for any other host is refused (400).
        host = urlsplit(result["PUBLIC_URL"]).hostname
        result["TRUSTED_HOSTS"] = [host, "localhost", "127.0.0.1"] if host else None
    if result.get("SIGNATURE_ON_ACKNOWLEDGE") not in ("optional", "required"):
        raise ValueError("SIGNATURE_ON_ACKNOWLEDGE must be 'optional' or 'required', "
                         f"not {result.get('SIGNATURE_ON_ACKNOWLEDGE')!r}")
    if not result.get("SECRET_KEY"):
        result["SECRET_KEY"] = _secret_key(instance)
    # The cookie may live as long as a session can; the server ends it sooner (idle, revoked).
    result.setdefault("PERMANENT_SESSION_LIFETIME", 60 * 60 * 24 * (int(result["SESSION_MAX_DAYS"]) + 1))
    return result


def from_environment(instance: Path) -> dict:
    return {
        "INSTANCE_PATH": str(instance),
        "SECRET_KEY": os.environ.get("SECRET_KEY", ""),
        "DATABASE_URL": os.environ.get("DATABASE_URL", f"sqlite:///{instance / 'inspect.db'}"),
        "MEDIA_ROOT": os.environ.get("MEDIA_ROOT", str(instance / "media")),
        "STORAGE_BACKEND": os.environ.get("STORAGE_BACKEND", "local"),
        "S3_BUCKET": os.environ.get("S3_BUCKET", ""),
        "S3_ENDPOINT_URL": os.environ.get("S3_ENDPOINT_URL") or None,
        "S3_REGION": os.environ.get("S3_REGION", "us-east-1"),
        "DEFAULT_TIMEZONE": os.environ.get("DEFAULT_TIMEZONE", "Asia/Shanghai"),
        "BABEL_DEFAULT_LOCALE": os.environ.get("DEFAULT_LANGUAGE", "zh_CN"),
        "TRUST_PROXY": os.environ.get("TRUST_PROXY", "") == "1",
        # The address people reach the app at (https://inspect.example.cn): absolute links in PDFs
        # and QR codes are made from it, never from the request's Host header.
        "PUBLIC_URL": os.environ.get("PUBLIC_URL", "").rstrip("/"),
        "LOGIN_MAX_FAILURES": _int("LOGIN_MAX_FAILURES", 5),
        "LOGIN_WINDOW_MINUTES": _int("LOGIN_WINDOW_MINUTES", 15),
        "LOGIN_MAX_FAILURES_PER_IP": _int("LOGIN_MAX_FAILURES_PER_IP", 30),
        "SQL_ECHO": os.environ.get("SQL_ECHO", "") == "1",
        # PostgreSQL: parallel workers per statement for the app's connections (its
        # max_parallel_workers_per_gather). 0: the pages' short reads never fork workers, which on a
        # few shared cores under concurrent requests cost more than they gain (the server's default 2).
        "PG_PARALLEL_WORKERS": _int("PG_PARALLEL_WORKERS", 0),
        # A late line climbs one unit up per this many days past its deadline.
        "ESCALATION_DAYS": _int("ESCALATION_DAYS", 3),
        # Secret visits: the same shopper not at the same outlet within this many days.
        "ROTATION_DAYS": _int("ROTATION_DAYS", 60),
        # Every visit: a check-in farther than this from the outlet (less the phone's reported
        # accuracy, allowed up to this distance) asks the inspector why and is flagged.
        "CHECKIN_RADIUS_METERS": _int("CHECKIN_RADIUS_METERS", 300),
        # 延期申请: the latest deadline an extension may ask for or grant, in days from today.
        "EXTENSION_MAX_DAYS": _int("EXTENSION_MAX_DAYS", 30),
        # A notice not acknowledged (签收) within this many working days reminds the branch chief,
        # then climbs one unit up per ESCALATION_DAYS days more, as late lines do.
        "NOTICE_ACK_WORKING_DAYS": _int("NOTICE_ACK_WORKING_DAYS", 2),
        # A photo whose GPS lies further than this from its outlet is flagged to those who judge it.
        "PHOTO_DISTANCE_METERS": _int("PHOTO_DISTANCE_METERS", 500),
        # 回头看: the fill page marks the items that failed in the outlet's last released visits of
        # the same checklist (at most this many, released within this many days) or are still open
        # on a notice. 屡查屡犯: an item failing again within this many days of an earlier failure.
        "REVISIT_LOOKBACK_DAYS": _int("REVISIT_LOOKBACK_DAYS", 180),
        "REVISIT_LOOKBACK_VISITS": _int("REVISIT_LOOKBACK_VISITS", 3),
        "REPEAT_WINDOW_DAYS": _int("REPEAT_WINDOW_DAYS", 90),
        # 自查 (self-inspections by the outlets' own chiefs) count apart from inspections: 0 keeps
        # them out of inspection averages, coverage, bulletins and the indicators' inspection
        # sources; 1 counts them in like any visit. 自查不实: an inspection's failure of an item a
        # self-inspection at the outlet passed at most this many days before.
        "SELF_INSPECTION_IN_RANKINGS": _int("SELF_INSPECTION_IN_RANKINGS", 0),
        "SELF_CHECK_WINDOW_DAYS": _int("SELF_CHECK_WINDOW_DAYS", 7),
        # Rankings: "visit" — a red-line visit counts 0 in its unit's average and the unit is marked
        # 否决; "unit" — the unit scores 0 for the period; "off" — scores unchanged. The first N are
        # commended, the last N named.
        "RANKING_VETO": os.environ.get("RANKING_VETO", "visit"),
        "RANKING_COMMEND": _int("RANKING_COMMEND", 3),
        "RANKING_NAME_BOTTOM": _int("RANKING_NAME_BOTTOM", 3),
        # Published bulletins: numbered "<unit><prefix>〔year〕N号"; `inspect-app publish-bulletins`
        # (run daily from cron) publishes the last complete period for "unit code=kinds;...".
        "BULLETIN_PREFIX": os.environ.get("BULLETIN_PREFIX", "质通"),
        "BULLETIN_SCHEDULE": os.environ.get("BULLETIN_SCHEDULE", ""),
        # Complaints: "source=first-contact hours/days to resolve;..." (counted in the outlet's
        # zone), the categories offered, and the accountability table: the amount (yuan) of each
        # grade, grade 1 first.
        "COMPLAINT_DEADLINES": os.environ.get("COMPLAINT_DEADLINES", ""),
        "COMPLAINT_CATEGORIES": os.environ.get("COMPLAINT_CATEGORIES", ""),
        "ACCOUNTABILITY_AMOUNTS": os.environ.get("ACCOUNTABILITY_AMOUNTS", "600,2000,5000,10000"),
        # A signed-in device ends after this long without a request, and after this long at most.
        "SESSION_IDLE_HOURS": _int("SESSION_IDLE_HOURS", 12),
        "SESSION_MAX_DAYS": _int("SESSION_MAX_DAYS", 30),
        # The job queue: Huey on SQLite (instance/queue.db) by default, on Redis when REDIS_URL is
        # set (several hosts). A failed job waits JOB_RETRY_SECONDS × 2^(attempt-1) before the next
        # attempt; the sweep runs every SWEEP_MINUTES, scheduled bulletins after BULLETIN_TIME.
        "REDIS_URL": os.environ.get("REDIS_URL", ""),
        "QUEUE_NAME": os.environ.get("QUEUE_NAME", "inspect"),
        "QUEUE_POLL_SECONDS": float(os.environ.get("QUEUE_POLL_SECONDS", 2)),
        "JOB_RETRY_SECONDS": float(os.environ.get("JOB_RETRY_SECONDS", 30)),
        "JOB_STALE_MINUTES": _int("JOB_STALE_MINUTES", 30),
        "SWEEP_MINUTES": _int("SWEEP_MINUTES", 5),
        "BULLETIN_TIME": os.environ.get("BULLETIN_TIME", "00:10"),
        # The worker recomputes the kept composite (every node's ranking) this often; pages only
        # read it, and the worker's own papers compute again when it is older than this.
        "INDICATOR_REFRESH_MINUTES": _int("INDICATOR_REFRESH_MINUTES", 30),
        # The last complete period's bulletins of every unit someone reads, composed ahead by the
        # worker (reports.kept): which kinds, composed again daily this many days after the period
        # (what settles late), and how long one job composes before the next slot goes on.
        "BULLETIN_KEEP_KINDS": os.environ.get("BULLETIN_KEEP_KINDS", "month,week"),
        "BULLETIN_SETTLE_DAYS": _int("BULLETIN_SETTLE_DAYS", 7),
        "BULLETIN_KEEP_SECONDS": _int("BULLETIN_KEEP_SECONDS", 300),
        # Big files made by the worker and kept a day for the one who asked: exports of more rows,
        # notices of more lines, PDFs of more photos than these.
        "EXPORT_INLINE_ROWS": _int("EXPORT_INLINE_ROWS", 5000),
        "PDF_INLINE_LINES": _int("PDF_INLINE_LINES", 200),
        "PDF_INLINE_PHOTOS": _int("PDF_INLINE_PHOTOS", 12),
        "FILE_KEEP_HOURS": float(os.environ.get("FILE_KEEP_HOURS", 24)),
        # 0 switches off making a changed notice's PDF ahead in the worker (reports.hooks)
        "NOTICE_PDF_AHEAD": os.environ.get("NOTICE_PDF_AHEAD", "1") != "0",
        # Notifications by e-mail (SMTP_SECURITY ssl | starttls | none; by default from the port)
        # and to group robots; a person's daily digest goes at DIGEST_HOUR in their zone.
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": _int("SMTP_PORT", 25),
        "SMTP_USER": os.environ.get("SMTP_USER", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_FROM": os.environ.get("SMTP_FROM", ""),
        "SMTP_FROM_NAME": os.environ.get("SMTP_FROM_NAME", "网点检查"),
        "SMTP_SECURITY": os.environ.get("SMTP_SECURITY", ""),
        "CHANNEL_TIMEOUT": float(os.environ.get("CHANNEL_TIMEOUT", 15)),
        "DELIVERY_ATTEMPTS": _int("DELIVERY_ATTEMPTS", 6),
        "DIGEST_HOUR": _int("DIGEST_HOUR", 8),
        # The chief's 签收 of a notice: "optional" offers a signature pad, "required" insists on it.
        "SIGNATURE_ON_ACKNOWLEDGE": os.environ.get("SIGNATURE_ON_ACKNOWLEDGE", "optional"),
    }


DEFAULTS = {
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "SESSION_COOKIE_NAME": "inspect_session",
    "REMEMBER_COOKIE_HTTPONLY": True,
    "REMEMBER_COOKIE_SAMESITE": "Lax",
    # The cookie is written only when the session changes (login, a flash, the CSRF token), never
    # on every response: a request still in flight when a form's answer set a one-time message
    # (the service worker's update check, a thumbnail) would otherwise write its older cookie back
    # and the message would be lost. The server-side session row keeps idle and revocation.
    "SESSION_REFRESH_EACH_REQUEST": False,
    "WTF_CSRF_TIME_LIMIT": 60 * 60 * 12,
    "MAX_CONTENT_LENGTH": 25 * 1024 * 1024,
    "LANGUAGES": ["zh_CN", "en"],
    "BABEL_TRANSLATION_DIRECTORIES": str(PROJECT_ROOT / "inspect_app" / "translations"),
}
