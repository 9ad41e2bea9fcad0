"""Grading throughput with 1 and 2 worker processes, and upload-to-graded latency.

    .venv/bin/python bench/throughput.py [--jobs 24] [--repeats 3] [--trials 15]
                                         [--database-url URL]

1. Throughput: a batch of reference submissions of `sigmoid` and `backprop-2-2-1`
   is graded by the real engine in the real sandbox by 1, then 2 worker processes
   (started and warmed up before the clock starts), alternating `--repeats` times;
   prints jobs/s, the ratio 2-worker/1-worker (target >= 1.9 on 2 free cores) and,
   measured at the same time, how much 2 processes of pure CPU gain on this machine
   (the ceiling when other processes compete for the cores).
2. Latency: a trivial correct `sigmoid` submission is uploaded through the HTTP API
   (`POST /api/v1/courses/<course>/assignments/sigmoid/submissions`) to a served app
   with one idle embedded worker; prints the median time from upload to the job
   starting and to the graded result being visible through the API.

Uses a throwaway SQLite database unless `--database-url` names another database
(its tables are created; use an empty database or schema).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select  # noqa: E402

from server.db import make_engine, make_session_factory  # noqa: E402
from server.models import DONE, Base, Course, CourseAssignment, Submission, User  # noqa: E402
from server.runtime.queue import notify_new_job  # noqa: E402
from server.runtime.worker import start_embedded_workers  # noqa: E402
from server.state import build_state  # noqa: E402

SLUGS = ("sigmoid", "backprop-2-2-1")


def _config(instance: Path, url: str) -> dict[str, Any]:
    return {"INSTANCE_PATH": str(instance), "DATABASE_URL": url, "SECRET_KEY": "bench",
            "EMBEDDED_WORKERS": 0, "LOAD_PLUGIN_ENTRYPOINTS": False, "LOG_LEVEL": "WARNING",
            "WTF_CSRF_ENABLED": False, "POLL_SECONDS": 0.05 if url.startswith("sqlite") else 0.5}


class Batch:
    """Course assignments of the benchmark and helpers to enqueue and wait for jobs."""

    def __init__(self, config: dict[str, Any]) -> None:
        state = build_state(config)
        self.registry = state.registry
        self.engine = make_engine(config["DATABASE_URL"])
        Base.metadata.create_all(self.engine)
        self.sessions = make_session_factory(self.engine)
        tag = uuid.uuid4().hex[:8]
        with self.sessions() as s:
            course = Course(slug=f"bench-{tag}", title="Benchmark")
            user = User(username=f"bench-{tag}", password_hash="-", pseudonym=f"bench-{tag}")
            s.add_all([course, user])
            s.flush()
            self.cas = {}
            for slug in SLUGS:
                ca = CourseAssignment(course_id=course.id, assignment_slug=slug, split_seed=1)
                s.add(ca)
                s.flush()
                self.cas[slug] = ca.id
            self.user_id = user.id
            s.commit()
        self.sources = {slug: self.registry.assignment(slug).reference_path.read_text()
                        for slug in SLUGS}

    def enqueue(self, count: int) -> list[int]:
        rows = []
        for i in range(count):
            slug = SLUGS[i % len(SLUGS)]
            src = self.sources[slug]
            rows.append(dict(course_assignment_id=self.cas[slug], user_id=self.user_id,
                             filename="solution.py", source=src, sha256="-", size=len(src)))
        with self.sessions() as s:
            ids = list(s.scalars(insert(Submission).returning(Submission.id), rows))
            notify_new_job(s)
            s.commit()
        return ids

    def wait(self, ids: list[int], timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.sessions() as s:
                done = s.scalar(select(func.count()).where(
                    Submission.id.in_(ids), Submission.state == DONE))
            if done == len(ids):
                return
            time.sleep(0.02)
        raise RuntimeError(f"{len(ids)} jobs not graded within {timeout}s")

    def warm_up(self, workers: int, timeout: float = 120) -> None:
        """Until every worker process has graded a job (started, imports done)."""
        deadline = time.monotonic() + timeout
        seen: set[str] = set()
        while len(seen) < workers:
            if time.monotonic() > deadline:
                raise RuntimeError(f"only {len(seen)} of {workers} workers came up")
            ids = self.enqueue(workers)
            self.wait(ids)
            with self.sessions() as s:
                seen |= set(s.scalars(select(Submission.worker_id).where(
                    Submission.id.in_(ids))))

    def statuses(self, ids: list[int]) -> dict[str, int]:
        with self.sessions() as s:
            return dict(s.execute(select(Submission.status, func.count())
                                  .where(Submission.id.in_(ids))
                                  .group_by(Submission.status)).all())


def throughput(config: dict[str, Any], batch: Batch, workers: int, jobs: int) -> float:
    pool = start_embedded_workers(config, workers)
    try:
        batch.warm_up(workers)
        ids = batch.enqueue(jobs)
        started = time.perf_counter()
        batch.wait(ids)
        elapsed = time.perf_counter() - started
    finally:
        pool.stop(grace_seconds=30)
    statuses = batch.statuses(ids)
    if statuses != {"graded": jobs}:
        raise RuntimeError(f"reference submissions did not all grade: {statuses}")
    return jobs / elapsed


def _spin(n: int, go: Any = None, done: Any = None) -> None:
    if go is not None:
        go.wait()
    total = 0
    for i in range(n):
        total += i
    if done is not None:
        done.put(time.perf_counter())


def cpu_parallelism(n: int = 8_000_000) -> float:
    """How much faster 2 processes burn pure CPU than 1, right now on this machine: the
    ceiling for the 2-worker ratio when other processes compete for the cores."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    go, done = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_spin, args=(n, go, done)) for _ in range(2)]
    for proc in procs:
        proc.start()
    time.sleep(2.0)  # let both children finish importing before the clock starts
    started = time.perf_counter()
    _spin(n)
    one = time.perf_counter() - started
    started = time.perf_counter()
    go.set()
    two = max(done.get(timeout=120) for _ in procs) - started
    for proc in procs:
        proc.join()
    return 2 * one / two


