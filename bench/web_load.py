"""Web tier under a class at the deadline: requests/s and latency of the pages students
refresh, beside a hello-world Flask app served the same way, measured in one run.

    .venv/bin/python bench/web_load.py [--databases sqlite,postgres] [--duration 10]
        [--clients 200] [--rate 100] [--open-duration 30] [--processes N] [--threads 8]
        [--source DIR] [--legacy]

For each database it populates a course of 300 students × 20 graded submissions over
the nine built-in assignments, starts `neurograde serve` (with one embedded grading
worker; real sandbox) and a hello-world Flask app on the same web server with the same
processes and threads, and measures:

1. closed loop with `wrk` (Debian package `wrk`) at `--clients` connections: the
   hello-world ceiling; a student's course page; the assignment and course
   leaderboards (pages) and the assignment leaderboard's JSON API; the status poll of
   a graded submission (the heaviest poll: the result is rendered); a mixed load with
   uploads through the API. Prints requests/s (2xx/3xx only), p50/p99, errors and each
   endpoint's share of the hello-world ceiling (target >= 25 %).
2. open loop with locust (`pip install -e '.[bench]'`) at a constant `--rate` requests/s
   of the mixed load: each simulated student requests one page every `users/rate`
   seconds, uploads now and then and polls the upload's status as the browser does
   (with If-None-Match) until it is graded. Prints p50/p99 per endpoint (target p99 <
   50 ms).

`--source DIR --legacy` measures another checkout (e.g. the commit before the web tier
changed) with its own code and schema, served as that version did (one waitress
process with 8 threads), for before/after figures.
PostgreSQL uses a fresh database created on the server of `--postgres-url`
(default `$NEUROGRADE_TEST_POSTGRES_URL` or postgres@127.0.0.1/test), dropped after.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve()
ROOT = HERE.parents[1]
log = logging.getLogger("web_load")

STUDENTS, PER_STUDENT = 300, 20
SECRET = "bench-web-load-secret"
COURSE = "bench"
BOARD = "mnist"  # an assignment with a metric: the richest board
UPLOAD_SLUG = "sigmoid"


# --- population (runs in a subprocess with the measured source tree first on the path) ---

def populate(url: str, instance: str) -> dict[str, Any]:
    import random
    from datetime import UTC, datetime, timedelta

    from flask import Flask
    from sqlalchemy import insert

    from server.db import make_engine, make_session_factory, upgrade_database
    from server.models import DONE, Course, CourseAssignment, Enrollment, Submission, User
    from server.services import accounts, tokens
    from server.state import load_plugins

    upgrade_database(url)
    _pm, registry = load_plugins(load_entrypoints=False)
    slugs = sorted(registry.assignments)
    rng = random.Random(17)
    engine = make_engine(url)
    now = datetime.now(UTC)
    password = accounts.hash_password("bench-password")
    with make_session_factory(engine)() as s:
        course = Course(slug=COURSE, title="Neural networks, deadline day")
        s.add(course)
        s.flush()
        cas = {slug: CourseAssignment(course_id=course.id, assignment_slug=slug, split_seed=1)
               for slug in slugs}
        s.add_all(cas.values())
        s.flush()
        s.execute(insert(User), [
            {"username": f"student{i:03d}", "name": f"Student {i}", "email": "",
             "password_hash": password, "role": "student", "pseudonym": "",
             "leaderboard_opt_out": i % 50 == 0, "created_at": now} for i in range(STUDENTS)])
        users = s.query(User).order_by(User.id).all()
        s.execute(insert(Enrollment), [{"course_id": course.id, "user_id": u.id,
                                        "role": "student", "created_at": now} for u in users])
        source = "import numpy as np\n\n" + "\n".join(
            f"def f{k}(x):\n    return np.tanh(x) * {k}\n" for k in range(40))
        rows = []
        for u in users:
            for j in range(PER_STUDENT):
                slug = slugs[(u.id + j) % len(slugs)]
                at = now - timedelta(minutes=rng.randint(10, 7 * 24 * 60))
                score = round(rng.uniform(2, 10), 2)
                metric = rng.uniform(0.8, 0.98) if slug in ("mnist", "digits") else None
                rows.append({
                    "course_assignment_id": cas[slug].id, "user_id": u.id,
                    "filename": "solution.py", "source": source, "sha256": "0" * 64,
                    "size": len(source), "submitted_at": at, "enqueued_at": at,
                    "started_at": at, "graded_at": at + timedelta(seconds=1),
                    "state": DONE, "status": "graded", "lane": 0, "attempts": 1,
                    "score": score, "max_score": 10.0, "metric_public": metric,
                    "metric_private": metric, "result": _result(rng, score, metric)})
        s.execute(insert(Submission), rows)
        me = users[7]
        _row, token = tokens.create_token(s, me, "bench")
        s.commit()
        done = s.query(Submission.id).filter(Submission.user_id == me.id).first()[0]
    engine.dispose()
    app = Flask("bench")
    app.secret_key = SECRET
    cookie = app.session_interface.get_signing_serializer(app).dumps(
        {"_user_id": me.get_id(), "_fresh": True})
    return {"cookie": f"session={cookie}", "token": token, "done_submission": done}


def _result(rng: Any, score: float, metric: float | None) -> dict[str, Any]:
    checks = [{"name": f"check_{k}", "passed": rng.random() < 0.8, "score": 1.0,
               "max_score": 1.0, "visibility": "hidden" if k % 2 else "visible",
               "message": "expected 0.9990889488055994, got 0.99908894880559 " * 2}
              for k in range(10)]
    return {"status": "graded", "score": score, "max_score": 10.0, "checks": checks,
            "stdout": "epoch 1: loss 0.25\n" * 40, "stderr": "", "duration_s": 0.4,
            "metrics": {} if metric is None else {"accuracy": metric,
                                                  "accuracy_public": metric,
                                                  "accuracy_private": metric},
            "limits": {"wall_seconds": 20, "memory_mb": 768}}


# --- servers ----------------------------------------------------------------------------

def hello_app() -> Any:
    from flask import Flask

    app = Flask("hello")

    @app.get("/")
    def hello() -> str:
        return "Hello, world!"

    return app


def serve_hello(port: int, processes: int, threads: int, legacy: bool) -> None:
    """The hello-world app on the same web server `neurograde serve` uses."""
    if legacy:
        import waitress

        waitress.serve(hello_app(), host="127.0.0.1", port=port, threads=threads)
        return
    from server.web import WebSettings, run

    run(hello_app, WebSettings.from_env(port=port, processes=processes, threads=threads))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _env(args: argparse.Namespace, instance: Path, url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEUROGRADE_")}
    env.update(NEUROGRADE_INSTANCE_PATH=str(instance), NEUROGRADE_DATABASE_URL=url,
               NEUROGRADE_SECRET_KEY=SECRET, NEUROGRADE_DISABLE_PLUGIN_AUTOLOAD="1",
               PYTHONPATH=str(args.source))
    return env


def _wait_up(url: str, proc: subprocess.Popen, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError(f"{url} did not come up")


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# --- load tools ---------------------------------------------------------------------------

def wrk(url: str, args: argparse.Namespace, headers: dict[str, str],
        script: Path | None = None) -> dict[str, float]:
    cmd = ["wrk", "-t2", f"-c{args.clients}", f"-d{args.duration}s", "--latency",
           "--timeout", "10s"]
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    if script is not None:
        cmd += ["-s", str(script)]
    out = subprocess.run(cmd + [url], capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    seconds = float(re.search(r"requests in ([\d.]+)(m?s)", out).group(1))
    if re.search(r"requests in [\d.]+ms", out):
        seconds /= 1000
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {"rps": (total - (int(bad.group(1)) if bad else 0)) / seconds,
            "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
            "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
            "non2xx": int(bad.group(1)) if bad else 0,
            "socket_errors": sum(int(x) for x in errors.groups()) if errors else 0}


def _ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


def _mixed_lua(paths: list[tuple[str, str]], token: str, tmp: Path) -> Path:
    """A wrk script cycling through the mixed load; uploads go through the API."""
    body = ('--B\\r\\nContent-Disposition: form-data; name=\\"file\\"; '
            'filename=\\"solution.py\\"\\r\\nContent-Type: text/x-python\\r\\n\\r\\n'
            'import numpy as np\\n\\ndef sigmoid(z):\\n    return 1 / (1 + np.exp(-z))\\n'
            '\\r\\n--B--\\r\\n')
    entries = ",\n".join(f'{{"{kind}", "{path}"}}' for kind, path in paths)
    script = tmp / "mixed.lua"
    script.write_text(textwrap.dedent(f"""\
        local paths = {{
        {entries}
        }}
        local i = 0
        request = function()
          i = i % #paths + 1
          local kind, path = paths[i][1], paths[i][2]
          if kind == "upload" then
            return wrk.format("POST", path, {{
              ["Authorization"] = "Bearer {token}",
              ["Content-Type"] = "multipart/form-data; boundary=B"}}, "{body}")
          elseif kind == "api" then
            return wrk.format("GET", path, {{["Authorization"] = "Bearer {token}"}})
          end
          return wrk.format("GET", path)
        end
        """))
    return script


LOCUSTFILE = '''
import random
from locust import FastHttpUser, constant_pacing, task

COOKIE, TOKEN, DONE = {cookie!r}, {token!r}, {done}
API = {{"Authorization": "Bearer " + TOKEN}}
SOURCE = b"import numpy as np\\n\\ndef sigmoid(z):\\n    return 1 / (1 + np.exp(-z))\\n"


class Student(FastHttpUser):
    wait_time = constant_pacing({pacing})

    def on_start(self):
        self.etags, self.polling = {{}}, None

    def _get(self, path, name, headers=None):
        headers = dict(headers or {{}}, Cookie=COOKIE)
        if path in self.etags:  # as a browser revalidates what it has
            headers["If-None-Match"] = self.etags[path]
        with self.client.get(path, name=name, headers=headers, catch_response=True) as r:
            if r.status_code in (200, 304):
                if r.headers.get("ETag"):
                    self.etags[path] = r.headers["ETag"]
                r.success()
            return r

    @task(15)
    def course_page(self):
        self._get("/courses/{course}/", "course page")

    @task(15)
    def assignment_board(self):
        self._get("/courses/{course}/assignments/{board}/leaderboard", "assignment leaderboard")

    @task(10)
    def assignment_board_json(self):
        self._get("/api/v1/courses/{course}/assignments/{board}/leaderboard",
                  "assignment leaderboard JSON", API)

    @task(15)
    def course_board(self):
        self._get("/courses/{course}/leaderboard", "course leaderboard")

    @task(40)
    def status_poll(self):
        target = self.polling or DONE
        r = self._get(f"/submissions/{{target}}/status", "status poll")
        if self.polling and r.status_code == 200 and r.json().get("done"):
            self.polling = None

    @task(5)
    def upload(self):
        r = self.client.post("/api/v1/courses/{course}/assignments/{upload}/submissions",
                             name="upload", headers=API,
                             files={{"file": ("solution.py", SOURCE, "text/x-python")}})
        if r.status_code == 202:
            self.polling = r.json()["id"]
'''


def locust(base: str, args: argparse.Namespace, info: dict[str, Any], tmp: Path
           ) -> dict[str, dict[str, float]]:
    users = args.rate  # one request per user per second
    script = tmp / "locustfile.py"
    script.write_text(LOCUSTFILE.format(cookie=info["cookie"], token=info["token"],
                                        done=info["done_submission"], pacing=users / args.rate,
                                        course=COURSE, board=BOARD, upload=UPLOAD_SLUG))
    prefix = tmp / "open"
    exe = shutil.which("locust") or str(Path(sys.executable).with_name("locust"))
    subprocess.run([exe, "-f", str(script), "--headless", "-u", str(users), "-r", str(users),
                    "-t", f"{args.open_duration}s", "-H", base, "--csv", str(prefix),
                    "--only-summary", "--loglevel", "WARNING"],
                   capture_output=True, text=True, check=False)
    stats = {}
    with open(f"{prefix}_stats.csv") as fh:
        for row in csv.DictReader(fh):
            count = int(row["Request Count"])
            stats[row["Name"]] = {"count": count, "failures": int(row["Failure Count"]),
                                  "rps": float(row["Requests/s"]), "p50": float(row["50%"]),
                                  "p99": float(row["99%"])}
    return stats


# --- one database -------------------------------------------------------------------------

def measure(kind: str, url: str, args: argparse.Namespace) -> None:
    tmp = Path(tempfile.mkdtemp(prefix=f"web-load-{kind}-"))
    instance = tmp / "instance"
    instance.mkdir()
    env = _env(args, instance, url)
    started = time.monotonic()
    info = json.loads(subprocess.run(
        [sys.executable, str(HERE), "_populate", url, str(instance)], env=env,
        capture_output=True, text=True, check=True).stdout.splitlines()[-1])
    log.info("%s: populated %d students × %d submissions in %.0f s", kind, STUDENTS,
             PER_STUDENT, time.monotonic() - started)
    app_port, hello_port = _free_port(), _free_port()
    sizing = [] if args.legacy else ["--processes", str(args.processes),
                                     "--threads", str(args.threads)]
    if args.legacy:
        sizing = ["--threads", str(args.threads)]
    app = subprocess.Popen([sys.executable, "-m", "server.cli", "serve", "--port",
                            str(app_port), "--workers", "1", *sizing], env=env, cwd=tmp,
                           stdout=subprocess.DEVNULL, stderr=open(tmp / "serve.log", "w"))
    hello = subprocess.Popen([sys.executable, str(HERE), "_hello", str(hello_port),
                              str(args.processes), str(args.threads),
                              "1" if args.legacy else "0"], env=env, cwd=tmp,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base, hello_base = f"http://127.0.0.1:{app_port}", f"http://127.0.0.1:{hello_port}"
        _wait_up(base + "/healthz", app)
        _wait_up(hello_base + "/", hello)
        _report_closed(kind, base, hello_base, info, args, tmp)
        _report_open(kind, base, info, args, tmp)
    finally:
        _stop(app)
        _stop(hello)
        shutil.rmtree(tmp, ignore_errors=True)


def _report_closed(kind: str, base: str, hello_base: str, info: dict[str, Any],
                   args: argparse.Namespace, tmp: Path) -> None:
    cookie = {"Cookie": info["cookie"]}
    api = {"Authorization": f"Bearer {info['token']}"}
    board = f"/courses/{COURSE}/assignments/{BOARD}/leaderboard"
    targets = [
        ("course page", f"/courses/{COURSE}/", cookie),
        ("assignment leaderboard", board, cookie),
        ("assignment leaderboard JSON", f"/api/v1{board}", api),
        ("course leaderboard", f"/courses/{COURSE}/leaderboard", cookie),
        ("status poll", f"/submissions/{info['done_submission']}/status", cookie),
    ]
    hello = wrk(hello_base + "/", args, {})
    sizing = ("legacy serve" if args.legacy
              else f"{args.processes} processes × {args.threads} threads")
    print(f"\n== {kind}: closed loop, {args.clients} clients, {args.duration} s each ({sizing})")
    print(f"{'endpoint':<30} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7} "
          f"{'of hello':>9}")
    _line("hello world", hello, hello["rps"])
    for name, path, headers in targets:
        _line(name, wrk(base + path, args, headers), hello["rps"])
    mixed = ([("page", f"/courses/{COURSE}/")] * 3 + [("page", board)] * 3
             + [("api", f"/api/v1{board}")] * 2 + [("page", f"/courses/{COURSE}/leaderboard")] * 3
             + [("page", f"/submissions/{info['done_submission']}/status")] * 8
             + [("upload", f"/api/v1/courses/{COURSE}/assignments/{UPLOAD_SLUG}/submissions")])
    script = _mixed_lua(mixed, info["token"], tmp)
    _line("mixed with uploads", wrk(base + "/", args, cookie, script), hello["rps"])


def _line(name: str, r: dict[str, float], ceiling: float) -> None:
    errors = int(r["non2xx"] + r["socket_errors"])
    print(f"{name:<30} {r['rps']:>8.0f} {r['p50']:>8.1f} {r['p99']:>8.1f} {errors:>7} "
          f"{100 * r['rps'] / ceiling:>8.1f}%", flush=True)


def _report_open(kind: str, base: str, info: dict[str, Any], args: argparse.Namespace,
                 tmp: Path) -> None:
    stats = locust(base, args, info, tmp)
    print(f"\n== {kind}: open loop, mixed load at {args.rate} requests/s for "
          f"{args.open_duration} s (locust)")
    print(f"{'endpoint':<30} {'requests':>8} {'p50 ms':>8} {'p99 ms':>8} {'failed':>7}")
    for name, r in stats.items():
        print(f"{name:<30} {r['count']:>8} {r['p50']:>8.0f} {r['p99']:>8.0f} "
              f"{r['failures']:>7}", flush=True)


# --- PostgreSQL database of the run -------------------------------------------------------

def _pg_database(admin_url: str) -> tuple[str, Any]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"web_load_{os.getpid()}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "_populate":
        logging.disable(logging.WARNING)
        print(json.dumps(populate(sys.argv[2], sys.argv[3])))
        return
    if len(sys.argv) > 1 and sys.argv[1] == "_hello":
        serve_hello(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5] == "1")
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--duration", type=int, default=10, help="seconds per closed-loop run")
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=int, default=100, help="open-loop requests/s")
    parser.add_argument("--open-duration", type=int, default=30)
    parser.add_argument("--processes", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--source", type=Path, default=ROOT,
                        help="the source tree to measure (default: this one)")
    parser.add_argument("--legacy", action="store_true",
                        help="serve as versions before the multi-process web tier did")
    parser.add_argument("--postgres-url", default=os.environ.get(
        "NEUROGRADE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    args.source = args.source.resolve()
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install wrk")
    for kind in args.databases.split(","):
        if kind == "sqlite":
            tmp = Path(tempfile.mkdtemp(prefix="web-load-db-"))
            try:
                measure(kind, f"sqlite:///{tmp / 'bench.sqlite3'}", args)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        else:
            url, drop = _pg_database(args.postgres_url)
            try:
                measure(kind, url, args)
            finally:
                drop()


if __name__ == "__main__":
    main()
