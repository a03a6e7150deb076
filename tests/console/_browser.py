"""Debian's Chromium driven by Playwright: a fresh profile, no network but this machine's."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CHROMIUM", "FLAGS", "Tab", "chromium", "playwright_running", "require_chromium"]

CHROMIUM = "/usr/bin/chromium"

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium() -> str:
    """The path of Chromium; skip without it, fail when CI requires every service."""
    path = os.environ.get("LAKESTACK_TEST_CHROMIUM", CHROMIUM)
    if shutil.which(path) is None:
        message = f"the browser tests need Chromium at {path} (`apt-get install chromium`)"
        if os.environ.get("LAKESTACK_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{message}, and LAKESTACK_REQUIRE_SERVICES=1 requires it")
        pytest.skip(message)
    return path


@dataclass
class Tab:
    """A page of the browser, with what went wrong on it since the last `clear()`."""

    page: Any
    origin: str
    errors: list[str] = field(default_factory=list)
    elsewhere: list[str] = field(default_factory=list)

    def clear(self) -> None:
        self.errors.clear()
        self.elsewhere.clear()

    def open(self, path: str) -> None:
        """Load a console page and wait until it has drawn (its title, no `Loading…`)."""
        self.page.goto(self.origin + path)
        self.page.wait_for_selector("main h1", timeout=120_000)
        self.page.wait_for_load_state("networkidle", timeout=120_000)


@contextmanager
def playwright_running() -> Iterator[Any]:
    """Playwright's driver (one per session: its synchronous API runs one event loop)."""
    from playwright.sync_api import sync_playwright

    require_chromium()
    with sync_playwright() as playwright:
        yield playwright


@contextmanager
def chromium(playwright: Any, profile: Path, origin: str) -> Iterator[Tab]:
    """One Chromium with a fresh profile folder; its tab records console errors, page errors,
    failed requests and any request that leaves `origin`."""
    context = playwright.chromium.launch_persistent_context(
        str(profile),
        executable_path=require_chromium(),
        args=FLAGS,
        headless=True,
        viewport={"width": 1300, "height": 900},
        accept_downloads=True,
    )
    try:
        page = context.new_page()
        tab = Tab(page, origin)
        page.on("console", lambda m: tab.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: tab.errors.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: tab.errors.append(f"failed: {r.url}"))

        def outside(request: Any) -> None:
            if not request.url.startswith((origin, "data:", "blob:")):
                tab.elsewhere.append(request.url)

        page.on("request", outside)
        yield tab
    finally:
        context.close()
