"""Small senders, one per channel kind: SMTP (smtplib), the WeCom and DingTalk group robots and a
generic JSON webhook (urllib). Each raises ``SendError`` with what went wrong; the caller records
it and the queue retries.

Why not Apprise: its WeCom and DingTalk plugins build the vendor's host into the URL
(``qyapi.weixin.qq.com``, ``oapi.dingtalk.com``) from a key, while our admins paste the robot's
whole webhook address — a private WeCom deployment or an egress proxy has another host — and it
reports a failure as ``False`` without the robot's ``errcode``, which our delivery log shows.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import urllib.error
import urllib.parse
import urllib.request
from email.message import EmailMessage
from email.utils import formataddr, make_msgid

from inspect_app import clock

USER_AGENT = "inspect-app/notifications"


class SendError(Exception):
    pass


# --- e-mail -------------------------------------------------------------------------------------------

def send_email(config: dict, *, to: list[str], subject: str, text: str,
               attachment: tuple[str, bytes, str] | None = None) -> None:
    """Plain-text mail through ``SMTP_HOST``; ``SMTP_SECURITY`` ssl | starttls | none (by default
    ssl on 465, starttls on 587, none otherwise)."""
    host = config.get("SMTP_HOST")
    if not host:
        raise SendError("SMTP is not configured (SMTP_HOST)")
    port = int(config.get("SMTP_PORT") or 25)
    security = (config.get("SMTP_SECURITY") or {465: "ssl", 587: "starttls"}.get(port, "none")).lower()
    timeout = float(config.get("CHANNEL_TIMEOUT", 15))
    message = EmailMessage()
    sender = config.get("SMTP_FROM") or "inspect@localhost"
    message["From"] = formataddr((config.get("SMTP_FROM_NAME") or "网点检查", sender))
    message["To"] = ", ".join(to)
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain=sender.rsplit("@", 1)[-1] or "localhost")
    message.set_content(text)
    if attachment is not None:
        filename, data, mimetype = attachment
        maintype, subtype = mimetype.split("/", 1)
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    try:
        if security == "ssl":
            client = smtplib.SMTP_SSL(host, port, timeout=timeout, context=ssl.create_default_context())
        else:
            client = smtplib.SMTP(host, port, timeout=timeout)
        with client:
            if security == "starttls":
                client.starttls(context=ssl.create_default_context())
            if config.get("SMTP_USER"):
                client.login(config["SMTP_USER"], config.get("SMTP_PASSWORD", ""))
            refused = client.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise SendError(f"SMTP {host}:{port}: {exc}") from exc
    if refused:
        raise SendError(f"SMTP refused: {', '.join(refused)}")


# --- HTTP robots ----------------------------------------------------------------------------------------

def _post_json(url: str, payload: dict, *, timeout: float, headers: dict | None = None) -> bytes:
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT, **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.read(65536)
    except urllib.error.HTTPError as exc:
        raise SendError(f"HTTP {exc.code} from {_host(url)}") from exc
    except (OSError, ValueError) as exc:
        raise SendError(f"{_host(url)}: {exc}") from exc


def _host(url: str) -> str:
    return urllib.parse.urlsplit(url).netloc or "?"


def _robot_answer(raw: bytes, url: str) -> None:
    """Both robots answer HTTP 200 with ``{"errcode": 0, "errmsg": "ok"}``; any other errcode is a
    refusal (a wrong key, a bad signature, 20 messages a minute exceeded)."""
    try:
        answer = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise SendError(f"{_host(url)} answered something else than JSON") from exc
    if not isinstance(answer, dict) or answer.get("errcode") != 0:
        code = answer.get("errcode") if isinstance(answer, dict) else "?"
        message = answer.get("errmsg") if isinstance(answer, dict) else ""
        raise SendError(f"{_host(url)} refused: errcode {code} {str(message)[:200]}")


def markdown(title: str, text: str, url: str) -> str:
    lines = [f"**{title}**", "", text]
    if url:
        lines += ["", f"[查看详情]({url})"]
    return "\n".join(lines)


def send_wecom(url: str, *, title: str, text: str, link: str, timeout: float = 15) -> None:
    """企业微信群机器人: POST ``{"msgtype": "markdown", "markdown": {"content": ...}}`` to the
    robot's webhook address (``…/cgi-bin/webhook/send?key=…``); content at most 4096 bytes."""
    content = markdown(title, text, link).encode("utf-8")[:4000].decode("utf-8", "ignore")
    _robot_answer(_post_json(url, {"msgtype": "markdown", "markdown": {"content": content}}, timeout=timeout), url)


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """钉钉 加签: HMAC-SHA256 of ``"<timestamp>\\n<secret>"`` keyed with the secret, Base64, then
    URL-encoded (the robot refuses a timestamp more than an hour off)."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp_ms}\n{secret}".encode("utf-8"), hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode("ascii"))


def signed_dingtalk_url(url: str, secret: str, timestamp_ms: int | None = None) -> str:
    if not secret:
        return url
    timestamp_ms = timestamp_ms if timestamp_ms is not None else int(clock.now().timestamp() * 1000)
    joiner = "&" if urllib.parse.urlsplit(url).query else "?"
    return f"{url}{joiner}timestamp={timestamp_ms}&sign={dingtalk_sign(secret, timestamp_ms)}"


def send_dingtalk(url: str, secret: str, *, title: str, text: str, link: str, timeout: float = 15) -> None:
    """钉钉自定义机器人: POST ``{"msgtype": "markdown", "markdown": {"title", "text"}}`` to the
    webhook (``…/robot/send?access_token=…``), signed with ``timestamp`` and ``sign`` when the robot
    has a secret."""
    payload = {"msgtype": "markdown", "markdown": {"title": title[:64], "text": markdown(title, text, link)}}
    target = signed_dingtalk_url(url, secret)
    _robot_answer(_post_json(target, payload, timeout=timeout), url)


def webhook_signature(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def send_webhook(url: str, secret: str, payload: dict, *, timeout: float = 15) -> None:
    """A JSON POST; with a secret, ``X-Inspect-Signature: sha256=<hex HMAC of the body>``. Any 2xx
    answer is success."""
    body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT}
    if secret:
        headers["X-Inspect-Signature"] = webhook_signature(secret, body)
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            response.read(65536)
    except urllib.error.HTTPError as exc:
        raise SendError(f"HTTP {exc.code} from {_host(url)}") from exc
    except (OSError, ValueError) as exc:
        raise SendError(f"{_host(url)}: {exc}") from exc
