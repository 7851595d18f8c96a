"""Typed user settings stored as JSON under platformdirs (no Qt here).

Usage::

    from aiart_desktop.settings import load_settings, save_settings

    s = load_settings()          # never raises; defaults when missing or corrupt
    s.add_recent("/pictures/cat.ora")
    s.theme = "light"
    save_settings(s)             # atomic

Locations follow ``AIART_CONFIG_DIR`` / ``AIART_DATA_DIR`` when set (tests, portable installs).
"""
from __future__ import annotations

from .model import MAX_RECENT_COLORS, MAX_RECENT_FILES, Device, Settings, Theme
from .paths import (
    config_dir,
    data_dir,
    default_models_dir,
    recovery_dir,
    resources_dir,
    settings_path,
)
from .store import load_settings, save_settings

__all__ = [
    "MAX_RECENT_COLORS",
    "MAX_RECENT_FILES",
    "Device",
    "Settings",
    "Theme",
    "config_dir",
    "data_dir",
    "default_models_dir",
    "load_settings",
    "recovery_dir",
    "resources_dir",
    "save_settings",
    "settings_path",
]
