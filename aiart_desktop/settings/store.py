"""Reading and writing `settings.json`: tolerant loads, atomic saves."""
from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from .model import Settings
from .paths import settings_path

log = logging.getLogger(__name__)


def load_settings(path: str | os.PathLike[str] | None = None) -> Settings:
    """The saved settings, or defaults. Never raises.

    A missing file gives defaults. A file that cannot be read or parsed also gives defaults;
    it is kept next to the original as ``settings.json.corrupt`` so nothing is silently lost.
    """
    p = Path(path) if path is not None else settings_path()
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        return Settings()
    except (OSError, UnicodeDecodeError) as e:
        log.warning("cannot read settings file %s: %s; using defaults", p, e)
        return Settings()
    try:
        data = json.loads(text)
    except ValueError as e:
        log.warning("settings file %s is not valid JSON (%s); using defaults", p, e)
        _keep_corrupt(p)
        return Settings()
    return Settings.from_dict(data)


def save_settings(settings: Settings, path: str | os.PathLike[str] | None = None) -> Path:
    """Write `settings` atomically (`core.io.atomic`: a temporary file in the same folder, then
    a rename); returns the path.

    Raises OSError when the folder cannot be written; the previous file is then left intact.
    """
    from ..core.io.atomic import atomic_write_json  # not at import: start-up only reads

    p = Path(path) if path is not None else settings_path()
    p.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_json(p, settings.to_dict(), indent=2, sort_keys=True, ensure_ascii=False)
    return p


def _keep_corrupt(p: Path) -> None:
    try:
        os.replace(p, p.with_name(p.name + ".corrupt"))
    except OSError:
        pass
