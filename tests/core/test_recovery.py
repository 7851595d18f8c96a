"""core/io/recovery.py without Qt: snapshots and sidecars written atomically, owners' liveness,
the scan for recoverable sessions, recovering and discarding them."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from aiart_desktop.core.document import Document
from aiart_desktop.core.io import ora, recovery
from aiart_desktop.core.io.recovery import (
    RecoveryEntry,
    RecoverySession,
    cleanup_stale,
    find_recoverable,
    lock_record,
    owner_alive,
    recover,
    recovered_entry,
    release_claim,
    snapshot_document,
)


def painted(seed: int = 1, size: tuple[int, int] = (48, 32)) -> Document:
    doc = Document.new(*size)
    layer = doc.add_layer("Ink")
    rng = np.random.default_rng(seed)
    doc.put_pixels(layer, 0, 0, rng.integers(0, 256, (size[1], size[0], 4), dtype=np.uint8))
    return doc


def pixels(doc: Document) -> np.ndarray:
    return np.stack([layer.read(doc.rect) for layer in doc.layers])


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def write(session: RecoverySession, doc: Document, name: str = "cat.ora") -> Path | None:
    return session.write(snapshot_document(doc), session.sidecar(doc, name), session.generation)


def orphan(session: RecoverySession) -> int:
    """Hand the session's files to a process that has exited, as if this one had crashed."""
    pid = dead_pid()
    session.lock_path.write_text(json.dumps({"pid": pid, "started": None}))
    side = json.loads(session.sidecar_path.read_text())
    session.sidecar_path.write_text(json.dumps({**side, "pid": pid}))
    return pid


def test_session_writes_snapshot_sidecar_and_lock(tmp_path: Path) -> None:
    folder = tmp_path / "recovery"
    session = RecoverySession.start(folder)
    assert session.sid.startswith(f"{os.getpid()}-")
    assert sorted(p.name for p in folder.iterdir()) == [f"{session.sid}.lock"]
    lock = json.loads(session.lock_path.read_text())
    assert lock["pid"] == os.getpid() and owner_alive(lock)
    doc = painted()
    doc.path = "/pictures/cat.ora"
    assert write(session, doc) == session.ora_path
    assert sorted(p.name for p in folder.iterdir()) == [
        f"{session.sid}.{e}" for e in ("json", "lock", "ora")]
    side = json.loads(session.sidecar_path.read_text())
    assert side["display_name"] == "cat.ora" and side["original_path"] == "/pictures/cat.ora"
    assert side["revision"] == doc.revision and (side["width"], side["height"]) == (48, 32)
    assert np.array_equal(pixels(ora.load_ora(session.ora_path)), pixels(doc))
    assert find_recoverable(folder) == []  # its owner (this process) is alive
    session.unpublish(keep_lock=True)
    assert [p.name for p in folder.iterdir()] == [f"{session.sid}.lock"]
    session.unpublish(keep_lock=False)
    assert list(folder.iterdir()) == []


def test_a_failed_rename_keeps_the_previous_autosave(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    session = RecoverySession.start(tmp_path)
    first = painted(1)
    write(session, first, "first.ora")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    real = os.replace
    sid = session.sid
    steps = {  # which rename fails: the snapshot's own, its publishing, the sidecar's
        "snapshot": lambda n: n.startswith(f".{sid}.partial.ora.aiart-"),
        "publish": lambda n: n == f"{sid}.partial.ora",
        "sidecar": lambda n: n.startswith(f".{sid}.json.aiart-"),
    }
    for step, hit in steps.items():
        calls: list[str] = []

        def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str],
                    hit: Callable[[str], bool] = hit, calls: list[str] = calls) -> None:
            if hit(os.path.basename(os.fspath(src))):
                calls.append(os.fspath(src))
                raise OSError(errno.ENOSPC, "No space left on device (injected)")
            real(src, dst)

        monkeypatch.setattr(os, "replace", replace)
        with pytest.raises(OSError, match="No space left"):
            write(session, painted(2), "second.ora")
        monkeypatch.undo()
        assert len(calls) == 1, step
        after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
        if step == "sidecar":  # the new snapshot is in; only its sidecar is the old one
            assert after.keys() == before.keys()
            assert after[f"{sid}.json"] == before[f"{sid}.json"]
            assert np.array_equal(pixels(ora.load_ora(session.ora_path)), pixels(painted(2)))
        else:
            assert after == before, step  # no partial file, no temporary file

    # A claim (lock rewrite) that cannot be written keeps the old lock.
    orphan(session)
    (entry,) = find_recoverable(tmp_path)
    lock = session.lock_path.read_bytes()
    def full(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        raise OSError(errno.ENOSPC, "No space left on device (injected)")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError, match="No space left"):
        entry.claim()
    monkeypatch.undo()
    assert session.lock_path.read_bytes() == lock
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(before)


