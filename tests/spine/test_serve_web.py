"""`neurograde serve`'s web tier as a real process tree: several web processes on one
port, and overload answered at once with 503 + Retry-After (and logged)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.spine.test_cli import VENV_BIN, _children, _free_port

pytestmark = pytest.mark.slow


def _serve(tmp_path: Path, *options: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEUROGRADE_")}
    env.update(NEUROGRADE_INSTANCE_PATH=str(tmp_path), NEUROGRADE_DISABLE_PLUGIN_AUTOLOAD="1")
    server = subprocess.Popen([str(VENV_BIN / "neurograde"), "serve", "--port", str(port),
                               "--workers", "0", *options], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):
                return server, base
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise AssertionError(server.communicate()[0])


def _stop(server: subprocess.Popen) -> str:
    server.send_signal(signal.SIGTERM)
    try:
        return server.communicate(timeout=60)[0]
    finally:
        if server.poll() is None:
            server.kill()


def test_two_web_processes_answer_on_one_port(tmp_path):
    server, base = _serve(tmp_path, "--processes", "2", "--threads", "2")
    try:
        # serve -> the web tier's arbiter -> two web processes sharing its socket (the
        # first may answer before the arbiter has forked the second)
        deadline = time.monotonic() + 30
        while True:
            arbiters = [pid for pid in _children(server.pid) if len(_children(pid)) == 2]
            if arbiters or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert len(arbiters) == 1, "expected one arbiter with two web processes"
        web = _children(arbiters[0])
        for _ in range(20):
            with urllib.request.urlopen(base + "/login", timeout=10) as response:
                assert response.status == 200
    finally:
        output = _stop(server)
    assert server.returncode == 0, output
    assert "2 web process(es) × 2 threads" in output
    assert not [pid for pid in web if Path(f"/proc/{pid}").exists()]


def test_overload_is_answered_with_503_and_retry_after_and_logged(tmp_path):
    server, base = _serve(tmp_path, "--processes", "1", "--threads", "1", "--max-wait-ms", "1")
    codes: list[int] = []
    retry_after: list[str | None] = []
    lock = threading.Lock()

    def hit() -> None:
        started = time.monotonic()
        try:
            with urllib.request.urlopen(base + "/login", timeout=30) as response:
                code, retry = response.status, None
        except urllib.error.HTTPError as error:
            code, retry = error.code, error.headers.get("Retry-After")
        assert time.monotonic() - started < 20
        with lock:
            codes.append(code)
            retry_after.append(retry)

    try:
        clients = [threading.Thread(target=hit) for _ in range(40)]
        for client in clients:
            client.start()
        for client in clients:
            client.join()
    finally:
        output = _stop(server)
    assert len(codes) == 40 and set(codes) <= {200, 503}, codes
    assert 200 in codes and 503 in codes, codes
    assert all(r == "2" for code, r in zip(codes, retry_after, strict=True) if code == 503)
    assert "overloaded: answered" in output
