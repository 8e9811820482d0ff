"""The README's first command: `python3 dev.py start` serves Garant with the demo data."""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str) -> tuple[int, str]:
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers.get("Location", "")


def test_start_command_serves_home_and_login(tmp_path):
    port = free_port()
    log = open(tmp_path / "start.log", "w+")  # noqa: SIM115  (closed in finally)
    process = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "dev.py"),
            "start",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path / "data"),
        ],
        cwd=ROOT,
        env={k: v for k, v in os.environ.items() if k != "DATABASE_URL"},  # the embedded default
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 240
        while True:
            try:
                status, location = fetch(base + "/")
                break
            except OSError:
                assert process.poll() is None, (tmp_path / "start.log").read_text()
                assert time.monotonic() < deadline, "server did not start in 240 s"
                time.sleep(0.5)
        assert status == 302 and location.startswith("/connexion/")
        status, body = fetch(base + "/connexion/")
        assert status == 200
        assert "Connexion à Garant" in body
        assert '<html lang="fr">' in body
        status, css = fetch(base + "/static/garant/garant.css")
        assert status == 200 and "--brand" in css
        log.seek(0)
        output = log.read()
        assert "admin" in output and "Garant écoute sur" in output  # demo logins printed
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()
