"""The console in Debian's chromium (playwright, never a downloaded browser):
what every browser test needs, in one place."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from infra.local_stack import LOCAL_PASSWORD  # the demo attendants' password

__all__ = ["LOCAL_PASSWORD", "chromium_path", "shoot", "sign_in"]


def chromium_path() -> str:
    found = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium")
    if not found:
        pytest.fail(
            "The console's browser test needs Debian's chromium "
            "(apt install chromium) or CHROMIUM_PATH; browsers are never downloaded."
        )
    return found


def shoot(
    page: Any, folder: Path, name: str, *, docs: Path, full_page: bool = False
) -> None:
    """A screenshot for this run; into ``docs`` too with ATENDE_UPDATE_SCREENSHOTS=1."""
    page.screenshot(path=str(folder / f"{name}.png"), full_page=full_page)
    if os.environ.get("ATENDE_UPDATE_SCREENSHOTS") == "1":
        docs.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(docs / f"{name}.png"), full_page=full_page)


def sign_in(page: Any, api: str, email: str) -> None:
    page.goto(f"{api}/console")
    page.get_by_label("E-mail").fill(email)
    page.get_by_label("Senha", exact=True).fill(LOCAL_PASSWORD)
    page.get_by_role("button", name="Entrar").click()