def test_unpublish_during_a_write_publishes_nothing(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    session = RecoverySession.start(tmp_path)
    real_save, started, gate = ora.save_ora, threading.Event(), threading.Event()

    def slow_save(doc: Document, path: os.PathLike[str]) -> None:
        started.set()
        gate.wait(10)
        real_save(doc, path)

    monkeypatch.setattr(ora, "save_ora", slow_save)
    result: list[Path | None] = []
    gen = session.generation
    t = threading.Thread(target=lambda: result.append(
        session.write(painted(), {"v": 1}, gen)))
    t.start()
    assert started.wait(10)
    session.unpublish(keep_lock=False)
    gate.set()
    t.join(10)
    assert result == [None] and list(tmp_path.iterdir()) == []


def test_dead_owners_sessions_are_found_recovered_and_discarded(tmp_path: Path) -> None:
    older, newer = RecoverySession.start(tmp_path), RecoverySession.start(tmp_path)
    a, b = painted(3), painted(4, (20, 10))
    b.path = "/pictures/b.ora"
    write(older, a, "a.ora")
    write(newer, b, "b.ora")
    side = json.loads(older.sidecar_path.read_text())
    older.sidecar_path.write_text(json.dumps({**side, "saved_at": side["saved_at"] - 100}))
    pid = orphan(older)
    orphan(newer)
    entries = find_recoverable(tmp_path)
    assert [e.session_id for e in entries] == [newer.sid, older.sid]  # newest first
    assert entries[1].pid == pid and entries[1].display_name == "a.ora"
    assert entries[0].original_path == "/pictures/b.ora"
    assert entries[0].describe().startswith("b.ora (autosaved ")
    errors: list[tuple[RecoveryEntry, Exception]] = []
    docs = recover(entries, [entries[0]], lambda e, x: errors.append((e, x)))
    assert errors == [] and len(docs) == 1
    got = docs[0]
    assert got.modified and got.path == "/pictures/b.ora"
    assert np.array_equal(pixels(got), pixels(b))
    got.history.undo()
    assert got.modified  # still differs from the file on disk
    assert not older.ora_path.exists() and not older.lock_path.exists()  # not chosen: gone
    # Claimed by this (live) process: kept on disk, not offered again, until released.
    assert recovered_entry(got) == entries[0] and find_recoverable(tmp_path) == []
    assert newer.ora_path.exists()
    assert release_claim(got) and recovered_entry(got) is None
    assert list(tmp_path.iterdir()) == []
    assert release_claim(got) is False and release_claim(None) is False


def test_a_broken_autosave_is_reported_and_kept(tmp_path: Path) -> None:
    session = RecoverySession.start(tmp_path)
    write(session, painted())
    orphan(session)
    session.ora_path.write_bytes(b"PK\x03\x04 not really a zip")
    entries = find_recoverable(tmp_path)
    errors: list[tuple[RecoveryEntry, Exception]] = []
    assert recover(entries, entries, lambda e, x: errors.append((e, x))) == []
    assert len(errors) == 1 and str(session.ora_path) in str(errors[0][1])
    assert session.ora_path.exists() and len(find_recoverable(tmp_path)) == 1


def test_damaged_sidecar_is_still_offered_and_cleanup_keeps_the_living(tmp_path: Path) -> None:
    session = RecoverySession.start(tmp_path)
    write(session, painted())
    orphan(session)
    session.sidecar_path.write_text('{"saved_at": "yesterday", "display_name": 5}')
    (entry,) = find_recoverable(tmp_path)
    assert entry.display_name == "Untitled" and entry.original_path is None
    assert entry.session_id == session.sid
    pid = dead_pid()
    (tmp_path / "123-dead.lock").write_text(json.dumps({"pid": pid}))
    (tmp_path / ".123-dead.partial.ora.aiart-0-1-abcd.tmp").write_bytes(b"half")
    (tmp_path / "456-live.lock").write_text(json.dumps(lock_record()))
    (tmp_path / "789-reused.lock").write_text(json.dumps({"pid": os.getpid(), "started": -5.0}))
    (tmp_path / "000-junk.lock").write_text("not json")
    cleanup_stale(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["456-live.lock", session.lock_path.name, session.ora_path.name,
         session.sidecar_path.name])
    assert not owner_alive({"pid": "x"}) and not owner_alive({"pid": pid})
    assert owner_alive({"pid": os.getpid(), "started": None})
    assert find_recoverable(tmp_path / "missing") == []


def test_snapshot_is_independent_of_later_painting() -> None:
    doc = painted()
    mask = np.zeros((32, 48), np.uint8)
    mask[4:12, 4:12] = 255
    doc.set_selection(mask)
    doc.metadata["note"] = {"a": [1]}
    snap = snapshot_document(doc)
    before = pixels(snap)
    doc.put_pixels(doc.layers[1], 0, 0, np.zeros((8, 8, 4), np.uint8))
    doc.metadata["note"]["a"].append(2)
    assert np.array_equal(pixels(snap), before) and not np.array_equal(pixels(doc), before)
    assert snap.active is not None and snap.active.name == "Ink" and snap.active is not doc.active
    assert snap.selection is not doc.selection and np.array_equal(snap.selection, mask)
    assert snap.metadata == {"note": {"a": [1]}}


def test_recovery_module_imports_without_qt() -> None:
    code = ("import sys; import aiart_desktop.core.io.recovery; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('PySide6', 'shiboken6') or m.startswith(('aiart_desktop.ai', "
            "'aiart_desktop.qt', 'aiart_desktop.settings'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.strip()
    assert out == "[]"
    assert recovery.__name__ == "aiart_desktop.core.io.recovery"
