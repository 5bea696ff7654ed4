"""The fake WeCom every groups test talks to."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from siyu.channels.fakes.wecom import FakeWeCom
from tests.groups.scene import CORP, SECRET


@pytest.fixture
def fake() -> Iterator[FakeWeCom]:
    with FakeWeCom({CORP: SECRET}) as server:
        yield server