def latency(config: dict[str, Any], trials: int) -> tuple[list[float], list[float]]:
    """Upload through the HTTP API, poll the API until graded; (to start, to graded) in s."""
    import waitress

    from server.app import create_app
    from server.services import accounts, courses, tokens

    app = create_app(config)
    state = app.extensions["neurograde"]
    Base.metadata.create_all(state.engine)
    tag = uuid.uuid4().hex[:8]
    with state.session_factory() as s:
        course = courses.create_course(s, f"lat-{tag}", "Latency")
        user = accounts.create_user(s, f"student-{tag}", "password")
        accounts.enroll(s, user, course)
        courses.enable_assignment(s, state.registry, course, "sigmoid")
        _row, token = tokens.create_token(s, user, "bench")
        s.commit()
        course_slug = course.slug
    server = waitress.create_server(app, host="127.0.0.1", port=0, threads=4)
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{server.effective_port}/api/v1"
    source = state.registry.assignment("sigmoid").reference_path.read_bytes()
    pool = start_embedded_workers(config, 1)
    to_start, to_graded = [], []
    try:
        for trial in range(trials + 1):
            time.sleep(0.25)  # the worker is idle; arrive at any point of its poll cycle
            t0 = time.perf_counter()
            sid = _upload(f"{base}/courses/{course_slug}/assignments/sigmoid/submissions",
                          token, source)
            body = _poll(f"{base}/submissions/{sid}", token)
            if trial == 0:
                continue  # the first job also waits for the worker process to start
            to_graded.append(time.perf_counter() - t0)
            with state.session_factory() as s:
                row = s.get(Submission, sid)
                to_start.append((row.started_at.replace(tzinfo=None)
                                 - row.submitted_at.replace(tzinfo=None)).total_seconds())
            if body["status"] != "graded":
                raise RuntimeError(f"trivial submission not graded: {body['status']}")
    finally:
        pool.stop(grace_seconds=30)
        server.close()
    return to_start, to_graded


def _upload(url: str, token: str, source: bytes) -> int:
    boundary = uuid.uuid4().hex
    data = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; "
            f"filename=\"solution.py\"\r\nContent-Type: text/x-python\r\n\r\n").encode() + \
        source + f"\r\n--{boundary}--\r\n".encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Authorization": f"Bearer {token}",
        "Content-Type": f"multipart/form-data; boundary={boundary}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["id"]


def _poll(url: str, token: str, timeout: float = 120) -> dict[str, Any]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.load(response)
        if body["state"] == DONE:
            return body
        time.sleep(0.01)
    raise RuntimeError(f"{url} not graded within {timeout}s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=24, help="jobs per throughput run")
    parser.add_argument("--trials", type=int, default=15, help="latency uploads")
    parser.add_argument("--repeats", type=int, default=3, help="1-vs-2 worker comparisons")
    parser.add_argument("--database-url", help="default: a throwaway SQLite file")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory(prefix="neurograde-bench-") as tmp:
        instance = Path(tmp) / "instance"
        url = args.database_url or f"sqlite:///{instance / 'bench.sqlite3'}"
        instance.mkdir()
        os.environ["NEUROGRADE_INSTANCE_PATH"] = str(instance)
        config = _config(instance, url)
        print(f"cores available: {len(os.sched_getaffinity(0))} (load average "
              f"{os.getloadavg()[0]:.1f} before the run: other processes compete for them); "
              "database: "
              f"{url.split(':', 1)[0]}; batch: {args.jobs} reference submissions of "
              f"{' + '.join(SLUGS)}, real engine and sandbox")
        batch = Batch(config)
        ratios, ceilings = [], []
        for repeat in range(1, args.repeats + 1):
            # alternate 1 and 2 workers so a change in the machine's load hits both
            one = throughput(config, batch, 1, args.jobs)
            two = throughput(config, batch, 2, args.jobs)
            ratios.append(two / one)
            ceilings.append(cpu_parallelism())
            print(f"run {repeat}: 1 worker {one:5.2f} jobs/s, 2 workers {two:5.2f} jobs/s, "
                  f"ratio {two / one:.2f} (pure-CPU ratio of 2 processes now: "
                  f"{ceilings[-1]:.2f})")
        print(f"ratio 2/1, median of {len(ratios)}: {statistics.median(ratios):.2f} "
              f"(target >= 1.9; pure-CPU ceiling {statistics.median(ceilings):.2f})")
        to_start, to_graded = latency(config, args.trials)
        print(f"upload -> job started  (HTTP API, idle worker), median of {len(to_start)}: "
              f"{statistics.median(to_start) * 1000:.0f} ms (target < 200 ms)")
        print(f"upload -> graded result (HTTP API, sigmoid), median of {len(to_graded)}: "
              f"{statistics.median(to_graded) * 1000:.0f} ms (target < 100 ms; workers keep "
              "a pre-started child, NEUROGRADE_WARM_POOL)")


if __name__ == "__main__":
    main()
