"""Messages shown to the user: at most two short lines (the details go to the log)."""
from __future__ import annotations

MAX_CHARS = 220


def short_message(text: str, lines: int = 2, max_chars: int = MAX_CHARS) -> str:
    """`text` cut to its first `lines` non-empty lines and about `max_chars` characters, at a
    word boundary, with an ellipsis when anything was cut."""
    parts = [p.strip() for p in str(text).splitlines() if p.strip()]
    out = "\n".join(parts[:lines])
    cut = len(parts) > lines
    if len(out) > max_chars:
        out = out[:max_chars].rsplit(" ", 1)[0].rstrip(" ,;:") or out[:max_chars]
        cut = True
    return out + "…" if cut else out
