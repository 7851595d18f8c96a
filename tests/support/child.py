"""Child Python processes of the tests (a writer killed mid-save, a session under strace):
they import the app and `tests.support` from this checkout through PYTHONPATH, never through
a `sys.path` edit."""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def child_env(base: dict[str, str] | None = None, **extra: str) -> dict[str, str]:
    """`base` (default: this process's environment) with the repository root first on
    PYTHONPATH, plus `extra`."""
    env = dict(os.environ if base is None else base)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH", "")) if p)
    env.update(extra)
    return env
