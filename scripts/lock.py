"""Regenerate requirements.lock (runtime) and requirements-dev.lock (test tools) from .venv.

    .venv/bin/python scripts/lock.py

The runtime set is what pip resolves for the project's own dependencies (pyproject.toml,
`[project] dependencies`) at the versions installed in .venv; everything else installed
there is a development tool and goes to requirements-dev.lock, which includes the runtime
lock. A production install reads requirements.lock only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = "# Exact versions tested. Regenerate with: .venv/bin/python scripts/lock.py\n"


def installed() -> dict[str, str]:
    dists = {d.metadata["Name"]: d.version for d in metadata.distributions()}
    return {n: v for n, v in dists.items() if n not in {"garant", "pip", "setuptools", "wheel"}}


def runtime_names(versions: dict[str, str]) -> set[str]:
    with tempfile.TemporaryDirectory() as tmp:
        constraints = Path(tmp) / "c.txt"
        constraints.write_text("".join(f"{n}=={v}\n" for n, v in versions.items()))
        report = Path(tmp) / "r.json"
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--ignore-installed",
             "--report", str(report), "-c", str(constraints), str(ROOT)],
            check=True,
        )  # fmt: skip
        names = {i["metadata"]["name"] for i in json.loads(report.read_text())["install"]}
    return names - {"garant"}


def main() -> None:
    versions = installed()
    runtime = runtime_names(versions)
    key = str.lower
    lines = lambda names: "".join(f"{n}=={versions[n]}\n" for n in sorted(names, key=key))  # noqa: E731
    (ROOT / "requirements.lock").write_text(HEADER + lines(runtime))
    dev = set(versions) - runtime
    (ROOT / "requirements-dev.lock").write_text(
        HEADER + "# Test and development tools, on top of the runtime lock.\n"
        "-r requirements.lock\n" + lines(dev)
    )


if __name__ == "__main__":
    main()
