"""The 26 built-in styles of the `multistyle26` network: names that say what they look like,
in the order a painter meets them (painterly ones first, graphic ones next, the loud filters
last).

The package ships neither names nor reference pictures (its author: "the model I started from
never came with any"), so the names were chosen by looking at each style's output on three
paintings (docs/screenshots/style_sheet*.jpg; docs/style-transfer.md tells how). The stable id
of a style stays "Style N" (N = the network's index): requests, layer provenance, generation
history and the AI form's reference combo store that id, and old documents keep resolving.
The name is for people: lists, layer names, tooltips. Either resolves (`builtin_index`).
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class BuiltinStyle:
    index: int       # the network's style index (0..25)
    name: str        # what the painter sees
    look: str        # one line: what it does to a painting

    @property
    def id(self) -> str:
        """The stable id stored in requests and records: "Style N"."""
        return f"Style {self.index}"


# Painterly first (brushwork, drawing media), then prints and posters, then the loud filters.
BUILTINS: tuple[BuiltinStyle, ...] = (
    BuiltinStyle(19, "Starry swirls", "Swirling blue and gold brushstrokes"),
    BuiltinStyle(12, "Soft impressionist", "Soft lavender and gold dabs, gentle edges"),
    BuiltinStyle(14, "Cool watercolour", "Pale teal washes that keep the paper light"),
    BuiltinStyle(24, "Indigo ink wash", "Blue ink lines and wash on cream paper"),
    BuiltinStyle(18, "Sepia drawing", "Brown pen hatching on buff paper"),
    BuiltinStyle(23, "Moody oils", "Smooth dark green and cream tones, few lines"),
    BuiltinStyle(25, "Dusky impasto", "Thick knotted marks in muted blue, brown and orange"),
    BuiltinStyle(13, "Expressionist", "Vivid green, teal and yellow strokes, red accents"),
    BuiltinStyle(8, "Pastel chalk", "Pink, teal and yellow chalk on white"),
    BuiltinStyle(2, "Charcoal and wash", "Grey wash with black charcoal contours"),
    BuiltinStyle(11, "Ochre etching", "Ochre and cream with dark etched lines"),
    BuiltinStyle(5, "Fiery brushwork", "Flowing orange-red and grey-blue strokes"),
    BuiltinStyle(22, "Woodblock print", "Slate blue and cream, black outlines, red accents"),
    BuiltinStyle(1, "Yellow linocut", "Bold black cuts on grey with yellow"),
    BuiltinStyle(10, "Terracotta relief", "Warm terracotta and brown, embossed"),
    BuiltinStyle(20, "Crimson relief", "Red with deep blue shadows, embossed"),
    BuiltinStyle(16, "Mustard weave", "Blue, mustard and orange woven texture"),
    BuiltinStyle(0, "Golden poster", "Flat yellow, slate and grey with dark outlines"),
    BuiltinStyle(4, "Red poster", "Flat red, cream and sky blue"),
    BuiltinStyle(7, "Bold primaries", "Saturated blue, yellow and red, black shadows"),
    BuiltinStyle(21, "Pop art", "Pink, yellow and sky blue, thick black outlines"),
    BuiltinStyle(9, "Tapestry", "Teal and rose stitched texture"),
    BuiltinStyle(15, "Crystal lines", "Pale lilac with sharp yellow and teal facets"),
    BuiltinStyle(6, "Night stipple", "Dark navy with embossed dots"),
    BuiltinStyle(3, "Neon scribble", "Electric blue, orange and cyan marks"),
    BuiltinStyle(17, "Brick mosaic", "Red, orange and blue blocks"),
)
BY_INDEX: dict[int, BuiltinStyle] = {b.index: b for b in BUILTINS}
_BY_NAME: dict[str, int] = {b.name.casefold(): b.index for b in BUILTINS}


def builtin_index(text: str, count: int = len(BUILTINS)) -> int | None:
    """The network index of a built-in style given by id ("Style 7", any case) or by name
    ("Starry swirls", any case); None when `text` is neither."""
    key = " ".join(text.split()).casefold()
    parts = key.split(" ")
    if len(parts) == 2 and parts[0] == "style" and parts[1].isdigit():
        i = int(parts[1])
        return i if i < count else None
    return _BY_NAME.get(key)


def builtin_name(style_id: str) -> str:
    """The name shown for a built-in style id ("Style 19" -> "Starry swirls"); anything else
    (a user's picture name, an unknown id) is returned unchanged."""
    i = builtin_index(style_id)
    return BY_INDEX[i].name if i is not None and i in BY_INDEX else style_id
