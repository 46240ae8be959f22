"""The browser of the Playwright tests: Debian's chromium, headless (skipped when it is not installed)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """One chromium per test module: each test opens its own pages (and with them a fresh browser context,
    so no cookies or storage carry over), and starting chromium costs more than most of these tests."""
    if not Path(CHROMIUM).exists() and not shutil.which("chromium"):
        pytest.skip("Debian chromium is not installed: run `make browser-deps`")
    from playwright.sync_api import expect, sync_playwright

    # expect() polls until its condition holds; only a failing check waits the whole bound. Its 5 s default
    # failed a passing check on a loaded 2-core machine (the suite runs one pytest-xdist worker per core),
    # so it gets the 30 s that Playwright's own actions (click, goto) already wait.
    expect.set_options(timeout=30_000)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def screenshots(tmp_path: Path) -> Path:
    """Where a test saves its screenshots: ``$PAPERTIDE_SCREENSHOT_DIR`` when set, else its tmp dir."""
    folder = Path(os.environ.get("PAPERTIDE_SCREENSHOT_DIR") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder
