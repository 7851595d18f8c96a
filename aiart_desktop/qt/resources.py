"""Where the shipped resources (icons, brushes) live, and cached icon loading."""
from __future__ import annotations

from functools import cache

from PySide6.QtGui import QIcon

from ..settings.paths import resources_dir

__all__ = ["icon", "resources_dir"]


@cache
def icon(name: str) -> QIcon:
    """The icon `resources/icons/<name>.svg` (an empty icon when it is missing)."""
    path = resources_dir() / "icons" / f"{name}.svg"
    return QIcon(str(path)) if path.is_file() else QIcon()
