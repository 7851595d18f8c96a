"""Every file the AI side keeps goes through core/io/atomic.py: a failure at the rename leaves
the old file as it was and no temporary file behind, and a process killed mid-write loses
nothing (the next write removes what it left)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from safetensors.numpy import save_file

from aiart_desktop.ai.backends.style import builtin_styles
from aiart_desktop.ai.errors import ModelNotFoundError
from aiart_desktop.ai.models import model_hash as mh
from aiart_desktop.ai.models.checkpoints import config_folder
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.records import gen_history as gh
from aiart_desktop.ai.styles.library import StyleLibrary
from tests.support.child import child_env
from tests.support.renames import fail_renames


def tree(folder: Path) -> dict[str, bytes | None]:
    """Every file and folder under `folder`, with the files' bytes."""
    return {p.relative_to(folder).as_posix(): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


def checkpoint(path: Path) -> Path:
    """A Stable Diffusion 1.x checkpoint as far as the registry's checks go (header only)."""
    t = {"cond_stage_model.transformer.x": np.zeros((1,), np.float16),
         "model.diffusion_model.input_blocks.0.0.weight": np.zeros((1, 4, 1, 1), np.float16)}
    save_file(t, str(path))
    return path


def entry(i: int, t: float, thumbs: bool = True) -> gh.GenerationEntry:
    png = gh.thumbnail_png(np.full((20, 30, 3), (i * 40) % 256, np.uint8))
    rec = {"op": "txt2img", "prompt": f"prompt {i}", "seed": i, "model": "m", "time": str(t)}
    return gh.GenerationEntry(gh.new_id(t), t, rec, [i], [png] if thumbs else [])


def test_model_registry_keeps_its_file_when_the_rename_fails(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    reg.add_checkpoint(checkpoint(tmp_path / "first.safetensors"), name="First")
    second = checkpoint(tmp_path / "second.safetensors")
    before = reg._file.read_bytes()
    fail_calls = fail_renames(monkeypatch, tmp_path)
    with pytest.raises(OSError, match="No space left"):
        reg.add_checkpoint(second, name="Second")
    with pytest.raises(OSError, match="No space left"):
        reg.remove("first")
    assert len([c for c in fail_calls if ".registry.json.aiart-" in c]) == 2
    assert reg._file.read_bytes() == before  # registry.json as it was ...
    assert not [p for p in reg.root.iterdir() if p.name.startswith(".")]  # ... no temp file
    monkeypatch.undo()
    again = ModelRegistry(reg.root, allow_pickle=False)
    assert again.resolve("first").name == "First"
    with pytest.raises(ModelNotFoundError):
        again.resolve("second")


def test_model_registry_saves_from_two_threads_at_once(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """The download thread and the UI thread both write registry.json: each save has its own
    temporary file, so none fails and the file always parses (it once shared one pid-named
    temporary file, and a save could rename the other's half-written file or find none)."""
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    files = [checkpoint(tmp_path / f"m{i}.safetensors") for i in range(2)]
    errors: list[BaseException] = []
    real = os.replace

    def slow_replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        time.sleep(0.003)  # between writing the temporary file and renaming it: interleave
        real(src, dst)

    monkeypatch.setattr(os, "replace", slow_replace)

    def churn(ckpt: Path) -> None:
        try:
            for _ in range(25):
                info = reg.add_checkpoint(ckpt)
                json.loads(reg._file.read_text(encoding="utf-8"))
                reg.remove(info.id)
        except BaseException as exc:  # a lost update shows as ModelNotFoundError here
            errors.append(exc)

    threads = [threading.Thread(target=churn, args=(f,)) for f in files]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert not [p.name for p in reg.root.iterdir() if p.name.startswith(".")]
    assert isinstance(json.loads(reg._file.read_text(encoding="utf-8"))["models"], list)
    # Adds from two threads at once: every model stays registered (none lost to the other's
    # read-change-write).
    more = [checkpoint(tmp_path / f"n{i}.safetensors") for i in range(8)]
    adders = [threading.Thread(target=lambda fs=fs: [reg.add_checkpoint(f) for f in fs])
              for fs in (more[:4], more[4:])]
    for t in adders:
        t.start()
    for t in adders:
        t.join(60)
    paths = {Path(e["path"]) for e in reg._entries()}
    assert {f.resolve() for f in more} <= paths


# A process adding a model to the registry, killed while its new registry.json is written
# (after the bytes, before the rename): argv = models folder, checkpoint.
KILLED_WRITER = """
import os, sys, time
from aiart_desktop.ai.models.registry import ModelRegistry

real_fsync = os.fsync

def hang(fd):  # atomic_write fsyncs the temporary file just before renaming it
    if ".registry.json.aiart-" not in os.readlink(f"/proc/self/fd/{fd}"):
        return real_fsync(fd)
    print("writing", flush=True)
    time.sleep(120)

reg = ModelRegistry(sys.argv[1], allow_pickle=False)
os.fsync = hang
reg.add_checkpoint(sys.argv[2], name="Second")
sys.exit(3)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="SIGKILL, /proc/self/fd")
def test_model_registry_survives_a_process_killed_mid_write(tmp_path: Path) -> None:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    reg.add_checkpoint(checkpoint(tmp_path / "first.safetensors"), name="First")
    before = reg._file.read_bytes()
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(reg.root),
                             str(checkpoint(tmp_path / "second.safetensors"))],
                            env=child_env(), stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    finally:
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
        if proc.stdout is not None:
            proc.stdout.close()
    assert reg._file.read_bytes() == before  # the old registry, whole
    left = [p for p in reg.root.iterdir() if p.name.startswith(".")]
    assert len(left) == 1 and left[0].name.startswith(".registry.json.aiart-")
    assert "Second" in left[0].read_text(encoding="utf-8")  # it died with its bytes written
    assert ModelRegistry(reg.root, allow_pickle=False).resolve("first").name == "First"
    # The next save through the registry removes the dead writer's leftover.
    reg.add_checkpoint(checkpoint(tmp_path / "third.safetensors"), name="Third")
    assert not [p for p in reg.root.iterdir() if p.name.startswith(".")]
    assert {reg.resolve(i).name for i in ("first", "third")} == {"First", "Third"}


def test_user_history_keeps_its_files_when_the_rename_fails(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    store = gh.UserHistory(tmp_path / "hist", max_bytes=1 << 30)
    t0 = 1_700_000_000.0
    for i in range(6):
        store.append(entry(i, t0 + i))
    before = tree(store.folder)
    fail_calls = fail_renames(monkeypatch, tmp_path)
    with pytest.raises(OSError, match="No space left"):
        store.append(entry(7, t0 + 7))  # its thumbnail cannot be written: no line either
    assert tree(store.folder) == before
    # Pruning rewrites the oldest month file: a failed rewrite keeps every line.
    (month,) = store.month_files()
    small = gh.UserHistory(store.folder, max_bytes=store.size() // 2)
    with pytest.raises(OSError, match="No space left"):
        small.append(entry(8, t0 + 8, thumbs=False))
    assert len(fail_calls) == 2
    lines = month.read_bytes().splitlines()
    assert lines[:-1] == before[month.name].splitlines()  # nothing lost ...  # type: ignore[union-attr]
    assert b"prompt 8" in lines[-1]                       # ... the appended line is there
    assert tree(store.thumbs_dir) == tree(tmp_path / "hist" / "thumbs")
    assert not [p for p in store.folder.rglob(".*")]  # no temporary file
    monkeypatch.undo()
    assert [e.prompt for e in store.load()][:2] == ["prompt 8", "prompt 5"]


def test_style_library_keeps_its_files_when_the_rename_fails(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    lib = StyleLibrary(tmp_path / "styles")
    for i, colour in enumerate(((200, 20, 20), (20, 200, 20))):
        Image.new("RGB", (40, 30), colour).save(tmp_path / f"s{i}.png")
    first = lib.import_file(tmp_path / "s0.png", name="Red")
    before = tree(lib.folder)
    fail_calls = fail_renames(monkeypatch, tmp_path)
    with pytest.raises(OSError, match="No space left"):
        lib.import_file(tmp_path / "s1.png", name="Green")
    with pytest.raises(OSError, match="No space left"):
        lib.rename(first.id, "Crimson")
    assert len(fail_calls) == 2
    assert tree(lib.folder) == before
    monkeypatch.undo()
    assert [(s.id, s.name) for s in StyleLibrary(lib.folder).styles()] == [(first.id, "Red")]


def test_model_hash_cache_keeps_its_file_when_the_rename_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIART_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(mh, "_memory", {})
    a, b = tmp_path / "a.safetensors", tmp_path / "b.safetensors"
    a.write_bytes(b"a" * 1000)
    b.write_bytes(b"b" * 1000)
    mh.model_sha256(a)
    cache = mh._cache_path()
    before = tree(cache.parent)
    fail_calls = fail_renames(monkeypatch, tmp_path)
    # A cache that cannot be written costs only hashing again later: the digest still comes.
    assert mh.model_sha256(b) == mh.hashlib.sha256(b.read_bytes()).hexdigest()
    assert len(fail_calls) == 1
    assert tree(cache.parent) == before
    assert list(json.loads(cache.read_text())) == [k for k in json.loads(before[cache.name])  # type: ignore[arg-type]
                                                   if k.startswith(str(a.resolve()))]


def test_builtin_style_thumbnail_is_not_left_half_written(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    thumbs = tmp_path / "thumbs"
    fail_calls = fail_renames(monkeypatch, tmp_path)
    with pytest.raises(OSError, match="No space left"):
        builtin_styles(thumbs)
    assert len(fail_calls) == 1
    assert list(thumbs.iterdir()) == []  # no thumbnail, no temporary file: rendered next time


def test_checkpoint_config_folder_is_built_whole_or_not_at_all(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch
                                                              ) -> None:
    cache = tmp_path / "configs"
    stale = cache / "sd15"
    stale.mkdir(parents=True)
    (stale / "model_index.json").write_text("{}")  # an older, incomplete copy
    before = tree(cache)
    # the old folder is set aside, and back
    fail_calls = fail_renames(monkeypatch, tmp_path, suffix=".dirtmp")
    with pytest.raises(OSError, match="No space left"):
        config_folder("sd15", cache)
    assert len(fail_calls) == 1
    assert tree(cache) == before  # the old folder back in place, no staging folder left
    monkeypatch.undo()
    built = config_folder("sd15", cache)
    assert built == stale and (built / ".complete").is_file()
    assert (built / "tokenizer" / "vocab.json").is_file()
    assert [p.name for p in cache.iterdir()] == ["sd15"]
