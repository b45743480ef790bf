"""Loopback receivers started by the tests: an SMTP server (aiosmtpd) and an HTTP server standing in
for the WeCom and DingTalk group robots and a webhook. They check what real robots check — the
payload's shape, DingTalk's signature and timestamp — and answer as the robots do."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import threading
import time
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SmtpInbox:
    """Every message received: ``(recipients, email.message.EmailMessage)``."""

    def __init__(self):
        self.messages: list[tuple[list[str], object]] = []
        self.port = free_port()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=default_policy)))
        return "250 OK"

    def start(self) -> "SmtpInbox":
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()

    def to(self, address: str) -> list:
        return [m for rcpts, m in self.messages if address in rcpts]

    @staticmethod
    def text(message) -> str:
        body = message.get_body(preferencelist=("plain",))
        return f"{message['Subject']}\n{body.get_content() if body else ''}"


def dingtalk_expected_sign(secret: str, timestamp: str) -> str:
    """The robot's own check, written from DingTalk's documentation (not the app's code)."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class Robots:
    """``/wecom/send?key=K``, ``/dingtalk/send?access_token=T&timestamp=&sign=``, ``/hook``,
    ``/flaky`` (500 for the first ``fail_first`` posts). ``received`` keeps what each accepted."""

    def __init__(self, *, dingtalk_secret: str = "SECtest-secret", hook_secret: str = "hook-key",
                 fail_first: int = 2):
        self.dingtalk_secret, self.hook_secret = dingtalk_secret, hook_secret
        self.fail_first = fail_first
        self.received: dict[str, list[dict]] = {"wecom": [], "dingtalk": [], "hook": [], "flaky": []}
        self.refused: list[tuple[str, str]] = []
        self.flaky_posts = 0
        self._lock = threading.Lock()
        robots = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self, status: int, payload: dict) -> None:
                body = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self):
                url = urlsplit(self.path)
                query = {k: v[0] for k, v in parse_qs(url.query).items()}
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    payload = json.loads(raw.decode("utf-8"))
                except ValueError:
                    return self._answer(400, {"errcode": 40001, "errmsg": "not json"})
                with robots._lock:
                    return robots._route(self, url.path, query, payload, raw)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_port}"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def _route(self, handler, path, query, payload, raw):
        if path == "/wecom/send":
            if not query.get("key"):
                return self._refuse(handler, "wecom", 93000, "invalid webhook url")
            kind = payload.get("msgtype")
            content = (payload.get(kind) or {}).get("content") if kind in ("markdown", "text") else None
            if not isinstance(content, str) or not content or len(content.encode()) > 4096:
                return self._refuse(handler, "wecom", 40008, "invalid message type")
            self.received["wecom"].append({"key": query["key"], **payload})
            return handler._answer(200, {"errcode": 0, "errmsg": "ok"})
        if path == "/dingtalk/send":
            timestamp, sign = query.get("timestamp", ""), query.get("sign", "")
            if not query.get("access_token"):
                return self._refuse(handler, "dingtalk", 300001, "token is not exist")
            if not timestamp.isdigit() or abs(time.time() * 1000 - int(timestamp)) > 3600_000:
                return self._refuse(handler, "dingtalk", 310000, "invalid timestamp")
            if sign != dingtalk_expected_sign(self.dingtalk_secret, timestamp):
                return self._refuse(handler, "dingtalk", 310000, "sign not match")
            md = payload.get("markdown") or {}
            if payload.get("msgtype") != "markdown" or not md.get("title") or not md.get("text"):
                return self._refuse(handler, "dingtalk", 40035, "missing parameter")
            self.received["dingtalk"].append(payload)
            return handler._answer(200, {"errcode": 0, "errmsg": "ok"})
        if path == "/hook":
            expected = "sha256=" + hmac.new(self.hook_secret.encode(), raw, hashlib.sha256).hexdigest()
            if handler.headers.get("X-Inspect-Signature") != expected:
                self.refused.append(("hook", "bad signature"))
                return handler._answer(401, {"error": "bad signature"})
            self.received["hook"].append(payload)
            return handler._answer(200, {})
        if path == "/flaky":
            self.flaky_posts += 1
            if self.flaky_posts <= self.fail_first:
                return handler._answer(500, {"error": "down for a moment"})
            self.received["flaky"].append(payload)
            return handler._answer(200, {})
        return handler._answer(404, {"error": "no such robot"})

    def _refuse(self, handler, robot: str, code: int, message: str):
        self.refused.append((robot, message))
        return handler._answer(200, {"errcode": code, "errmsg": message})

    def all_texts(self) -> list[str]:
        return [json.dumps(p, ensure_ascii=False) for found in self.received.values() for p in found]

    def start(self) -> "Robots":
        self._thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
