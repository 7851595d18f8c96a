"""C2PA on PNG export: a test CA and an ES256 signer made at test time with `cryptography`,
signed exports read back with c2pa's Reader (window hook and CLI), no certificate -> a plain
PNG and a message, bad certificates -> a clear error and nothing written."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aiart_desktop import app
from aiart_desktop.ai.records import c2pa_manifest as cm
from aiart_desktop.core.document import Document
from aiart_desktop.core.io import save_ora
from aiart_desktop.settings import Settings
from tests.support.certificates import make_chain


@pytest.fixture(scope="module")
def chain(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, bytes]:
    return make_chain(tmp_path_factory.mktemp("c2pa"))


def _doc(ai_share: bool = True) -> Document:
    """A 40x20 painting; the right half an AI layer (half the visible pixels)."""
    doc = Document.new(40, 20, (250, 250, 240, 255))
    if ai_share:
        px = np.zeros((20, 20, 4), np.uint8)
        px[...] = (30, 90, 200, 255)
        rec = {"op": "inpaint", "prompt": "a blue sea", "seed": 42, "model": "tiny-sd",
               "model_name": "tiny-sd", "model_hash": "abc123", "time": "2026-01-01T00:00:00Z",
               "steps": 4, "rect": [20, 0, 20, 20]}
        doc.add_layer("sea", pixels=px, x=20, y=0, provenance=rec)
    return doc


def _actions(manifest: dict) -> list[dict]:
    a = next(x for x in manifest["assertions"] if x["label"].startswith("c2pa.actions"))
    return a["data"]["actions"]


def _custom(manifest: dict) -> dict:
    return next(x for x in manifest["assertions"] if x["label"] == cm.PROVENANCE_LABEL)["data"]


def test_signed_export_reads_back_with_assertions(chain, tmp_path: Path) -> None:
    cert, key, ca = chain
    doc = _doc()
    out = tmp_path / "out.png"
    s = Settings(c2pa_cert=str(cert), c2pa_key=str(key))
    outcome = cm.export_png_with_c2pa(doc, out, parameters="a blue sea\nSteps: 4", settings=s)
    assert outcome.signed and "Test Painter" in outcome.message and "50.0 %" in outcome.message
    data = out.read_bytes()
    with Image.open(out) as im:  # still a plain PNG to everyone else, chunk kept
        assert im.info["parameters"] == "a blue sea\nSteps: 4"
        assert np.array_equal(np.asarray(im.convert("RGBA")), doc.flatten())
    m = cm.read_manifest(data, trust_anchors=ca)
    assert m is not None and m["validation_state"] == "Trusted"
    assert cm.read_manifest(data)["validation_state"] == "Valid"  # signature fine, CA unknown
    assert m["signature_info"]["common_name"] == "Test Painter"
    acts = _actions(m)
    assert acts[0]["action"] == "c2pa.created" and acts[0]["digitalSourceType"] == cm.COMPOSITE
    assert acts[0]["parameters"]["ai_fraction"] == pytest.approx(0.5)
    assert acts[1]["action"] == "c2pa.edited" and acts[1]["digitalSourceType"] == cm.TRAINED
    assert acts[1]["softwareAgent"]["name"] == "tiny-sd" and acts[1]["parameters"]["seed"] == 42
    custom = _custom(m)
    assert custom["ai_fraction"] == pytest.approx(0.5)
    [layer] = custom["ai_layers"]
    assert layer["model"] == "tiny-sd" and layer["model_hash"] == "abc123"
    assert layer["prompt"] == "a blue sea" and layer["share"] == pytest.approx(0.5)


def test_source_type_follows_the_ai_share(chain, tmp_path: Path) -> None:
    cert, key, _ = chain
    creds = cm.load_credentials(cert, key)
    all_ai = _doc()
    all_ai.remove_node(all_ai.layers[0])        # only the AI layer is left
    cases = ((all_ai, cm.TRAINED, 1), (_doc(ai_share=False), cm.DIGITAL_CREATION, 0))
    for doc, dst, n_layers in cases:
        out = tmp_path / "x.png"
        cm.export_png_with_c2pa(doc, out, credentials=creds)
        m = cm.read_manifest(out.read_bytes())
        assert _actions(m)[0]["digitalSourceType"] == dst
        assert len(_custom(m)["ai_layers"]) == n_layers


def test_no_certificate_writes_plain_png_and_says_so(tmp_path: Path) -> None:
    out = tmp_path / "plain.png"
    outcome = cm.export_png_with_c2pa(_doc(), out, parameters="p", settings=Settings())
    assert not outcome.signed and "skipped" in outcome.message and "certificate" in outcome.message
    assert cm.read_manifest(out.read_bytes()) is None
    off = cm.export_png_with_c2pa(_doc(), out, settings=Settings(c2pa_cert="x", c2pa_key="y",
                                                               c2pa_sign=False))
    assert not off.signed and "off" in off.message


def test_bad_credentials_are_clear_errors_and_nothing_is_written(chain, tmp_path: Path
                                                                 ) -> None:
    cert, key, _ = chain
    other_cert, _other_key, _ = make_chain(tmp_path / "other")
    garbage = tmp_path / "garbage.pem"
    garbage.write_bytes(b"-----BEGIN CERTIFICATE-----\nnot base64 at all\n"
                        b"-----END CERTIFICATE-----\n")
    expired_cert, expired_key, _ = make_chain(tmp_path / "expired", days=-1)
    out = tmp_path / "keep.png"
    out.write_bytes(b"the old file")
    cases = [
        (Settings(c2pa_cert=str(garbage), c2pa_key=str(key)), "not a PEM certificate"),
        (Settings(c2pa_cert=str(cert), c2pa_key=str(garbage)), "not a PEM private key"),
        (Settings(c2pa_cert=str(other_cert), c2pa_key=str(key)), "does not belong"),
        (Settings(c2pa_cert=str(tmp_path / "missing.pem"), c2pa_key=str(key)), "cannot read"),
        (Settings(c2pa_cert=str(cert), c2pa_key=""), "private key is not set"),
        (Settings(c2pa_cert=str(expired_cert), c2pa_key=str(expired_key)), "expired"),
    ]
    for settings, fragment in cases:
        with pytest.raises(cm.C2paError, match=fragment) as info:
            cm.export_png_with_c2pa(_doc(), out, settings=settings)
        assert isinstance(info.value, ValueError)  # the window's export error path shows it
        assert out.read_bytes() == b"the old file", fragment
    # c2pa itself refusing (here: a chain with no certificate in it) is a clear error too.
    creds = cm.load_credentials(cert, key)
    broken = cm.Credentials(b"", creds.key_pem, creds.alg, creds.subject)
    with pytest.raises(cm.C2paError, match="C2PA signing failed"):
        cm.export_png_with_c2pa(_doc(), out, credentials=broken)
    assert out.read_bytes() == b"the old file"
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["garbage.pem",
                                                                          "keep.png"]


def test_cli_export_signs_skips_and_refuses(chain, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    cert, key, ca = chain
    src = tmp_path / "in.ora"
    save_ora(_doc(), src)
    signed, plain, bad = tmp_path / "s.png", tmp_path / "p.png", tmp_path / "b.png"
    assert app.main(["export", str(src), str(signed), "--c2pa-cert", str(cert),
                     "--c2pa-key", str(key)]) == 0
    assert "signed by Test Painter" in capsys.readouterr().err
    m = cm.read_manifest(signed.read_bytes(), trust_anchors=ca)
    assert m["validation_state"] == "Trusted" and _custom(m)["ai_fraction"] == pytest.approx(0.5)
    with Image.open(signed) as im:
        assert "a blue sea" in im.info["parameters"]
    assert app.main(["export", str(src), str(plain)]) == 0
    assert "C2PA manifest skipped" in capsys.readouterr().err
    assert cm.read_manifest(plain.read_bytes()) is None
    assert app.main(["export", str(src), str(plain), "--no-c2pa"]) == 0
    assert capsys.readouterr().err == ""
    assert app.main(["export", str(src), str(bad), "--c2pa-cert", str(cert)]) == 2
    assert "go together" in capsys.readouterr().err
    assert app.main(["export", str(src), str(bad), "--c2pa-cert", str(key),
                     "--c2pa-key", str(key)]) == 2
    err = capsys.readouterr().err
    assert "not a PEM certificate chain" in err and "Traceback" not in err
    assert not bad.exists()
