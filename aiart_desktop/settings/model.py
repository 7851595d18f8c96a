"""The `Settings` record: every user preference, typed, with defaults and validation.

`Settings.from_dict` accepts anything JSON can hold and never raises: unknown keys are ignored,
values of the wrong type or out of range fall back to the field's default (numbers are clamped
to their range), so a hand-edited or half-written file can never stop the program starting.
"""
from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

from .paths import default_models_dir

SCHEMA_VERSION = 1
MAX_RECENT_FILES = 10
MAX_RECENT_COLORS = 12

Theme = Literal["dark", "light"]
Device = Literal["auto", "cuda", "mps", "cpu"]

# Allowed values for string fields that are really enums.
CHOICES: dict[str, tuple[str, ...]] = {
    "theme": ("dark", "light"),
    "device": ("auto", "cuda", "mps", "cpu"),
}
# Inclusive ranges for numeric fields.
RANGES: dict[str, tuple[float, float]] = {
    "autosave_interval_s": (10, 3600),
    "undo_budget_mb": (64, 65536),
    "brush_size": (1.0, 5000.0),
    "brush_hardness": (0.0, 1.0),
    "brush_opacity": (0.0, 1.0),
    "brush_flow": (0.0, 1.0),
    "brush_spacing": (0.01, 5.0),
    "brush_smoothing": (0.0, 1.0),
    "new_width": (1, 32768),
    "new_height": (1, 32768),
}
_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")
_COLOR_FIELDS = ("foreground_color", "background_color")


@dataclass
class Settings:
    version: int = SCHEMA_VERSION
    # Files and window
    recent_files: list[str] = field(default_factory=list)  # most recent first
    last_dir: str = ""
    window_geometry: str = ""  # base64 of QWidget.saveGeometry()
    window_state: str = ""     # base64 of QMainWindow.saveState()
    theme: Theme = "dark"
    # Safety
    autosave_interval_s: int = 60
    undo_budget_mb: int = 1024
    # Painting
    last_brush: str = "Hard round"
    brush_size: float = 20.0
    brush_hardness: float = 0.8
    brush_opacity: float = 1.0
    brush_flow: float = 1.0
    brush_spacing: float = 0.1
    brush_smoothing: float = 0.0
    foreground_color: str = "#000000"
    background_color: str = "#ffffff"
    recent_colors: list[str] = field(default_factory=list)  # "#rrggbb", most recent first
    # New document dialog
    new_width: int = 2048
    new_height: int = 2048
    new_transparent: bool = False
    # AI
    device: Device = "auto"
    models_dir: str = ""  # empty: `paths.default_models_dir()`
    allow_pickle_checkpoints: bool = False
    last_model: str = ""
    torch_compile: bool = False  # torch.compile the UNet at load (CUDA only; slow first frame)
    # ComfyUI servers the remote models run on (URLs; ai/backends/comfy.py). None set: nothing
    # connects anywhere. `comfy_token_servers`: those of them with a bearer token stored (the
    # token itself never in settings: settings/tokens.py keeps it in a file only the user reads).
    comfy_servers: list[str] = field(default_factory=list)
    comfy_token_servers: list[str] = field(default_factory=list)
    # The servers listed in Settings › Where AI runs while "This computer" is chosen (then
    # `comfy_servers` is empty: nothing connects), so switching back needs no retyping.
    comfy_servers_listed: list[str] = field(default_factory=list)
    # Plain-http servers on another machine the user agreed to send pictures to unencrypted.
    comfy_plain_http_ok: list[str] = field(default_factory=list)
    # C2PA: sign exported PNGs with the user's own certificate chain and key (PEM files)
    c2pa_cert: str = ""
    c2pa_key: str = ""
    c2pa_sign: bool = True     # embed a manifest when a certificate is set

    # ---- helpers ---------------------------------------------------------------------------
    def add_recent(self, path: str | os.PathLike[str]) -> None:
        """Put `path` at the front of the recent files (absolute, no duplicates, at most 10)."""
        p = os.path.abspath(os.fspath(path))
        key = os.path.normcase(p)
        rest = [r for r in self.recent_files if os.path.normcase(r) != key]
        self.recent_files = [p, *rest][:MAX_RECENT_FILES]

    def remove_recent(self, path: str | os.PathLike[str]) -> None:
        key = os.path.normcase(os.path.abspath(os.fspath(path)))
        self.recent_files = [r for r in self.recent_files if os.path.normcase(r) != key]

    def add_recent_color(self, hex_color: str) -> None:
        """Put a ``#rrggbb`` colour at the front of the recent colours (at most 12)."""
        if not _HEX.match(hex_color):
            raise ValueError(f"not a #rrggbb colour: {hex_color!r}")
        c = hex_color.lower()
        self.recent_colors = [c, *[r for r in self.recent_colors if r != c]][:MAX_RECENT_COLORS]

    def models_path(self) -> str:
        """The models folder to use: the user's choice or the default one."""
        return self.models_dir or str(default_models_dir())

    # ---- (de)serialisation -----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> Settings:
        """Build settings from parsed JSON, keeping every valid value and defaulting the rest."""
        out = cls()
        if not isinstance(data, dict):
            return out
        for f in fields(cls):
            if f.name == "version" or f.name not in data:
                continue
            value = _coerce(f.name, data[f.name], getattr(out, f.name))
            if value is not None:
                setattr(out, f.name, value)
        return out


def _coerce(name: str, value: Any, default: Any) -> Any:
    """`value` made valid for the field `name`, or None to keep the default."""
    if isinstance(default, bool):
        return value if isinstance(value, bool) else None
    if isinstance(default, int | float):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if value != value or value in (float("inf"), float("-inf")):  # NaN / inf
            return None
        lo, hi = RANGES.get(name, (float("-inf"), float("inf")))
        value = min(hi, max(lo, value))
        return int(round(value)) if isinstance(default, int) else float(value)
    if isinstance(default, str):
        if not isinstance(value, str):
            return None
        if name in CHOICES and value not in CHOICES[name]:
            return None
        if name in _COLOR_FIELDS:
            return value.lower() if _HEX.match(value) else None
        return value
    if isinstance(default, list):
        if not isinstance(value, list):
            return None
        items = [v for v in value if isinstance(v, str) and v]
        if name == "recent_colors":
            items = [v.lower() for v in items if _HEX.match(v)]
            return list(dict.fromkeys(items))[:MAX_RECENT_COLORS]
        if name == "recent_files":
            return list(dict.fromkeys(items))[:MAX_RECENT_FILES]
        return items
    return None
