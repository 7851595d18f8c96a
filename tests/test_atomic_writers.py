"""The settings file and the GPU build (its folder and state.json) are written through
core/io/atomic.py: a failure at the rename leaves what was there and nothing else behind."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from aiart_desktop import gpu_accel as ga
from aiart_desktop.settings import Settings, load_settings, save_settings
from tests.support.renames import fail_renames

FAKE_PIP = """
import os, sys
target = sys.argv[sys.argv.index("--target") + 1]
os.makedirs(os.path.join(target, "torch"))
with open(os.path.join(target, "torch", "__init__.py"), "w") as f:
    f.write("__version__ = %r\\n" % sys.argv[1])
print("Successfully installed torch", flush=True)
"""


def tree(folder: Path) -> dict[str, bytes | None]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


def test_settings_keep_their_file_when_the_rename_fails(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    path = tmp_path / "cfg" / "settings.json"
    save_settings(Settings(theme="light"), path)
    before = tree(path.parent)
    calls = fail_renames(monkeypatch, tmp_path)
    with pytest.raises(OSError, match="No space left"):
        save_settings(Settings(theme="dark"), path)
    assert len(calls) == 1 and tree(path.parent) == before
    assert load_settings(path).theme == "light"


def plan(root: Path, version: str) -> ga.InstallPlan:
    script = root.parent / "fake_pip.py"
    script.write_text(FAKE_PIP)
    b = ga.Backend("cu128", "NVIDIA CUDA 12.8", "https://download.pytorch.org/whl/cu128", 1, 2)
    staging = root / "cu128.partial"
    return ga.InstallPlan(b, root / "cu128", staging,
                          [sys.executable, str(script), version, "--target", str(staging)],
                          "pip")


def works(version: str) -> dict[str, Any]:
    return {"ok": True, "version": version, "device": "Fake RTX"}


def test_gpu_reinstall_keeps_the_working_build_when_a_rename_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    root = tmp_path / "gpu-torch"
    first = ga.run_install(plan(root, "1.0"), verify_fn=lambda _f: works("1.0"))
    assert first.ok, first.message
    before = tree(root)
    assert before["cu128/torch/__init__.py"] == b"__version__ = '1.0'\n"
    # The new build cannot be renamed into place: the old one, set aside, is put back.
    calls = fail_renames(monkeypatch, tmp_path, "cu128.partial")
    result = ga.run_install(plan(root, "2.0"), verify_fn=lambda _f: works("2.0"))
    assert not result.ok and "nothing was changed" in result.message and len(calls) == 1
    assert tree(root) == before
    monkeypatch.undo()
    # The build is in place but state.json cannot be written: the old record stays whole.
    calls = fail_renames(monkeypatch, tmp_path)
    result = ga.run_install(plan(root, "3.0"), verify_fn=lambda _f: works("3.0"))
    assert not result.ok and "could not be recorded" in result.message
    assert len(calls) == 1 and calls[0].endswith(".tmp")
    assert (root / "state.json").read_bytes() == before["state.json"]
    assert sorted(tree(root)) == sorted(before)  # no temporary file or folder left
    assert (root / "cu128" / "torch" / "__init__.py").read_text() == "__version__ = '3.0'\n"
    monkeypatch.undo()
    assert json.loads((root / "state.json").read_text())["torch_version"] == "1.0"
    again = ga.run_install(plan(root, "4.0"), verify_fn=lambda _f: works("4.0"))
    assert again.ok and ga.read_state(root)["torch_version"] == "4.0"
    assert sorted(p.name for p in root.iterdir()) == ["cu128", "state.json"]
