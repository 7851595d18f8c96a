"""Where AIArt Desktop keeps its files: config, data, recovery, models.

Every location can be redirected with an environment variable, which is how tests (and
portable installs) keep their files out of the user's real folders:

- ``AIART_CONFIG_DIR``: settings (default: ``platformdirs.user_config_dir("aiart-desktop")``)
- ``AIART_DATA_DIR``: autosaves, downloaded models, caches
  (default: ``platformdirs.user_data_dir("aiart-desktop")``)

The functions only compute paths; callers create the folders they write into.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import platformdirs

APP_NAME = "aiart-desktop"
CONFIG_ENV = "AIART_CONFIG_DIR"
DATA_ENV = "AIART_DATA_DIR"
SETTINGS_FILE = "settings.json"


def _from_env(name: str) -> Path | None:
    value = os.environ.get(name, "").strip()
    return Path(value).expanduser() if value else None


def config_dir() -> Path:
    """Folder holding ``settings.json``."""
    return _from_env(CONFIG_ENV) or Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def data_dir() -> Path:
    """Folder for autosaves, models and other per-user data."""
    return _from_env(DATA_ENV) or Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def settings_path() -> Path:
    return config_dir() / SETTINGS_FILE


def recovery_dir() -> Path:
    """Folder where autosaves of open documents live until they are saved or discarded."""
    return data_dir() / "recovery"


def default_models_dir() -> Path:
    """Where models go when the user has not chosen a folder (``Settings.models_dir``)."""
    return data_dir() / "models"


def styles_dir() -> Path:
    """The user's own style pictures for style transfer, with their index and thumbnails."""
    return data_dir() / "styles"


def resources_dir() -> Path:
    """The shipped `resources/` folder: $AIART_RESOURCES, a frozen bundle, or the checkout."""
    env = _from_env("AIART_RESOURCES")
    if env is not None:
        return env
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"
