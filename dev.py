#!/usr/bin/env python3
"""The two set-up commands of Garant, runnable with nothing but Python 3.11+.

    python3 dev.py start   # install, migrate, load the demo group, serve http://127.0.0.1:8000
    python3 dev.py test    # install, lint, run the whole test suite (SQLite, then PostgreSQL if up)

Each command creates or reuses `.venv/` beside this file and installs the pinned
versions of `requirements.lock` only when that file (or pyproject.toml) changed,
so running it twice is cheap. Standard library only: this file runs before any
dependency exists.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / ("python.exe" if os.name == "nt" else "python")
STAMP = VENV / ".garant-installed"
CHROMIUM = Path("/usr/bin/chromium")


def say(msg: str) -> None:
    print(f"[garant] {msg}", flush=True)


def run(cmd: list, **kw) -> int:
    return subprocess.call([str(c) for c in cmd], cwd=ROOT, **kw)


def lock_digest(*names: str) -> str:
    return hashlib.sha256(b"".join((ROOT / n).read_bytes() for n in names)).hexdigest()


def ensure_venv(dev: bool = False) -> None:
    """Install the runtime lock (`start`) or the runtime + development lock (`test`).

    `requirements.lock` holds only what production needs; `requirements-dev.lock` adds the
    test tools on top of it. A venv installed for `test` also serves `start`.
    """
    if sys.version_info < (3, 11):  # noqa: UP036  (this file may be run by an older python3)
        sys.exit("Garant needs Python 3.11 or newer.")
    if not PY.exists():
        say(f"creating the virtual environment in {VENV}")
        venv.EnvBuilder(with_pip=True).create(VENV)
    runtime = "runtime:" + lock_digest("requirements.lock", "pyproject.toml")
    development = "dev:" + lock_digest(
        "requirements.lock", "requirements-dev.lock", "pyproject.toml"
    )
    installed = STAMP.read_text().split() if STAMP.exists() else []
    if development in installed or (not dev and runtime in installed):
        return
    lock = "requirements-dev.lock" if dev else "requirements.lock"
    say(f"installing the pinned dependencies ({lock})")
    pip = [PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    if run([*pip, "-r", lock]) or run([*pip, "--no-deps", "-e", "."]):
        sys.exit("dependency installation failed")
    STAMP.write_text(f"{runtime}\n{development}\n" if dev else f"{runtime}\n")


def port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def ensure_chromium() -> bool:
    """Install Debian's chromium when missing and we may (root + apt-get)."""
    if CHROMIUM.exists():
        return True
    if hasattr(os, "geteuid") and os.geteuid() == 0 and shutil.which("apt-get"):
        say("installing Debian's chromium for the browser tests")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.call(["apt-get", "update", "-qq"], env=env)
        subprocess.call(["apt-get", "install", "-y", "-qq", "chromium"], env=env)
    return CHROMIUM.exists()


def cmd_start(args: argparse.Namespace) -> int:
    ensure_venv()
    env = dict(os.environ)
    if args.data_dir:
        env["GARANT_DATA_DIR"] = args.data_dir
    garant = [PY, "-m", "garant"]
    if run([*garant, "migrate", "--no-input", "-v", "0"], env=env):
        return 1
    if run([*garant, "demo", "--if-empty"], env=env):
        return 1
    return run([*garant, "serve", "--host", args.host, "--port", str(args.port)], env=env)


def duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def workers(pytest_args: list) -> list:
    """pytest-xdist options: one worker per core (at most 4), files kept whole on a worker
    (each worker builds the shared test data once per run of tests using it); none when the
    caller chose (-n, -p no:xdist) or when there is a single core."""
    chosen = {"-n", "--numprocesses", "--dist", "no:xdist"}
    if any(a in chosen or a.startswith(("-n", "--numprocesses=")) for a in pytest_args):
        return []
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    n = min(cores or 1, 4)
    return ["-n", str(n), "--dist", "loadfile"] if n > 1 else []


def run_pytest(pytest: list, env: dict, where: str) -> int:
    code = run(pytest, env=env)
    if code == 5:  # pytest's "no tests collected": a typo in -k must not look like success
        say(f"no test was collected on {where} (pytest exit code 5): check the arguments")
    elif code != 0:
        say(f"tests failed on {where} (pytest exit code {code})")
    return code


def cmd_test(args: argparse.Namespace) -> int:
    started = time.monotonic()
    phases: dict[str, float] = {}
    code = 1
    try:
        code = _test(args, phases)
        return code
    finally:
        parts = ", ".join(f"{name} {duration(t)}" for name, t in phases.items())
        verdict = "finished" if code == 0 else f"FAILED (exit code {code})"
        say(
            f"test command {verdict} in {duration(time.monotonic() - started)}"
            + (f" ({parts})" if parts else "")
        )


def _test(args: argparse.Namespace, phases: dict[str, float]) -> int:
    def timed(name, step):
        start = time.monotonic()
        try:
            return step()
        finally:
            phases[name] = time.monotonic() - start

    ensure_venv(dev=True)
    say("ruff (lint + format)")
    if run([PY, "-m", "ruff", "check", "."]) or run([PY, "-m", "ruff", "format", "--check", "."]):
        return 1
    if run([BIN / "lint-imports", "--no-logo"]):  # the layers: pyproject.toml [tool.importlinter]
        return 1
    browser = ensure_chromium()
    if not browser:
        say("no /usr/bin/chromium and no way to install it: browser tests will be skipped")
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env["GARANT_DATA_DIR"] = tempfile.mkdtemp(prefix="garant-test-")
    pytest = [PY, "-m", "pytest", "--durations=15", *workers(args.pytest_args), *args.pytest_args]
    say("test suite on SQLite")
    code = timed("SQLite", lambda: run_pytest(pytest, env, "SQLite"))
    if code != 0:
        return code
    if port_open("127.0.0.1", 5432):
        say("test suite on PostgreSQL (127.0.0.1:5432)")
        pg = {**env, "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/garant"}
        code = timed("PostgreSQL", lambda: run_pytest(pytest, pg, "PostgreSQL"))
    else:
        say("PostgreSQL not reachable on 127.0.0.1:5432: skipped")
    return code


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    start = sub.add_parser("start", help="serve Garant with the demo data on http://127.0.0.1:8000")
    start.add_argument("--host", default="127.0.0.1")
    start.add_argument("--port", type=int, default=8000)
    start.add_argument("--data-dir", help="where the SQLite file and uploads live (default ./data)")
    start.set_defaults(func=cmd_start)
    test = sub.add_parser("test", help="lint and run the whole test suite")
    test.set_defaults(func=cmd_test)
    args, extra = parser.parse_known_args()
    if extra and args.command != "test":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    args.pytest_args = extra  # anything else goes to pytest: python3 dev.py test -k audit
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
