"""Autosave and crash recovery: real files, real threads, a real killed process."""
from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import numpy as np
import pytest

from aiart_desktop.core.brush import BrushSettings, Stroke
from aiart_desktop.core.document import Document
from aiart_desktop.core.io import ora
from aiart_desktop.core.io.recovery import RecoveryEntry, snapshot_document
from aiart_desktop.qt import autosave as aus
from aiart_desktop.qt.autosave import (
    AutosaveManager,
    check_and_offer_recovery,
    cleanup_stale,
    find_recoverable,
)

REPO = Path(__file__).resolve().parents[2]


def paint(doc: Document, color: tuple[int, int, int] = (200, 30, 40), y: float = 20) -> None:
    layer = doc.active_layer
    assert layer is not None
    s = Stroke(doc, layer, BrushSettings(size=9, color=color), 10, y)
    for i in range(1, 8):
        s.move(10 + 12 * i, y + 5 * i)
    s.end()


def pixels(doc: Document) -> list[np.ndarray]:
    return [layer.read(doc.rect) for layer in doc.layers]


def session_files(folder: Path, mgr: AutosaveManager) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if mgr.session_id and mgr.session_id in p.name)


def dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def make_dead_session(folder: Path, qtbot, doc: Document, name: str = "Sketch") -> str:  # type: ignore[no-untyped-def]
    """Autosave `doc` here, then hand the files to a process that has exited."""
    mgr = AutosaveManager(folder, interval_s=3600)
    mgr.attach(doc, name)
    assert mgr.save_now()
    assert mgr.wait(10)
    sid = mgr.session_id
    assert sid is not None
    pid = dead_pid()
    (folder / f"{sid}.lock").write_text(json.dumps({"pid": pid, "started": None}))
    side = folder / f"{sid}.json"
    side.write_text(json.dumps({**json.loads(side.read_text()), "pid": pid}))
    mgr._writer = None  # forget it without deleting: as if the process had died
    mgr.doc = None
    return sid


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "recovery"


