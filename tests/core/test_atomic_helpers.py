"""core/io/atomic.py's helpers: whole files (bytes, text, JSON), publishing a finished file, and
whole folders replaced at once; a failure at any rename leaves the old content and no
temporary file or folder, and a replacement killed between its two renames is put back."""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from aiart_desktop.core.io import atomic
from aiart_desktop.core.io.atomic import (
    atomic_directory,
    atomic_write_bytes,
    atomic_write_json,
    atomic_write_text,
    move_into_place,
    remove_stale_temp_dirs,
    replace_directory,
    stale_temp_dirs,
)
from tests.support.child import child_env
from tests.support.renames import fail_renames


def tree(folder: Path) -> dict[str, bytes | None]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() if p.is_file() else None
            for p in sorted(folder.rglob("*"))}


def make_folder(path: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        (path / rel).parent.mkdir(parents=True, exist_ok=True)
        (path / rel).write_text(text)
    return path


def test_whole_file_helpers_write_and_keep_the_old_file_on_failure(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    b, t, j = tmp_path / "a.bin", tmp_path / "b.txt", tmp_path / "c.json"
    atomic_write_bytes(b, b"\x00\x01")
    atomic_write_text(t, "caf\u00e9\n")
    atomic_write_json(j, {"b": [1, 2], "a": "\u00e9"}, indent=None, sort_keys=True,
                      ensure_ascii=False)
    assert b.read_bytes() == b"\x00\x01" and t.read_text("utf-8") == "caf\u00e9\n"
    assert j.read_bytes() == '{"a": "\u00e9", "b": [1, 2]}\n'.encode()
    before = tree(tmp_path)
    calls = fail_renames(monkeypatch, tmp_path)
    for write in (lambda: atomic_write_bytes(b, b"new"), lambda: atomic_write_text(t, "new"),
                  lambda: atomic_write_json(j, {"new": 1})):
        with pytest.raises(OSError, match="No space left"):
            write()
    assert len(calls) == 3 and tree(tmp_path) == before
    monkeypatch.undo()
    # A value JSON cannot hold fails before the disk is touched.
    with pytest.raises(TypeError):
        atomic_write_json(j, {"x": object()})
    assert tree(tmp_path) == before


def test_move_into_place_publishes_or_removes_its_source(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch
                                                         ) -> None:
    target = tmp_path / "doc.ora"
    target.write_bytes(b"old")
    part = tmp_path / ".doc.ora.aiart-partial"
    part.write_bytes(b"new")
    calls = fail_renames(monkeypatch, tmp_path)
    with pytest.raises(OSError, match="No space left"):
        move_into_place(part, target)
    assert calls and [p.name for p in tmp_path.iterdir()] == ["doc.ora"]
    assert target.read_bytes() == b"old"
    monkeypatch.undo()
    part.write_bytes(b"new")
    move_into_place(part, target)
    assert [p.name for p in tmp_path.iterdir()] == ["doc.ora"] and target.read_bytes() == b"new"


def test_atomic_directory_replaces_a_folder_whole(tmp_path: Path) -> None:
    target = make_folder(tmp_path / "cfg", {"a.json": "old", "sub/b.txt": "old"})
    with atomic_directory(target) as staging:
        assert staging.parent == tmp_path and staging.name.startswith(".cfg.aiart-")
        assert list(staging.iterdir()) == []
        make_folder(staging, {"a.json": "new", "c/d.txt": "new"})
        assert tree(target) == {"a.json": b"old", "sub": None, "sub/b.txt": b"old"}
    assert tree(target) == {"a.json": b"new", "c": None, "c/d.txt": b"new"}
    assert [p.name for p in tmp_path.iterdir()] == ["cfg"]  # the old one is gone
    with atomic_directory(tmp_path / "fresh") as staging:  # no folder there before
        (staging / "x").write_text("x")
    assert (tmp_path / "fresh" / "x").read_text() == "x"


def test_atomic_directory_failures_leave_the_old_folder(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    target = make_folder(tmp_path / "cfg", {"a.json": "old"})
    before = tree(tmp_path)
    with pytest.raises(RuntimeError), atomic_directory(target) as staging:
        (staging / "a.json").write_text("half")
        raise RuntimeError("the build failed")
    assert tree(tmp_path) == before
    # The rename of the new folder fails: the old one, set aside, is put back.
    calls = fail_renames(monkeypatch, tmp_path, suffix=".dirtmp")
    with pytest.raises(OSError, match="No space left"), atomic_directory(target) as staging:
        (staging / "a.json").write_text("new")
    assert len(calls) == 1 and tree(tmp_path) == before
    monkeypatch.undo()
    # Setting the old folder aside fails: nothing moved at all.
    real = os.replace

    def no_aside(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if os.fspath(dst).endswith(".old"):
            raise PermissionError(errno.EACCES, "in use (injected)")
        real(src, dst)

    monkeypatch.setattr(os, "replace", no_aside)
    with pytest.raises(PermissionError), atomic_directory(target) as staging:
        (staging / "a.json").write_text("new")
    assert tree(tmp_path) == before


def test_replace_directory_checks_its_arguments(tmp_path: Path) -> None:
    staging = make_folder(tmp_path / "elsewhere" / "new", {"x": "1"})
    with pytest.raises(ValueError, match="not beside"):
        replace_directory(staging, tmp_path / "target")
    (tmp_path / "file").write_text("a file")
    beside = make_folder(tmp_path / "new", {"x": "1"})
    with pytest.raises(NotADirectoryError):
        replace_directory(beside, tmp_path / "file")
    assert (tmp_path / "file").read_text() == "a file" and beside.is_dir()
    replace_directory(beside, tmp_path / "target")
    assert (tmp_path / "target" / "x").read_text() == "1" and not beside.exists()


# Replaces folder argv[1] with a new one and is killed between the two renames (the old folder
# set aside, the new one not yet in place).
KILLED_SWAP = """
import os, sys, time
from aiart_desktop.core.io import atomic

real, n = os.replace, [0]

def replace(src, dst):
    n[0] += 1
    if n[0] == 2:
        print("between", flush=True)
        time.sleep(120)
    real(src, dst)

with atomic.atomic_directory(sys.argv[1]) as staging:
    (staging / "a.txt").write_text("new")
    os.replace = replace
sys.exit(3)
"""


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL")
def test_a_replacement_killed_between_its_renames_is_put_back(tmp_path: Path) -> None:
    target = make_folder(tmp_path / "gpu", {"a.txt": "old", "lib/x.so": "old"})
    proc = subprocess.Popen([sys.executable, "-c", KILLED_SWAP, str(target)], env=child_env(),
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "between"
    finally:
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
        if proc.stdout is not None:
            proc.stdout.close()
    assert not target.exists()
    names = sorted((p.name for p in tmp_path.iterdir()), key=lambda n: n.rsplit(".", 1)[1])
    assert len(names) == 2 and names[0].endswith(".dirtmp") and names[1].endswith(".old")
    assert sorted(stale_temp_dirs(target)) == sorted(str(tmp_path / n) for n in names)
    assert remove_stale_temp_dirs(target) == 1  # the staging folder; the old one goes back
    assert [p.name for p in tmp_path.iterdir()] == ["gpu"]
    assert tree(target) == {"a.txt": b"old", "lib": None, "lib/x.so": b"old"}


def test_only_our_dead_writers_folders_are_removed(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    host = atomic._HOST
    target = make_folder(tmp_path / "cfg", {"a": "a"})
    gone = [f".cfg.aiart-{host}-{dead.pid}-abcd1234.dirtmp"]
    kept = [f".cfg.aiart-{host}-{os.getpid()}-live0000.dirtmp",  # this process, working
            f".other.aiart-{host}-{dead.pid}-abcd1234.dirtmp",   # another folder's
            f".cfg.aiart-{host}-{dead.pid}-abcd1234.tmp",        # a file helper's name
            ".cfg.x7k2m9qa.dirtmp"]                             # not ours
    for name in gone + kept:
        (tmp_path / name).mkdir()
    (tmp_path / f".cfg.aiart-{host}-{dead.pid}-file0000.old").write_text("a file: never")
    kept.append(f".cfg.aiart-{host}-{dead.pid}-file0000.old")
    with atomic_directory(target) as staging:
        (staging / "b").write_text("b")
    assert {p.name for p in tmp_path.iterdir()} == {"cfg", *kept}
    assert tree(target) == {"b": b"b"}


def test_json_helper_writes_what_json_reads(tmp_path: Path) -> None:
    data = {"models": [{"id": "x", "path": "/m/\u00e9"}], "version": 1}
    atomic_write_json(tmp_path / "r.json", data)
    assert json.loads((tmp_path / "r.json").read_text("utf-8")) == data
