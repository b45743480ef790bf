"""The scale-out topology (``scripts/topology.py``) in a short run: PostgreSQL, Redis, S3 (moto's
server), two web processes and a worker on loopback. Its checks of shared state pass (a session
across web processes, a photo through S3, a job queued on one process run by the worker), the
load reaches both processes without an error, and Ctrl-C leaves nothing running."""
from __future__ import annotations

import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "scripts" / "topology.py"


def ports() -> list[int]:
    """``TOPOLOGY_PORTS=pg,redis,s3,web1,web2`` when the machine assigns them, else free ones."""
    given = os.environ.get("TOPOLOGY_PORTS")
    if given:
        return [int(p) for p in given.split(",")]
    sockets = [socket.socket() for _ in range(5)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def marked(folder: str) -> list[int]:
    """Processes started by that topology run (each carries INSPECT_TOPOLOGY=<its folder>)."""
    mark = f"INSPECT_TOPOLOGY={folder}".encode()
    found = []
    for environ in glob.glob("/proc/[0-9]*/environ"):
        try:
            if mark in Path(environ).read_bytes().split(b"\0"):
                found.append(int(environ.split("/")[2]))
        except OSError:  # gone meanwhile, or not ours to read
            pass
    return found


def folder_of(lines: list[str]) -> str:
    return next(line.split(": ", 1)[1].strip() for line in lines if line.startswith("folder: "))


@pytest.fixture
def needs_servers():
    if not glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        pytest.skip("PostgreSQL is not installed (make test installs it)")
    if shutil.which("redis-server") is None:
        if os.environ.get("TEST_REDIS") == "1":
            raise RuntimeError("TEST_REDIS=1 but redis-server is not installed")
        pytest.skip("redis-server is not installed (make test installs it)")


@pytest.mark.real_clock  # every part is a process of its own, on the wall clock
def test_the_topology_shares_state_across_web_processes_and_leaves_nothing_behind(needs_servers):
    pg, redis, s3, web1, web2 = ports()
    process = subprocess.Popen(
        [sys.executable, str(SCRIPT), "--demo", "org", "--no-fsync", "--seconds", "4", "--managers", "1",
         "--inspectors", "2", "--web-workers", "1", "--worker-threads", "1", "--keep-running",
         "--pg-port", str(pg), "--redis-port", str(redis), "--s3-port", str(s3), "--web-ports", f"{web1},{web2}"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(process.stdout.readline, "")), daemon=True)
    reader.start()
    deadline = time.monotonic() + 400
    try:
        while time.monotonic() < deadline and process.poll() is None and \
                not any("Ctrl-C stops everything" in line for line in lines):
            time.sleep(0.5)
        up = process.poll() is None
        running = []
        if up:
            assert all(listening(p) for p in (pg, redis, s3, web1, web2)), "".join(lines)
            running = marked(folder_of(lines))
    finally:
        process.send_signal(signal.SIGINT)  # as a person stops --keep-running
        try:
            process.wait(timeout=120)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=10)
    output = "".join(lines)
    assert up, output
    assert process.returncode == 0, output
    passed = [line for line in lines if line.strip().startswith("PASS")]
    assert len(passed) == 4 and "FAIL" not in output, output
    for what in ("session made on web 1 works on web 2", "served by web 2 from S3", "run by the worker",
                 "load spread over both web processes"):
        assert any(what in line for line in passed), what
    assert f"http://127.0.0.1:{web1}: " in output and f"http://127.0.0.1:{web2}: " in output
    assert "load average after:" in output
    folder = folder_of(lines)
    assert len(running) >= 6, running  # PostgreSQL, Redis, S3, two web processes, the worker (and children)
    assert not os.path.exists(folder)
    assert not [p for p in (pg, redis, s3, web1, web2) if listening(p)]
    assert marked(folder) == []