def test_killed_process_is_recovered_with_exact_pixels(tmp_path: Path, folder: Path) -> None:
    script = tmp_path / "child.py"
    script.write_text(textwrap.dedent("""
        import sys
        import numpy as np
        from PySide6.QtCore import QCoreApplication
        from aiart_desktop.core.brush import BrushSettings, Stroke
        from aiart_desktop.core.document import Document
        from aiart_desktop.qt.autosave import AutosaveManager

        folder, expected = sys.argv[1], sys.argv[2]
        app = QCoreApplication([])
        doc = Document.new(160, 120)
        doc.path = "/pictures/original.ora"
        layer = doc.add_layer("Ink")
        s = Stroke(doc, layer, BrushSettings(size=11, hardness=0.5, color=(200, 30, 40)), 12, 15)
        for i in range(1, 12):
            s.move(12 + 11 * i, 15 + 8 * i, pressure=0.4 + 0.05 * i)
        s.end()
        doc.add_layer("Empty")
        np.save(expected, np.stack([l.read(doc.rect) for l in doc.layers]))
        mgr = AutosaveManager(folder, interval_s=0.02)
        mgr.saved.connect(lambda path: print("SAVED", path, flush=True))
        mgr.attach(doc, "original.ora")
        app.exec()  # idle, like a painter thinking, until killed
    """))
    expected = tmp_path / "expected.npy"
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    child = subprocess.Popen([sys.executable, str(script), str(folder), str(expected)],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = child.stdout.readline() if child.stdout else ""
        assert line.startswith("SAVED"), (line, child.stderr.read() if child.stderr else "")
        assert Path(line.split(" ", 1)[1].strip()).is_file()
        assert find_recoverable(folder) == []  # the owner is alive: not offered
    finally:
        child.send_signal(getattr(signal, "SIGKILL", signal.SIGTERM))  # no goodbye
        child.wait(10)
        for stream in (child.stdout, child.stderr):
            if stream:
                stream.close()
    assert child.returncode != 0

    entries = find_recoverable(folder)
    assert len(entries) == 1
    entry = entries[0]
    assert entry.pid == child.pid
    assert entry.display_name == "original.ora"
    assert entry.original_path == "/pictures/original.ora"
    doc = entry.load()
    assert doc.modified and doc.path == "/pictures/original.ora"
    assert [n.name for n in doc.layers] == ["Background", "Ink", "Empty"]
    want = np.load(expected)
    got = np.stack(pixels(doc))
    assert got.shape == want.shape
    assert np.array_equal(got, want)
    assert want[1][..., 3].any()  # the stroke really is there
    doc.history.undo()
    assert doc.modified  # still differs from the file on disk
    entry.discard()
    assert find_recoverable(folder) == [] and list(folder.iterdir()) == []


def test_no_autosave_while_unmodified(folder: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    doc = Document.new(64, 64)
    mgr = AutosaveManager(folder, interval_s=0.01)
    mgr.attach(doc, "Untitled")
    assert mgr.save_now() is False
    qtbot.wait(100)
    assert not mgr.autosave_path.exists()  # type: ignore[union-attr]
    assert session_files(folder, mgr) == [f"{mgr.session_id}.lock"]
    paint(doc)
    with qtbot.waitSignal(mgr.saved, timeout=10000) as sig:
        pass
    assert sig.args[0] == str(mgr.autosave_path)
    revision = doc.revision
    # Nothing new: no further writes.
    assert mgr.save_now() is False and doc.revision == revision
    mgr.discard()


def test_write_runs_off_the_ui_thread_one_at_a_time(folder: Path, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real_save = ora.save_ora
    calls: list[int] = []
    active, most = [0], [0]
    gate = threading.Event()

    def slow_save(doc: Document, path: os.PathLike[str]) -> None:
        calls.append(threading.get_ident())
        active[0] += 1
        most[0] = max(most[0], active[0])
        gate.wait(10)
        real_save(doc, path)
        active[0] -= 1

    monkeypatch.setattr(ora, "save_ora", slow_save)
    doc = Document.new(96, 96)
    mgr = AutosaveManager(folder, interval_s=3600)
    mgr.attach(doc, "Untitled")
    paint(doc)
    assert mgr.save_now() is True
    assert mgr.is_writing  # the UI thread came back while the write is blocked
    paint(doc, color=(10, 200, 10), y=50)  # painting goes on meanwhile
    assert mgr.save_now() is False  # never two writes at once: queued instead
    gate.set()
    qtbot.waitUntil(lambda: len(calls) == 2 and not mgr.is_writing, timeout=10000)
    qtbot.waitUntil(lambda: not mgr._poll.isActive(), timeout=10000)
    assert most[0] == 1
    assert threading.get_ident() not in calls
    assert mgr.last_write_thread == calls[-1]
    # The second write has the latest state.
    saved = ora.load_ora(mgr.autosave_path)  # type: ignore[arg-type]
    assert all(np.array_equal(a, b) for a, b in zip(pixels(saved), pixels(doc), strict=True))
    mgr.discard()


def test_snapshot_is_independent_of_later_painting() -> None:
    doc = Document.new(80, 80)
    doc.add_layer("Top")
    paint(doc)
    mask = np.zeros((80, 80), np.uint8)
    mask[10:30, 10:30] = 255
    doc.set_selection(mask)
    doc.metadata["note"] = {"a": [1]}
    snap = snapshot_document(doc)
    before = pixels(snap)
    paint(doc, color=(0, 0, 255), y=12)  # inside the selection
    doc.metadata["note"]["a"].append(2)
    assert all(np.array_equal(a, b) for a, b in zip(pixels(snap), before, strict=True))
    assert not np.array_equal(pixels(snap)[1], pixels(doc)[1])
    assert snap.active is not None and snap.active.name == "Top" and snap.active is not doc.active
    assert snap.selection is not doc.selection and np.array_equal(snap.selection, mask)
    assert snap.metadata == {"note": {"a": [1]}}


def test_discard_on_clean_close_removes_everything(folder: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    doc = Document.new(64, 64)
    mgr = AutosaveManager(folder, interval_s=3600)
    mgr.attach(doc, "Untitled")
    paint(doc)
    assert mgr.save_now() and mgr.wait(10)
    sid = mgr.session_id
    assert sorted(p.name for p in folder.iterdir()) == [f"{sid}.{e}" for e in ("json", "lock",
                                                                                "ora")]
    mgr.discard()
    assert list(folder.iterdir()) == []
    assert mgr.doc is None and mgr.save_now() is False


def test_discard_during_a_write_publishes_nothing(folder: Path, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real_save, gate = ora.save_ora, threading.Event()

    def slow_save(doc: Document, path: os.PathLike[str]) -> None:
        gate.wait(10)
        real_save(doc, path)

    monkeypatch.setattr(ora, "save_ora", slow_save)
    doc = Document.new(64, 64)
    mgr = AutosaveManager(folder, interval_s=3600)
    mgr.attach(doc, "Untitled")
    paint(doc)
    writer = mgr._writer
    assert writer is not None and mgr.save_now()
    mgr.discard()
    gate.set()
    assert writer.thread is not None
    writer.thread.join(10)
    assert list(folder.iterdir()) == []


def test_saving_the_document_drops_its_autosave(folder: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    doc = Document.new(64, 64)
    mgr = AutosaveManager(folder, interval_s=0.01)
    mgr.attach(doc, "Untitled")
    paint(doc)
    qtbot.waitUntil(lambda: mgr.autosave_path.exists(), timeout=10000)  # type: ignore[union-attr]
    doc.history.set_clean()  # what a successful Save does
    qtbot.waitUntil(lambda: not mgr.autosave_path.exists(), timeout=10000)  # type: ignore[union-attr]
    assert session_files(folder, mgr) == [f"{mgr.session_id}.lock"]  # still a live session
    paint(doc, y=40)
    qtbot.waitUntil(lambda: mgr.autosave_path.exists(), timeout=10000)  # type: ignore[union-attr]
    mgr.wait(10)
    # Attaching another document discards the first one's files.
    mgr.attach(Document.new(32, 32), "Second")
    assert [p.name for p in folder.iterdir()] == [f"{mgr.session_id}.lock"]
    mgr.discard()


def test_offer_recovery_later_discard_and_recover(folder: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    doc = Document.new(64, 48)
    paint(doc)
    sid = make_dead_session(folder, qtbot, doc)
    asked: list[list[RecoveryEntry]] = []

    def later(parent, entries):  # type: ignore[no-untyped-def]
        asked.append(list(entries))
        return None

    assert check_and_offer_recovery(None, ask=later, folder=folder) == []
    assert [e.session_id for e in asked[0]] == [sid]
    assert asked[0][0].describe().startswith("Sketch (autosaved ")
    assert len(find_recoverable(folder)) == 1  # kept for next time

    docs = check_and_offer_recovery(None, ask=lambda p, e: list(e), folder=folder)
    assert len(docs) == 1
    got = docs[0]
    assert got.modified and got.path is None
    assert all(np.array_equal(a, b) for a, b in zip(pixels(got), pixels(doc), strict=True))
    assert aus.recovered_entry(got) is not None
    # Claimed by this (live) process: not offered again, but still on disk until re-secured.
    assert find_recoverable(folder) == []
    assert (folder / f"{sid}.ora").exists()
    mgr = AutosaveManager(folder, interval_s=3600)
    with qtbot.waitSignal(mgr.saved, timeout=10000):
        mgr.attach(got, "Sketch")  # a recovered document is autosaved at once
    qtbot.waitUntil(lambda: not (folder / f"{sid}.ora").exists(), timeout=10000)
    assert sorted(p.suffix for p in folder.iterdir()) == [".json", ".lock", ".ora"]
    mgr.discard()

    make_dead_session(folder, qtbot, doc)
    assert check_and_offer_recovery(None, ask=lambda p, e: [], folder=folder) == []
    assert list(folder.iterdir()) == []


def test_broken_autosave_is_reported_and_kept(folder: Path, qtbot) -> None:  # type: ignore[no-untyped-def]
    doc = Document.new(32, 32)
    paint(doc)
    sid = make_dead_session(folder, qtbot, doc)
    (folder / f"{sid}.ora").write_bytes(b"PK\x03\x04 not really a zip")
    errors: list[tuple[RecoveryEntry, Exception]] = []
    docs = check_and_offer_recovery(None, ask=lambda p, e: list(e), folder=folder,
                                    on_error=lambda e, x: errors.append((e, x)))
    assert docs == [] and len(errors) == 1
    assert str(folder / f"{sid}.ora") in str(errors[0][1])
    assert (folder / f"{sid}.ora").exists()


def test_cleanup_and_liveness(folder: Path) -> None:
    folder.mkdir()
    pid = dead_pid()
    (folder / "123-dead.lock").write_text(json.dumps({"pid": pid}))
    (folder / ".123-dead.partial.ora.x.tmp").write_bytes(b"half")
    (folder / "456-live.lock").write_text(json.dumps({"pid": os.getpid()}))
    (folder / "789-reused.lock").write_text(json.dumps({"pid": os.getpid(), "started": -5.0}))
    cleanup_stale(folder)
    assert sorted(p.name for p in folder.iterdir()) == ["456-live.lock"]
    assert aus.pid_alive(os.getpid()) and not aus.pid_alive(pid) and not aus.pid_alive(0)


def test_default_folder_comes_from_settings(qtbot) -> None:  # type: ignore[no-untyped-def]
    from aiart_desktop.settings import recovery_dir

    mgr = AutosaveManager(interval_s=60)
    assert mgr.recovery_dir == recovery_dir()
    assert str(mgr.recovery_dir).startswith(os.environ["AIART_DATA_DIR"])
    assert mgr.interval_s == 60
    mgr.interval_s = 0.5
    assert mgr.interval_s == 0.5


def test_failed_write_is_reported_and_retried(folder: Path, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    real_save = ora.save_ora
    doc = Document.new(48, 48)
    mgr = AutosaveManager(folder, interval_s=3600)
    mgr.attach(doc, "Untitled")
    paint(doc)
    assert mgr.save_now() and mgr.wait(10)
    good = mgr.autosave_path.read_bytes()  # type: ignore[union-attr]

    def full_disk(doc: Document, path: os.PathLike[str]) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(ora, "save_ora", full_disk)
    paint(doc, y=30)
    with qtbot.waitSignal(mgr.failed, timeout=10000) as sig:
        assert mgr.save_now()
    assert "No space left" in sig.args[0]
    assert mgr.autosave_path.read_bytes() == good  # type: ignore[union-attr]
    assert not list(folder.glob(f"*{mgr.session_id}.partial*"))
    monkeypatch.setattr(ora, "save_ora", real_save)
    with qtbot.waitSignal(mgr.saved, timeout=10000):
        assert mgr.save_now()  # same revision, retried because it failed
    monkeypatch.setattr(ora, "save_ora", full_disk)
    paint(doc, y=40)
    with qtbot.waitSignal(mgr.failed, timeout=10000):
        mgr.save_now()
    doc.history.set_clean()  # the user saved: the older autosave must not linger
    mgr.save_now()
    assert session_files(folder, mgr) == [f"{mgr.session_id}.lock"]
    mgr.discard()


def test_a_failed_rename_keeps_the_last_autosave(folder: Path, qtbot, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    doc = Document.new(48, 48)
    mgr = AutosaveManager(folder, interval_s=3600)
    mgr.attach(doc, "Untitled")
    paint(doc)
    assert mgr.save_now() and mgr.wait(10)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    real, calls = os.replace, []

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        if ".aiart-" in os.path.basename(os.fspath(src)):  # core.io.atomic's temporary files
            calls.append(src)
            raise OSError(errno.ENOSPC, "No space left on device")
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    paint(doc, y=30)
    with qtbot.waitSignal(mgr.failed, timeout=10000) as sig:
        assert mgr.save_now()
    assert "No space left" in sig.args[0] and calls
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # nothing else left
    monkeypatch.undo()
    with qtbot.waitSignal(mgr.saved, timeout=10000):
        assert mgr.save_now()  # retried
    saved = ora.load_ora(mgr.autosave_path)  # type: ignore[arg-type]
    assert all(np.array_equal(a, b) for a, b in zip(pixels(saved), pixels(doc), strict=True))
    mgr.discard()
