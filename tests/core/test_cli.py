"""`aiart-desktop export IN OUT`: conversions, clean errors (stderr, exit 2, no traceback)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aiart_desktop import app
from aiart_desktop.core.document import Document
from aiart_desktop.core.io import load_image, load_ora, save_ora

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def layered(tmp_path: Path) -> Path:
    doc = Document.new(40, 30)
    px = np.zeros((10, 20, 4), np.uint8)
    px[...] = (200, 30, 60, 160)
    doc.set_props(doc.add_layer("ink", pixels=px, x=5, y=5), blend_mode="multiply")
    group = doc.add_group("group", parent=doc.root)
    doc.add_layer("inside", parent=group, pixels=np.full((4, 4, 4), 99, np.uint8), x=30, y=20)
    p = tmp_path / "in.ora"
    save_ora(doc, p)
    return p


def test_ora_to_flat_formats(layered: Path, tmp_path: Path) -> None:
    want = load_ora(layered).flatten()
    for name in ("out.png", "out.webp", "out.tif"):
        assert app.main(["export", str(layered), str(tmp_path / name)]) == 0, name
        assert np.array_equal(load_image(tmp_path / name), want), name
    assert app.main(["export", str(layered), str(tmp_path / "out.jpg"), "--quality", "40"]) == 0
    with Image.open(tmp_path / "out.jpg") as im:
        assert im.format == "JPEG" and im.size == (40, 30)


def test_image_to_ora_and_ora_resaved(layered: Path, tmp_path: Path) -> None:
    src = tmp_path / "photo.png"
    Image.new("RGBA", (12, 8), (1, 2, 3, 255)).save(src)
    assert app.main(["export", str(src), str(tmp_path / "photo.ora")]) == 0
    doc = load_ora(tmp_path / "photo.ora")
    assert [n.name for n in doc.nodes] == ["photo"] and doc.flatten()[0, 0].tolist() == [
        1, 2, 3, 255]
    assert app.main(["export", str(layered), str(tmp_path / "again.ora")]) == 0
    a, b = load_ora(layered), load_ora(tmp_path / "again.ora")
    assert [n.name for n in a.nodes] == [n.name for n in b.nodes]
    assert b.layers[1].blend_mode == "multiply" and np.array_equal(a.flatten(), b.flatten())


@pytest.mark.parametrize("argv,fragment", [
    (["missing.ora", "out.png"], "does not exist"),
    (["bad.ora", "out.png"], "not a zip archive"),
    (["in.ora", "out.xyz"], "unknown file type"),
    (["in.ora", "no/such/folder/out.png"], "cannot write"),
    (["in.ora", "out.jpg", "--quality", "0"], "--quality"),
    (["in.ora"], "usage"),
    (["in.ora", "out.png", "--quality", "high"], "invalid int"),
])
def test_errors_exit_2_without_traceback(layered: Path, tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str],
                                         monkeypatch: pytest.MonkeyPatch,
                                         argv: list[str], fragment: str) -> None:
    (tmp_path / "bad.ora").write_text("not a zip")
    monkeypatch.chdir(tmp_path)
    assert app.main(["export", *argv]) == 2
    err = capsys.readouterr().err
    assert fragment in err and "Traceback" not in err
    assert not (tmp_path / "out.png").exists()


def test_help_and_unknown_command(capsys: pytest.CaptureFixture[str]) -> None:
    from aiart_desktop import cli

    assert cli.main(["export", "--help"]) == 0
    assert "IN" in capsys.readouterr().out
    assert cli.main(["frobnicate"]) == 2
    assert "unknown command" in capsys.readouterr().err


def test_runs_as_a_program(layered: Path, tmp_path: Path) -> None:
    out = tmp_path / "flat.png"
    r = subprocess.run([sys.executable, "-m", "aiart_desktop.cli", "export", str(layered),
                        str(out)], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert np.array_equal(load_image(out), load_ora(layered).flatten())
    bad = tmp_path / "broken.ora"
    bad.write_bytes(layered.read_bytes()[:100])
    r = subprocess.run([sys.executable, "main.py", "export", str(bad), str(tmp_path / "x.png")],
                       capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert r.returncode == 2 and "Cannot open" in r.stderr and "broken.ora" in r.stderr
    assert "Traceback" not in r.stderr and not (tmp_path / "x.png").exists()
