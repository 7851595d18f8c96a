"""`aiart-desktop run ...`: the same engine from the command line, parameters in the PNG."""
from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from aiart_desktop.app import main as app_main
from aiart_desktop.cli import main as cli_main


def _inputs(tmp_path: Path) -> tuple[Path, Path, np.ndarray, np.ndarray]:
    img = np.zeros((96, 128, 3), np.uint8)
    img[...] = (40, 120, 200)
    img[40:56, 50:66] = (230, 20, 20)
    mask = np.zeros((96, 128), np.uint8)
    mask[36:60, 46:70] = 255
    Image.fromarray(img).save(tmp_path / "in.png")
    Image.fromarray(mask).save(tmp_path / "mask.png")
    return tmp_path / "in.png", tmp_path / "mask.png", img, mask


def test_run_classical_inpaint_writes_png_with_parameters(tmp_path, capsys) -> None:
    src, mask_path, img, mask = _inputs(tmp_path)
    out = tmp_path / "out.png"
    rc = app_main(["run", "inpaint", "--image", str(src), "--mask", str(mask_path),
                   "--model", "classical", "--seed", "4", "-o", str(out)])
    assert rc == 0, capsys.readouterr().err
    with Image.open(out) as im:
        params = im.text["parameters"]
        px = np.asarray(im.convert("RGB"))
    assert "Seed: 4" in params and "Operation: inpaint" in params and "Model: classical" in params
    assert np.array_equal(px[mask == 0], img[mask == 0])
    assert np.abs(px[48, 58].astype(int) - (40, 120, 200)).max() <= 3


def test_run_txt2img_and_outpaint_with_a_model_folder(tmp_path, model_folders, capsys) -> None:
    out = tmp_path / "gen.png"
    rc = cli_main(["run", "txt2img", "--prompt", "a lighthouse", "--width", "64", "--height",
                   "48", "--model", str(model_folders["sd"]), "--seed", "7", "--steps", "2",
                   "--batch", "2", "--models-dir", str(tmp_path / "m"), "--device", "cpu",
                   "-o", str(out)])
    assert rc == 0, capsys.readouterr().err
    seeds = []
    for p in (out, tmp_path / "gen-1.png"):
        with Image.open(p) as im:
            assert im.size == (64, 48)
            text = im.text["parameters"]
            assert text.startswith("a lighthouse\n") and "Sampler: Euler a" in text
            seeds.append(int(text.split("Seed: ")[1].split(",")[0]))
    assert seeds == [7, 8]
    wide = tmp_path / "wide.png"
    rc = cli_main(["run", "outpaint", "--image", str(out), "--direction", "left", "--pixels",
                   "16", "--model", str(model_folders["sd-inpaint"]), "--steps", "2", "-q",
                   "--models-dir", str(tmp_path / "m"), "-o", str(wide)])
    assert rc == 0, capsys.readouterr().err
    with Image.open(wide) as im, Image.open(out) as small:
        assert im.size == (80, 48)
        a, b = np.asarray(im.convert("RGBA")), np.asarray(small.convert("RGBA"))
        assert np.array_equal(a[:, 16:], b) and a[:, :16, 3].min() == 255


def test_run_errors_are_one_line(tmp_path, capsys) -> None:
    src, mask_path, _, _ = _inputs(tmp_path)
    rc = cli_main(["run", "inpaint", "--image", str(src), "-o", str(tmp_path / "o.png")])
    err = capsys.readouterr().err
    assert rc == 2 and "needs --mask" in err and "Traceback" not in err
    rc = cli_main(["run", "img2img", "--image", str(src), "--model", str(tmp_path / "none"),
                   "-o", str(tmp_path / "o.png")])
    err = capsys.readouterr().err
    assert rc == 2 and f"model {tmp_path / 'none'} does not exist" in err
    rc = cli_main(["run", "txt2img", "--model", "classical", "-o", str(tmp_path / "o.png")])
    assert rc == 2 and "needs a diffusion model" in capsys.readouterr().err
    rc = cli_main(["run", "inpaint", "--image", str(src), "--mask", str(mask_path),
                   "-o", str(tmp_path / "o.jpg")])
    assert rc == 2 and "must be a .png" in capsys.readouterr().err
    assert not (tmp_path / "o.png").exists()
