"""A model folder's facts are read once while it stays the same: each job re-checks its model,
and an unchanged folder costs a walk of file times, not a dozen JSON and header reads. Any
change is seen at the next check, with the same plain errors as a first look."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from aiart_desktop.ai.errors import AiError
from aiart_desktop.ai.models import checkpoints


def _reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    seen: list[Path] = []
    real = checkpoints._read_json

    def counting(path: Path) -> object:
        seen.append(Path(path))
        return real(path)

    monkeypatch.setattr(checkpoints, "_read_json", counting)
    return seen


def test_an_unchanged_folder_is_read_once_and_a_changed_one_again(model_folders, tmp_path,
                                                                   monkeypatch) -> None:
    folder = tmp_path / "model"
    shutil.copytree(model_folders["sd"], folder)
    reads = _reads(monkeypatch)
    first = checkpoints.inspect_folder(folder)
    n = len(reads)
    assert n >= 3                      # model_index, unet and vae configs at least
    assert checkpoints.inspect_folder(folder) == first and len(reads) == n
    # Another pickle policy is another question.
    checkpoints.inspect_folder(folder, allow_pickle=True)
    assert len(reads) == 2 * n
    # A file changed (its time and size): read again, same answer.
    cfg = folder / "unet" / "config.json"
    cfg.write_text(cfg.read_text() + "\n")
    assert checkpoints.inspect_folder(folder) == first and len(reads) == 3 * n
    # A weight file truncated: the plain error of a first look, naming the folder's file.
    weights = next((folder / "unet").glob("*.safetensors"))
    with open(weights, "r+b") as f:
        f.truncate(os.path.getsize(weights) // 2)
    with pytest.raises(AiError, match="truncated"):
        checkpoints.inspect_folder(folder)
    # ... and the errors are not kept: mended, it is fine again.
    shutil.copy2(next((model_folders["sd"] / "unet").glob("*.safetensors")), weights)
    assert checkpoints.inspect_folder(folder) == first
    # A component removed: incomplete, at once.
    shutil.rmtree(folder / "vae")
    with pytest.raises(AiError, match="incomplete"):
        checkpoints.inspect_folder(folder)
