"""Injected rename failures: os.replace raises ENOSPC for this test's temporary files only."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest


def fail_renames(monkeypatch: pytest.MonkeyPatch, within: Path, hit: str = ".aiart-",
                 suffix: str = "") -> list[str]:
    """os.replace raises ENOSPC when its source is under `within` (this test's folder: a
    background write of an earlier test goes through) and its name contains `hit` (by
    default: core.io.atomic's temporary names) and ends in `suffix`; other renames go
    through. The list collects the failed sources: it proves the write went through there."""
    calls: list[str] = []
    real = os.replace
    inside = os.fspath(within.resolve()) + os.sep

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        path = os.path.abspath(os.fspath(src))
        name = os.path.basename(path)
        if hit in name and name.endswith(suffix) and os.path.realpath(path).startswith(inside):
            calls.append(os.fspath(src))
            raise OSError(errno.ENOSPC, "No space left on device (injected)")
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    return calls
