"""The ComfyUI server tests: the fixtures of tests/support/comfy_server.py, and which run.

Every test here is marked `comfy`. A plain `pytest` keeps only those marked
`comfy(core=True)` (a short core, under a minute); `pytest -m comfy` runs them all. Without
the server's venv (`make comfy-venv`) they skip, unless CI is set: then they fail."""
from __future__ import annotations

import pytest

from tests.support.comfy_server import (  # noqa: F401 (fixtures)
    comfy_models,
    comfy_server,
    fresh_comfy_server,
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if "comfy" in (config.getoption("markexpr") or ""):
        return
    keep, drop = [], []
    for item in items:
        mark = item.get_closest_marker("comfy")
        (drop if mark is not None and not mark.kwargs.get("core") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
