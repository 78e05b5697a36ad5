"""Shared by the browser tests: where chromium is, its flags, where screenshots go, signing in."""

from __future__ import annotations

import os
from pathlib import Path

CHROMIUM = os.environ.get("SALESREFUND_CHROMIUM", "/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
DEMO_TOKEN = "sr_demo_token_change_me"


def shoot(page, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=False)


def sign_in(page, token: str = DEMO_TOKEN) -> None:
    page.goto("/app/login")
    page.get_by_label("API token").fill(token)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/app/dashboard")
