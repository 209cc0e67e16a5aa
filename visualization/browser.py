"""Serve the app locally and drive it in Debian's Chromium: for the page tests and screenshots.

Playwright's Python package drives the system ``chromium``; ``playwright install`` is never
needed. The server binds to 127.0.0.1 only.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    """A TCP port nobody listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def served(
    app: str = "visualization/app.py",
    cwd: Path = ROOT,
    env: dict[str, str] | None = None,
    solara: Path | None = None,
) -> Iterator[str]:
    """Run ``solara run app`` on 127.0.0.1 and yield its URL; stop it on exit.

    Args:
        app: The app file, relative to ``cwd``, or a module name.
        cwd: Where the server starts.
        env: Environment variables added to this process's for the server.
        solara: The ``solara`` executable (default: the one beside this Python's).

    Raises:
        RuntimeError: If the server does not answer within a minute.
    """
    port = free_port()
    solara = solara or Path(sys.executable).with_name("solara")
    command = [str(solara), "run", app, "--host", "127.0.0.1", "--port", str(port)]
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [*command, "--production", "--no-open"],
        cwd=cwd,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if time.monotonic() > deadline or server.poll() is not None:
                log.seek(0)
                said = log.read().decode(errors="replace")[-2000:]
                raise RuntimeError(f"`{' '.join(command)}` did not serve in {cwd}:\n{said}")
            time.sleep(0.3)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


def launch(playwright):
    """Debian's Chromium, headless, through Playwright."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def watch(page) -> list[str]:
    """The page's problems as they happen: console errors, uncaught errors, failed requests.

    A request the browser aborted because the page navigated away (``net::ERR_ABORTED``, a font
    still loading when a test moves on) is not a problem of the page.
    """
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    def failed(request) -> None:
        if request.failure != "net::ERR_ABORTED":
            problems.append(f"failed request {request.url} ({request.failure})")

    page.on("requestfailed", failed)
    return problems
