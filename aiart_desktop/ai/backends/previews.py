"""Cheap live previews: latents to RGB with a fixed linear map (no VAE decode).

The factor matrices are the well-known least-squares fits of each latent space's four channels
to RGB (as used by ComfyUI and A1111's "Approx NN" cheap preview). The result is 1/8 of the
image size, blurry but faithful in colour and layout: enough to watch a generation form. When
TAESD (AutoencoderTiny) is installed, `diffusion.py` uses it instead for sharp previews.
"""
from __future__ import annotations

import cv2
import numpy as np

PREVIEW_SIDE = 128  # longest side of a progress preview

SD15_FACTORS = np.array([
    [0.3512, 0.2297, 0.3227],
    [0.3250, 0.4974, 0.2350],
    [-0.2829, 0.1762, 0.2721],
    [-0.2120, -0.2616, -0.7177],
], np.float32)
SD15_BIAS = np.zeros(3, np.float32)

SDXL_FACTORS = np.array([
    [0.3651, 0.4232, 0.4341],
    [-0.2533, -0.0042, 0.1068],
    [0.1076, 0.1111, -0.0362],
    [-0.3165, -0.2492, -0.2188],
], np.float32)
SDXL_BIAS = np.array([0.1084, -0.0175, -0.0011], np.float32)


def latent_preview(latents: np.ndarray, arch: str) -> np.ndarray:
    """(4, h, w) float latents (scaled, as during sampling) -> (h, w, 3) uint8 RGB."""
    factors, bias = (SDXL_FACTORS, SDXL_BIAS) if arch == "sdxl" else (SD15_FACTORS, SD15_BIAS)
    lat = np.asarray(latents, np.float32)
    c = min(lat.shape[0], factors.shape[0])
    rgb = np.tensordot(lat[:c], factors[:c], axes=([0], [0])) + bias  # (h, w, 3) in ~[-1, 1]
    return np.clip(np.rint((rgb + 1.0) * 127.5), 0, 255).astype(np.uint8)


def shrink(rgb: np.ndarray, side: int = PREVIEW_SIDE) -> np.ndarray:
    """`rgb` scaled down (never up) so its longest side is at most `side`."""
    h, w = rgb.shape[:2]
    s = side / max(h, w)
    if s >= 1.0:
        return np.ascontiguousarray(rgb)
    return cv2.resize(rgb, (max(1, round(w * s)), max(1, round(h * s))),
                      interpolation=cv2.INTER_AREA)
