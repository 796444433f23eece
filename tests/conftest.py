"""Test-session set-up: the browser tests need Debian's chromium, everything else does not."""

import os
import shutil

import pytest

from dashboards.browser import CHROMIUM

BROWSER_MISSING = (
    f"no chromium at {CHROMIUM}: browser tests skipped "
    "(enable them with `sudo apt-get install chromium`, or `make test` as root)"
)


def chromium_available() -> bool:
    return shutil.which(CHROMIUM) is not None or os.access(CHROMIUM, os.X_OK)


def pytest_report_header(config):
    return None if chromium_available() else BROWSER_MISSING


def pytest_collection_modifyitems(config, items):
    """Skip only the tests that drive a real browser (they use the ``browser`` fixture)."""
    if chromium_available():
        return
    skip = pytest.mark.skip(reason=BROWSER_MISSING)
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(skip)
