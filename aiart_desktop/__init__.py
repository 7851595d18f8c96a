"""AIArt Desktop: a painting program where AI works on the part of the picture you choose."""
from __future__ import annotations

__version__ = "0.1.0"
