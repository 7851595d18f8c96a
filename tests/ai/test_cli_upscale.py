"""`aiart-desktop upscale IN OUT` (ai/cli_upscale.py) through the app's entry point: real files
in, real files out, one-line errors."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from aiart_desktop.app import main as app_main
from aiart_desktop.core.io import load_document


def _picture(path: Path) -> Path:
    y, x = np.mgrid[0:60, 0:80]
    rgb = np.stack([x * 3, y * 4, (x + y) * 2], axis=-1).clip(0, 255).astype(np.uint8)
    Image.fromarray(rgb).save(path)
    return path


def test_upscale_a_png_and_an_ora(tmp_path: Path, capsys) -> None:
    src = _picture(tmp_path / "in.png")
    out = tmp_path / "out.png"
    assert app_main(["upscale", str(src), str(out), "--scale", "4", "-q"]) == 0
    big = np.asarray(Image.open(out).convert("RGB"))
    assert big.shape == (240, 320, 3)
    small = np.asarray(Image.fromarray(big).resize((80, 60), Image.Resampling.BOX)).astype(int)
    assert np.abs(small - np.asarray(Image.open(src)).astype(int)).mean() < 3
    ora = tmp_path / "out.ora"
    assert app_main(["upscale", str(src), str(ora), "--width", "200", "-q",
                     "--models-dir", str(tmp_path / "models")]) == 0
    doc = load_document(ora)
    assert (doc.width, doc.height) == (200, 150)


def test_errors_are_one_line(tmp_path: Path, capsys) -> None:
    src = _picture(tmp_path / "in.png")
    assert app_main(["upscale", str(tmp_path / "missing.png"), str(tmp_path / "o.png")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "missing.png" in err[0]
    assert app_main(["upscale", str(src), str(tmp_path / "o.png"), "--model", "nope", "-q",
                     "--models-dir", str(tmp_path / "models")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) <= 2 and "upscale" in err[0]
    assert app_main(["upscale", str(src), str(tmp_path / "o.png"), "--scale", "500"]) == 2
    assert "too big" in capsys.readouterr().err
