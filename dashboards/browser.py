"""Serving the dashboard on loopback and opening it in headless Chromium: for tests and screenshots.

``python -m dashboards.browser`` saves a screenshot of every page into ``docs/img/``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PAGES = {
    "live": "/",
    "what-if": "/what-if",
    "dose-response": "/dose-response",
    "sensitivity": "/sensitivity",
    "about": "/about",
}
PHONE = {"live-phone": "/"}  # pictures at a phone's width too
SCREEN_WIDTH, PHONE_SIZE = 1400, (390, 844)  # px
PLAY_SECONDS = {"live": 12}  # let the live model run a while before the picture
RUN_BUTTONS = {"what-if": "Run comparison", "dose-response": "Draw the curves"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_command(host: str, port: int) -> list[str]:
    """``solara run`` for the app, without Solara's version check."""
    return [
        sys.executable,
        "-m",
        "solara",
        "run",
        str(REPOSITORY / "dashboards" / "app.py"),
        "--host",
        host,
        "--port",
        str(port),
        "--no-open",
        "--no-check-version",
    ]


def serve_environment() -> dict[str, str]:
    """The environment for the server: the repository importable, Solara's telemetry off."""
    return {
        **os.environ,
        "PYTHONPATH": str(REPOSITORY),
        "SOLARA_TELEMETRY_MIXPANEL_ENABLE": "False",
    }


@contextmanager
def dashboard_server(
    timeout: float = 60.0, environment: dict[str, str] | None = None, log: Path | None = None
):
    """Start the app on a free loopback port; yield its URL; stop it afterwards.

    ``environment`` is added to the server's (e.g. a results root or a scratch folder a test
    watches); ``log`` receives the server's output, so a test can read its tracebacks.
    """
    port = free_port()
    with open(log or os.devnull, "wb") as output:
        process = subprocess.Popen(
            serve_command("127.0.0.1", port),
            cwd=REPOSITORY,
            env={**serve_environment(), **(environment or {})},
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.time() + timeout
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    if time.time() > deadline or process.poll() is not None:
                        raise RuntimeError("the dashboard server did not start") from None
                    time.sleep(0.5)
            yield f"http://127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=20)


@contextmanager
def headless_chromium():
    """Debian's Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def open_page(browser, url: str, size: tuple[int, int] = (1500, 1500)):
    """A page of ``size`` (px) with a list collecting every console error and uncaught
    exception."""
    page = browser.new_page(viewport={"width": size[0], "height": size[1]})
    errors: list[str] = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(url)
    return page, errors


def save_screenshots(
    folder: Path = REPOSITORY / "docs" / "img", settle_ms: int = 8000
) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    saved = []
    with dashboard_server() as url, headless_chromium() as browser:
        for name, path in (PAGES | PHONE).items():
            size = PHONE_SIZE if name in PHONE else (SCREEN_WIDTH, 1000)
            page, _ = open_page(browser, url + path, size)
            page.wait_for_timeout(settle_ms)
            if name in PLAY_SECONDS:
                page.get_by_role("button", name="▶").click()
                page.wait_for_timeout(1000 * PLAY_SECONDS[name])
                page.get_by_role("button", name="❚❚").click()
                page.wait_for_timeout(3000)
            if name in RUN_BUTTONS:
                page.get_by_role("button", name=RUN_BUTTONS[name]).click()
                page.locator("img").first.wait_for(timeout=180_000)
                page.wait_for_timeout(2000)
            target = folder / f"dashboard-{name}.png"
            page.screenshot(path=str(target), full_page=True)
            saved.append(target)
    return saved


if __name__ == "__main__":
    for path in save_screenshots():
        print(path)
