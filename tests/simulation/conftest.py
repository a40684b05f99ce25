"""The namespace pair the kernel-agreement tests send their packets through."""

from __future__ import annotations

import pytest
from realtools import netns_pair


@pytest.fixture
def pair(request):
    """A fresh pair per test (its own namespaces: nothing of a test before is left in it). The
    index spreads the tests over subnets, so a failing test's addresses say which test it was."""
    with netns_pair("wk", 60 + abs(hash(request.node.name)) % 60) as p:
        yield p
