"""How long a wrong password takes to be refused: for an existing user vs an unknown one.

    .venv/bin/python bench/login_timing.py [--trials 30]

A difference lets anyone find out which usernames exist (username enumeration). Both
kinds of attempt go through the real web app (`POST /login` on the test client, a
throwaway SQLite database), alternating, each from its own client address so no
throttle answers early; prints the median time of each and their ratio (target ≈ 1.0).
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from plugins.manager import get_plugin_manager  # noqa: E402
from server.app import create_app  # noqa: E402
from server.models import Base  # noqa: E402
from server.services import accounts  # noqa: E402


def _app(instance: Path):
    app = create_app({
        "INSTANCE_PATH": str(instance), "DATABASE_URL": f"sqlite:///{instance / 'bench.db'}",
        "SECRET_KEY": "bench", "EMBEDDED_WORKERS": 0, "WTF_CSRF_ENABLED": False,
        "LOAD_PLUGIN_ENTRYPOINTS": False, "LOG_LEVEL": "WARNING",
        "LOGIN_THROTTLE": {"account_free_failures": 10**6},  # measure the password check only
        "PLUGIN_MANAGER": get_plugin_manager(load_entrypoints=False)})
    state = app.extensions["neurograde"]
    Base.metadata.create_all(state.engine)
    with state.session_factory() as session:
        accounts.create_user(session, "existing", "the-right-password")
        session.commit()
    return app


def _attempt(client, username: str, address: str) -> float:
    start = time.perf_counter()
    response = client.post("/login", data={"username": username, "password": "wrong"},
                           environ_base={"REMOTE_ADDR": address})
    elapsed = time.perf_counter() - start
    if response.status_code != 401:
        raise SystemExit(f"expected 401 for {username!r}, got {response.status_code}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=30)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as tmp:
        app = _app(Path(tmp))
        client = app.test_client()
        _attempt(client, "warm-up", "198.51.100.250")  # first-request costs out of the way
        known, unknown = [], []
        for trial in range(args.trials):  # alternate, so load affects both alike
            known.append(_attempt(client, "existing", f"198.51.100.{trial % 250}"))
            unknown.append(_attempt(client, f"nobody{trial}", f"203.0.113.{trial % 250}"))
        app.extensions["neurograde"].engine.dispose()
    k, u = statistics.median(known), statistics.median(unknown)
    print(f"wrong password, existing user: median {k * 1000:.1f} ms ({args.trials} trials)")
    print(f"wrong password, unknown user:  median {u * 1000:.1f} ms ({args.trials} trials)")
    print(f"ratio existing/unknown: {k / u:.2f} (1.00 = indistinguishable)")


if __name__ == "__main__":
    main()
