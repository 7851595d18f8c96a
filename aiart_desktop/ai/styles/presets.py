"""Text style presets for diffusion models: a phrase added to the prompt and one to the negative.

    prompt, negative = compose("a harbour at dawn", "", "Watercolor")

The request keeps the user's own prompt and the preset's name (`AiRequest.style_preset`); the
engine composes the text the model reads, and the provenance records both, so Re-generate puts
back the user's words and the preset, never the preset's phrase twice.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..errors import RequestError


@dataclass(frozen=True)
class StylePreset:
    name: str
    prompt: str      # appended to the prompt
    negative: str    # appended to the negative prompt
    hint: str = ""


PRESETS: tuple[StylePreset, ...] = (
    StylePreset("Watercolor",
                "watercolor painting, soft washes, wet-in-wet bleeding edges, paper texture",
                "photo, photorealistic, hard edges, 3d render",
                "Transparent washes that bleed into each other on textured paper"),
    StylePreset("Oil painting",
                "oil painting, visible impasto brush strokes, rich colors, canvas texture",
                "photo, photorealistic, flat colors, smooth gradients",
                "Thick brush strokes and rich colour on canvas"),
    StylePreset("Ink sketch",
                "ink sketch, pen and ink, cross-hatching, black ink lines on white paper",
                "color, painted, photo, blurry, soft shading",
                "Black pen lines and hatching, no colour"),
    StylePreset("Anime cel",
                "anime cel shading, clean line art, flat colors, vibrant, studio anime style",
                "photo, photorealistic, painterly, noisy texture, 3d render",
                "Clean outlines and flat cel-shaded colour"),
    StylePreset("Pixel art",
                "pixel art, 16-bit, limited palette, crisp pixels, retro game sprite",
                "blurry, smooth gradients, photo, anti-aliased, high detail",
                "Chunky pixels and a small palette"),
    StylePreset("Charcoal",
                "charcoal drawing, smudged shading, rough paper grain, expressive strokes",
                "color, photo, clean lines, digital",
                "Smudged black charcoal on rough paper"),
    StylePreset("Pastel",
                "soft pastel drawing, chalky texture, gentle colors, visible strokes",
                "photo, harsh contrast, saturated neon colors",
                "Chalky, gentle colour strokes"),
    StylePreset("Gouache",
                "gouache painting, opaque matte paint, flat shapes, illustration",
                "photo, glossy, 3d render, noisy",
                "Opaque, matte, flat-shaped illustration paint"),
    StylePreset("Photograph",
                "photograph, natural light, sharp focus, realistic detail, 35mm",
                "painting, drawing, illustration, cartoon, anime",
                "Realistic, photographic look"),
)
NONE_LABEL = "None"


def preset_names() -> list[str]:
    return [p.name for p in PRESETS]


def preset_named(name: str) -> StylePreset:
    """The preset called `name` (case-insensitive); a clear error for an unknown one."""
    key = name.strip().lower()
    for p in PRESETS:
        if p.name.lower() == key:
            return p
    raise RequestError(f"unknown style preset {name!r} (use one of {', '.join(preset_names())})")


def _join(text: str, extra: str) -> str:
    text = text.strip().rstrip(",").strip()
    return f"{text}, {extra}" if text else extra


def compose(prompt: str, negative: str, preset: str) -> tuple[str, str]:
    """(prompt, negative prompt) with the preset's phrases appended; unchanged for "" / None."""
    if not preset or preset == NONE_LABEL:
        return prompt, negative
    p = preset_named(preset)
    return _join(prompt, p.prompt), _join(negative, p.negative)
