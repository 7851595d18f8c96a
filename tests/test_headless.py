"""The core, AI and settings packages must never import Qt (DESIGN.md, rule 1)."""
from __future__ import annotations

import subprocess
import sys

import pytest

BLOCKER = """
import importlib, importlib.abc, pkgutil, sys

class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'shiboken6', 'PyQt5', 'PyQt6'):
            raise ImportError('Qt is blocked in headless packages: ' + name)
        return None

sys.meta_path.insert(0, Block())
pkg = importlib.import_module({pkg!r})
for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + '.'):
    importlib.import_module(m.name)
bad = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]
assert not bad or {pkg!r} == 'aiart_desktop.ai.backends.local', bad
print('ok')
"""


@pytest.mark.parametrize(
    "pkg", ["aiart_desktop.core", "aiart_desktop.ai", "aiart_desktop.settings"]
)
def test_package_imports_without_qt(pkg: str) -> None:
    r = subprocess.run([sys.executable, "-c", BLOCKER.format(pkg=pkg)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr


def test_blocker_really_blocks() -> None:
    code = BLOCKER.format(pkg="aiart_desktop.qt")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=120)
    assert r.returncode != 0 and "Qt is blocked" in r.stderr
