"""Browser tests: one headless Chromium per session, driven by Playwright.

Chromium is the system's (`/usr/bin/chromium`, or `CHROMIUM_PATH`); `playwright install` is never
needed. Without a browser the tests are skipped, except under `CI=true`, where they fail.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import service_missing

ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def chromium_path() -> str | None:
    """The Chromium executable, or None."""
    configured = os.environ.get("CHROMIUM_PATH")
    if configured:
        return configured if Path(configured).is_file() else None
    for name in ("/usr/bin/chromium", "/usr/bin/chromium-browser"):
        if Path(name).is_file():
            return name
    return shutil.which("chromium")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium shared by every browser test of the session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing("Playwright", "the playwright package is not installed")
    executable = chromium_path()
    if executable is None:
        service_missing("Chromium", "no chromium executable (apt-get install chromium)")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
    except Exception as exc:  # noqa: BLE001
        playwright.stop()
        service_missing("Chromium", f"it did not start ({type(exc).__name__})")
    yield chromium
    chromium.close()
    playwright.stop()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """Where browser tests save screenshots (git ignores it)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
