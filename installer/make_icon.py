"""Draws the AIArt Desktop application icon and writes it in every format the installers use.

    python installer/make_icon.py            # -> installer/icons/aiart-desktop.{png,ico,icns}
                                             #    and installer/icons/hicolor/<size>/apps/...

A rounded square of dusk blue, a painted brush stroke sweeping across it (warm to cool, like
paint picking up a second colour), and a four-pointed spark above it: the brush is the
painter's, the spark is the AI helping. Drawn at 1024 px with Pillow and scaled down, so the
small sizes stay crisp. Needs nothing beyond Pillow (a dependency of the app already).
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

SIZE = 1024
HICOLOR_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = [(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)]
OUT = Path(__file__).resolve().parent / "icons"
NAME = "aiart-desktop"


def _lerp(a: tuple[int, ...], b: tuple[int, ...], t: float) -> tuple[int, ...]:
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a, b, strict=True))


def _background() -> Image.Image:
    """Rounded square with a vertical gradient (deep indigo at the top, slate teal below)."""
    grad = Image.new("RGBA", (SIZE, SIZE))
    top, bottom = (38, 36, 74, 255), (24, 84, 104, 255)
    px = grad.load()
    for y in range(SIZE):
        c = _lerp(top, bottom, y / (SIZE - 1))
        for x in range(SIZE):
            px[x, y] = c
    mask = Image.new("L", (SIZE, SIZE), 0)
    margin = 56
    ImageDraw.Draw(mask).rounded_rectangle((margin, margin, SIZE - margin, SIZE - margin),
                                           radius=200, fill=255)
    out = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    out.paste(grad, (0, 0), mask)
    return out


def _stroke(img: Image.Image) -> None:
    """A thick brush stroke on an S-curve, tapering at both ends, orange to magenta."""
    layer = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    d = ImageDraw.Draw(layer)
    start, end = (255, 170, 60, 255), (226, 70, 140, 255)
    ridge = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    dr = ImageDraw.Draw(ridge)
    n = 400
    for i in range(n):
        t = i / (n - 1)
        x, y = _path(t)
        r = 22 + 66 * math.sin(t * math.pi) ** 0.6
        d.ellipse((x - r, y - r, x + r, y + r), fill=_lerp(start, end, t))
        # a lighter ridge along the stroke, like wet paint catching light
        rr = 4 + 16 * math.sin(t * math.pi) ** 0.8
        ry = y - 0.35 * r
        dr.ellipse((x - rr, ry - rr, x + rr, ry + rr), fill=(255, 240, 210, 255))
    shadow = layer.split()[3].filter(ImageFilter.GaussianBlur(18))
    dark = Image.new("RGBA", (SIZE, SIZE), (8, 10, 30, 0))
    dark.putalpha(shadow.point(lambda v: int(v * 0.45)))
    img.alpha_composite(dark, (0, 14))
    img.alpha_composite(layer)
    ridge = ridge.filter(ImageFilter.GaussianBlur(5))
    ridge.putalpha(ridge.split()[3].point(lambda v: int(v * 0.55)))
    img.alpha_composite(ridge)


def _path(t: float) -> tuple[float, float]:
    """The stroke's centre line: a gentle S from lower left to the right."""
    return 180 + 660 * t, 690 - 120 * math.sin(t * math.pi * 2.0 - 0.4) - 40 * t


def _spark(img: Image.Image, cx: float, cy: float, r: float) -> None:
    """A four-pointed star with a soft glow."""
    pts = []
    for k in range(8):
        a = k * math.pi / 4 - math.pi / 2
        rr = r if k % 2 == 0 else r * 0.22
        pts.append((cx + rr * math.cos(a), cy + rr * math.sin(a)))
    glow = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    ImageDraw.Draw(glow).ellipse((cx - r * 0.9, cy - r * 0.9, cx + r * 0.9, cy + r * 0.9),
                                 fill=(170, 230, 255, 120))
    img.alpha_composite(glow.filter(ImageFilter.GaussianBlur(r * 0.35)))
    star = Image.new("RGBA", (SIZE, SIZE), (0, 0, 0, 0))
    ImageDraw.Draw(star).polygon(pts, fill=(250, 252, 255, 255))
    img.alpha_composite(star)


def draw() -> Image.Image:
    img = _background()
    _stroke(img)
    _spark(img, 690, 300, 150)
    _spark(img, 450, 250, 62)
    return img


def write_all(out: Path = OUT) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    img = draw()
    written = []
    png = out / f"{NAME}.png"
    img.resize((512, 512), Image.Resampling.LANCZOS).save(png)
    written.append(png)
    ico = out / f"{NAME}.ico"
    img.save(ico, sizes=ICO_SIZES)
    written.append(ico)
    icns = out / f"{NAME}.icns"
    img.save(icns)
    written.append(icns)
    for s in HICOLOR_SIZES:
        p = out / "hicolor" / f"{s}x{s}" / "apps" / f"{NAME}.png"
        p.parent.mkdir(parents=True, exist_ok=True)
        img.resize((s, s), Image.Resampling.LANCZOS).save(p)
        written.append(p)
    return written


if __name__ == "__main__":
    for p in write_all(Path(sys.argv[1]) if len(sys.argv) > 1 else OUT):
        print(p)
