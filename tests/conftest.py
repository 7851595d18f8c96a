"""The whole suite's fixtures and checks live in the support package, loaded as a plugin."""
from __future__ import annotations

pytest_plugins = ["tests.support.plugin"]
