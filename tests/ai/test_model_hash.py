"""Model content hashes in provenance: right digests, cached, and written where tools read them."""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.models import model_hash as mh
from aiart_desktop.ai.records.export_parameters import record_parameters


def test_file_hash_is_sha256_and_folder_hash_follows_the_weights(tmp_path: Path) -> None:
    f = tmp_path / "model.safetensors"
    f.write_bytes(b"weights" * 1000)
    assert mh.model_sha256(f) == hashlib.sha256(f.read_bytes()).hexdigest()
    folder = tmp_path / "pipe"
    (folder / "unet").mkdir(parents=True)
    (folder / "vae").mkdir()
    (folder / "unet" / "diffusion_pytorch_model.safetensors").write_bytes(b"u" * 5000)
    (folder / "vae" / "diffusion_pytorch_model.safetensors").write_bytes(b"v" * 3000)
    (folder / "model_index.json").write_text("{}")
    seen: list[tuple[int, int]] = []
    digest = mh.model_sha256(folder, lambda done, total: seen.append((done, total)))
    assert seen[-1] == (8000, 8000)
    moved = shutil.copytree(folder, tmp_path / "renamed")
    (moved / "model_index.json").write_text('{"edited": true}')  # not a weight
    assert mh.model_sha256(moved) == digest
    (moved / "vae" / "diffusion_pytorch_model.safetensors").write_bytes(b"w" * 3000)
    assert mh.model_sha256(moved) != digest
    # remembered on disk by path, size and time: a later process does not read it again
    cache = json.loads((mh._cache_path()).read_text())
    assert any(k.startswith(str(f.resolve())) for k in cache)


def test_diffusion_records_carry_the_model_hash(engine, registry, doc_factory) -> None:
    doc = doc_factory()
    result = engine.run(make_request(doc, "txt2img", prompt="a boat", model="sd", steps=2,
                                     seed=5))
    rec = result.record(0)
    info = registry.resolve("sd")
    assert rec["model_hash"] == mh.model_sha256(info.path) and len(rec["model_hash"]) == 64
    text = record_parameters(rec, (doc.width, doc.height))
    assert f"Model hash: {rec['model_hash'][:10]}" in text


def test_cancel_while_a_model_is_hashed(tmp_path: Path) -> None:
    import pytest

    from aiart_desktop.ai.engine import Engine
    from aiart_desktop.ai.errors import Cancelled

    big = tmp_path / "model.safetensors"
    big.write_bytes(b"\0" * (3 * mh.BLOCK))
    calls = [0]

    def stop() -> bool:
        calls[0] += 1
        return calls[0] > 1  # cancelled after the first block

    class Info:
        path = big

    with pytest.raises(Cancelled):
        Engine._model_hash(Info(), None, stop)  # type: ignore[arg-type]
    assert not any(k.startswith(str(big.resolve())) for k in mh._memory)  # nothing half-kept
