"""Settings: defaults, round trip, tolerance of bad files, atomic saves, env overrides."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from aiart_desktop import settings as st
from aiart_desktop.settings import Settings, load_settings, save_settings


@pytest.fixture
def cfg(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AIART_CONFIG_DIR", str(tmp_path / "cfg"))
    monkeypatch.setenv("AIART_DATA_DIR", str(tmp_path / "data"))
    return tmp_path


def test_env_overrides_locations(cfg: Path) -> None:
    assert st.config_dir() == cfg / "cfg"
    assert st.settings_path() == cfg / "cfg" / "settings.json"
    assert st.data_dir() == cfg / "data"
    assert st.recovery_dir() == cfg / "data" / "recovery"
    assert st.default_models_dir() == cfg / "data" / "models"


def test_default_locations_without_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AIART_CONFIG_DIR", raising=False)
    monkeypatch.delenv("AIART_DATA_DIR", raising=False)
    assert "aiart-desktop" in str(st.config_dir())
    assert "aiart-desktop" in str(st.data_dir())


def test_missing_file_gives_defaults(cfg: Path) -> None:
    s = load_settings()
    assert s == Settings()
    assert s.theme == "dark" and s.autosave_interval_s == 60 and s.undo_budget_mb == 1024
    assert s.device == "auto" and s.recent_files == []


def test_round_trip(cfg: Path) -> None:
    s = Settings(theme="light", window_geometry="AdnQywADAAA=", device="cpu", brush_size=42.5)
    s.add_recent("/a/one.ora")
    s.add_recent_color("#FF8800")
    path = save_settings(s)
    assert path == st.settings_path() and path.exists()
    assert load_settings() == s
    assert json.loads(path.read_text())["theme"] == "light"
    assert not [p for p in path.parent.iterdir() if p.name != "settings.json"]  # no temp left


@pytest.mark.parametrize("text", ["", "{not json", "[1, 2, 3]", "null", "\x00\x01garbage"])
def test_corrupt_file_gives_defaults_and_is_kept(cfg: Path, text: str) -> None:
    p = st.settings_path()
    p.parent.mkdir(parents=True)
    p.write_text(text)
    assert load_settings() == Settings()
    if text.startswith("[") or text == "null":
        return  # valid JSON of the wrong shape: nothing to keep aside
    assert (p.parent / "settings.json.corrupt").read_text() == text


def test_unknown_keys_ignored_and_bad_values_defaulted(cfg: Path) -> None:
    p = st.settings_path()
    p.parent.mkdir(parents=True)
    p.write_text(json.dumps({
        "from_the_future": 1, "theme": "purple", "device": "cuda",
        "autosave_interval_s": "soon", "undo_budget_mb": 10 ** 9, "brush_size": 0,
        "recent_files": ["/x.ora", 3, None, "/x.ora", "/y.ora"],
        "recent_colors": ["#ABCDEF", "red"], "foreground_color": "#12345",
        "new_transparent": 1, "window_state": "AAAA",
    }))
    s = load_settings()
    assert s.theme == "dark"               # not a valid choice
    assert s.device == "cuda"
    assert s.autosave_interval_s == 60     # wrong type
    assert s.undo_budget_mb == 65536       # clamped
    assert s.brush_size == 1.0             # clamped
    assert s.recent_files == ["/x.ora", "/y.ora"]
    assert s.recent_colors == ["#abcdef"]
    assert s.foreground_color == "#000000"
    assert s.new_transparent is False      # an int is not a bool
    assert s.window_state == "AAAA"


def test_add_recent_order_dedup_and_limit(tmp_path: Path) -> None:
    s = Settings()
    for i in range(15):
        s.add_recent(tmp_path / f"f{i}.ora")
    assert len(s.recent_files) == 10
    assert s.recent_files[0] == str(tmp_path / "f14.ora")
    s.add_recent(tmp_path / "f10.ora")
    assert s.recent_files[0] == str(tmp_path / "f10.ora")
    assert len(s.recent_files) == 10 and len(set(s.recent_files)) == 10
    s.remove_recent(tmp_path / "f10.ora")
    assert str(tmp_path / "f10.ora") not in s.recent_files
    with pytest.raises(ValueError):
        s.add_recent_color("blue")


def test_models_path_default(cfg: Path) -> None:
    assert Settings().models_path() == str(cfg / "data" / "models")
    assert Settings(models_dir="/m").models_path() == "/m"


def test_failed_save_keeps_previous_file(cfg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    save_settings(Settings(theme="light"))

    def boom(*a: object, **k: object) -> None:
        raise OSError("disk full")

    with monkeypatch.context() as m:
        m.setattr(os, "replace", boom)
        with pytest.raises(OSError):
            save_settings(Settings(theme="dark"))
    assert load_settings().theme == "light"
    assert [p.name for p in st.config_dir().iterdir()] == ["settings.json"]


def test_settings_package_never_imports_qt() -> None:
    code = (
        "import sys\n"
        "import aiart_desktop.settings as s\n"
        "s.load_settings()\n"
        "bad = [m for m in sys.modules if m.startswith(('PySide6', 'shiboken6'))]\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
