"""Headless code really imports without Qt, and importing it does not load torch.

The import contracts (tests/test_layering.py, `lint-imports` in `make test`) read the source;
this imports every module for real in a fresh interpreter with Qt blocked, so it also sees what
the source cannot show: imports by computed name (`importlib.import_module`), and whether the
torch / diffusers / transformers imports in the local backend are really lazy (DESIGN.md rules 1
and 5: start-up and the UI thread never pay for them).
"""
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
for name in {names!r}:
    pkg = importlib.import_module(name)
    for m in pkgutil.walk_packages(getattr(pkg, '__path__', []), name + '.'):
        importlib.import_module(m.name)
bad = [m for m in ('torch', 'diffusers', 'transformers') if m in sys.modules]
assert not bad, 'importing ' + repr({names!r}) + ' loaded ' + repr(bad)
print('ok')
"""

# The top-level modules that must stay headless (the CLI, and what start-up runs before Qt).
TOP_LEVEL = ["aiart_desktop.cli", "aiart_desktop.gpu_accel", "aiart_desktop.licences",
             "aiart_desktop.privacy", "aiart_desktop.logs"]


def _import_all(names: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", BLOCKER.format(names=names)],
                          capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize(
    "names", [["aiart_desktop.core"], ["aiart_desktop.ai"], ["aiart_desktop.settings"],
              TOP_LEVEL], ids=["core", "ai", "settings", "top-level"]
)
def test_imports_without_qt_or_torch(names: list[str]) -> None:
    r = _import_all(names)
    assert r.returncode == 0 and r.stdout.strip().endswith("ok"), r.stderr


def test_blocker_really_blocks() -> None:
    r = _import_all(["aiart_desktop.qt"])
    assert r.returncode != 0 and "Qt is blocked" in r.stderr


def test_torch_check_really_checks() -> None:
    r = _import_all(["aiart_desktop.privacy", "torch.version"])  # a module: no walk
    assert r.returncode != 0 and "loaded ['torch']" in r.stderr
