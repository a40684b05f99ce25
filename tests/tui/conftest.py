"""Every app in these tests runs without animations: the tab bar's underline slides to the tab
chosen, and on a loaded machine a snapshot could catch it on the way (a flaky snapshot)."""

from __future__ import annotations

import pytest
from textual import constants


@pytest.fixture(autouse=True)
def no_animations(monkeypatch):
    monkeypatch.setattr(constants, "TEXTUAL_ANIMATIONS", "none")
