"""A save killed mid-write leaves the old file intact and its temporary file beside it; the next
save of that file removes the leftover, and nothing else: not a live writer's temporary file,
not other programs' or other documents' files."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from aiart_desktop.core.document import Document
from aiart_desktop.core.io import atomic, load_ora, save_ora
from aiart_desktop.core.io.atomic import stale_temp_files, write_atomically
from tests.support.child import child_env

# Writes the file named in argv[1] through atomic_write: 1 MiB, a line on stdout, then more
# until killed (or, with "wait" in argv[2], until a line arrives on stdin, then finishes).
WRITER = """
import os, sys, time
from aiart_desktop.core.io.atomic import atomic_write
with atomic_write(sys.argv[1]) as f:
    f.write(b"N" * (1 << 20)); f.flush()
    print("writing", flush=True)
    if sys.argv[2:] == ["wait"]:
        sys.stdin.readline()
    else:
        end = time.monotonic() + 120
        while time.monotonic() < end:
            f.write(b"n" * 65536); f.flush(); time.sleep(0.01)
        sys.exit(3)
"""


def _writer(path: Path, *args: str) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), *args],
                            env=child_env(),
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "writing"
    return proc


def _temps(folder: Path, name: str) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.name.startswith(f".{name}.aiart-"))


def _document() -> Document:
    doc = Document.new(96, 64)
    rng = np.random.default_rng(5)
    doc.put_pixels(doc.layers[0], 0, 0, rng.integers(0, 256, (64, 96, 4), dtype=np.uint8))
    return doc


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_save_killed_mid_write_is_cleaned_up_by_the_next_save(tmp_path: Path) -> None:
    doc = _document()
    path = tmp_path / "painting.ora"
    save_ora(doc, path)
    before = path.read_bytes()
    seen: list[Path] = []
    for _ in range(2):  # two killed saves: each leaves its temporary file ...
        proc = _writer(path)
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
        assert path.read_bytes() == before  # the old file is intact
        left = _temps(tmp_path, "painting.ora")
        # ... and the second, a save of the same file too, removed the first one's
        assert len(left) == 1 and left[0] not in seen and left[0].stat().st_size >= 1 << 20
        seen.append(left[0])
    assert stale_temp_files(path) == [str(seen[-1])]

    doc.put_pixels(doc.layers[0], 0, 0, np.full((8, 8, 4), 255, np.uint8))
    save_ora(doc, path)  # the next save of that file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["painting.ora"]
    assert np.array_equal(load_ora(path).flatten(), doc.flatten())


def test_a_live_writers_temporary_file_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "shared.png"
    path.write_bytes(b"old")
    proc = _writer(path, "wait")  # another process, in the middle of saving the same file
    try:
        live = _temps(tmp_path, "shared.png")
        assert len(live) == 1 and stale_temp_files(path) == []
        write_atomically(path, lambda f: f.write(b"ours"))
        assert path.read_bytes() == b"ours" and _temps(tmp_path, "shared.png") == live
    finally:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.close()
        assert proc.wait(timeout=60) == 0
    # its save completed normally: its file replaced ours, its temporary file became it
    assert path.stat().st_size == 1 << 20 and _temps(tmp_path, "shared.png") == []


def test_only_our_leftovers_of_that_file_are_removed(tmp_path: Path) -> None:
    host, dead = atomic._HOST, _dead_pid()
    other_host = "0" * 8 if host != "0" * 8 else "1" * 8
    path = tmp_path / "doc.ora"
    path.write_bytes(b"old")
    gone = [f".doc.ora.aiart-{host}-{dead}-abcd_123.tmp",          # writer gone
            f".doc.ora.aiart-{other_host}-{dead}-zz9yy8xx.tmp"]    # elsewhere, long untouched
    kept = [".doc.ora.x7k2m9qa.tmp",                            # not ours (no aiart- tag)
            f".other.ora.aiart-{host}-{dead}-abcd_123.tmp",       # another document's
            f".doc.ora.aiart-{host}-{dead}-abcd_123.tmp.keep",    # not a temp name
            f"doc.ora.aiart-{host}-{dead}-abcd_123.tmp",          # not hidden: not ours
            f".doc.ora.aiart-{other_host}-{dead}-recent00.tmp",   # elsewhere, written just now
            f".doc.ora.aiart-{host}-{os.getpid()}-ownthrd0.tmp",  # this process, still writing
            ".doc.ora.aiart-nothex00-12-abcdefgh.tmp"]           # malformed
    for name in gone + kept:
        (tmp_path / name).write_bytes(b"x")
    hour_ago = time.time() - atomic.STALE_AGE - 60
    os.utime(tmp_path / gone[1], (hour_ago, hour_ago))
    (tmp_path / f".doc.ora.aiart-{host}-{dead}-folder00.tmp").mkdir()  # a folder: never
    write_atomically(path, lambda f: f.write(b"new"))
    names = {p.name for p in tmp_path.iterdir()}
    assert names == {"doc.ora", *kept, f".doc.ora.aiart-{host}-{dead}-folder00.tmp"}
    assert path.read_bytes() == b"new"


def test_a_long_file_name_still_saves_and_is_cleaned_up(tmp_path: Path) -> None:
    name = "p" * 230 + ".ora"  # near NAME_MAX: the temp name must still fit
    path = tmp_path / name
    write_atomically(path, lambda f: f.write(b"one"))
    proc = _writer(path)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    left = [p for p in tmp_path.iterdir() if p.name != name]
    assert len(left) == 1 and len(left[0].name.encode()) <= 255
    write_atomically(path, lambda f: f.write(b"two"))
    assert [p.name for p in tmp_path.iterdir()] == [name] and path.read_bytes() == b"two"


@pytest.mark.skipif(os.name != "posix", reason="uses a POSIX pid")
def test_pid_alive() -> None:
    assert atomic.pid_alive(os.getpid()) and not atomic.pid_alive(_dead_pid())
    assert not atomic.pid_alive(0)
