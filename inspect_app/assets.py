"""Static files with content hashes in their URLs, cached for a year; the service worker and the
web app manifest, which must live at the site root."""
from __future__ import annotations

import hashlib
from pathlib import Path

from flask import Flask, Response, send_from_directory, url_for

YEAR = 365 * 24 * 3600


def _hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def init_app(app: Flask) -> None:
    hashes: dict[str, str] = {}
    static = Path(app.static_folder)

    def static_hash(filename: str) -> str | None:
        if app.debug or filename not in hashes:
            path = static / filename
            if not path.is_file():
                return None
            hashes[filename] = _hash(path)
        return hashes[filename]

    @app.url_defaults
    def _hashed_static(endpoint, values):
        # url_for('static', filename=...) gains ?v=<content hash>: a changed file is a new URL,
        # so every file can be cached for a year without ever going stale.
        if endpoint == "static" and "filename" in values and "v" not in values:
            digest = static_hash(values["filename"])
            if digest:
                values["v"] = digest

    @app.after_request
    def _cache_static(response):
        from flask import request

        if request.endpoint == "static":
            if request.args.get("v"):
                response.headers["Cache-Control"] = f"public, max-age={YEAR}, immutable"
            else:
                response.headers["Cache-Control"] = "public, max-age=300"
        return response

    app.jinja_env.globals["asset_version"] = lambda: ",".join(sorted(f"{k}:{v}" for k, v in hashes.items()))

    @app.route("/sw.js")
    def service_worker():
        """At the root so it may control every page. Never cached long: updates must reach phones."""
        body = (static / "js" / "sw.js").read_text(encoding="utf-8")
        shell = [url_for("static", filename=name) for name in SHELL_FILES]
        version = hashlib.sha256(("".join(shell) + body).encode()).hexdigest()[:12]
        body = body.replace("__SHELL__", repr(shell).replace("'", '"')).replace("__VERSION__", version)
        response = Response(body, mimetype="application/javascript")
        response.headers["Cache-Control"] = "no-cache"
        response.headers["Service-Worker-Allowed"] = "/"
        return response

    @app.route("/manifest.webmanifest")
    def manifest():
        response = send_from_directory(static, "manifest.webmanifest", mimetype="application/manifest+json")
        response.headers["Cache-Control"] = "public, max-age=3600"
        return response


#: What the service worker keeps so pages work offline once seen.
SHELL_FILES = ["css/app.css", "js/app.js", "js/visit.js", "js/photo.js", "js/checkin.js", "js/rectify.js",
               "js/signature.js", "js/markup.js",
               "icons/icon.svg", "icons/camera.svg", "icons/bell.svg", "icons/icon-192.png"]
