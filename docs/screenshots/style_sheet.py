"""Contact sheets of the 26 built-in styles, in the Style dock's order, on paintings made with
the app's own brush engine (`style_paintings.py`): how each style looks with the dock's
defaults (keep my colours, 85 % strength, scale 1), and with the style's own palette.

    .venv/bin/python docs/screenshots/style_sheet.py

writes style_sheet.jpg (a still life, dock defaults), style_sheet_sketch.jpg (a pencil sketch
on white paper, dock defaults) and style_sheet_own.jpg (the still life, full strength, the
styles' own colours: what the names describe).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[1]))
sys.path.insert(0, str(HERE))

from style_paintings import pixels, sketch, still_life  # noqa: E402

from aiart_desktop.ai.backends.style import DEFAULT_TILE, builtin_styles, style_transfer  # noqa: E402

DEFAULTS = {"strength": 0.85, "style_scale": 1.0, "preserve_colors": True}
COLS, CELL = 6, 260


def sheet(picture: np.ndarray, settings: dict[str, object], title: str) -> Image.Image:
    h, w = picture.shape[:2]
    ch = round(h * CELL / w)
    font = ImageFont.load_default(15)
    cells = [("Original", picture)] + [
        (info.label, style_transfer(picture, info.name, tile=DEFAULT_TILE, **settings))
        for info in builtin_styles()]
    rows = -(-len(cells) // COLS)
    pad, label, top = 6, 22, 30
    out = Image.new("RGB", (COLS * (CELL + pad) + pad, top + rows * (ch + label + pad)),
                    (40, 42, 46))
    d = ImageDraw.Draw(out)
    d.text((pad, 6), title, fill=(235, 235, 235), font=font)
    for n, (name, im) in enumerate(cells):
        r, c = divmod(n, COLS)
        x, y = pad + c * (CELL + pad), top + r * (ch + label + pad)
        d.text((x + 2, y + 2), name, fill=(235, 235, 235), font=font)
        out.paste(Image.fromarray(im).resize((CELL, ch), Image.Resampling.LANCZOS),
                  (x, y + label))
    return out


def main() -> int:
    life, pencil = pixels(still_life()), pixels(sketch())
    for name, pic, settings, title in (
        ("style_sheet.jpg", life, DEFAULTS,
         "Built-in styles with the Style dock's defaults: keep my colours, strength 85 %"),
        ("style_sheet_sketch.jpg", pencil, DEFAULTS,
         "A pencil sketch with the dock's defaults: the paper stays white"),
        ("style_sheet_own.jpg", life, {},
         "The styles' own colours (keep my colours off, strength 100 %)"),
    ):
        sheet(pic, settings, title).save(HERE / name, quality=88, optimize=True)
        print(f"wrote {HERE / name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
