"""Live painting through the real worker and a tiny random-weight model: latest wins (checked on
the frame's pixels), a moved region cancels the frame in flight, Apply is one layer and one undo
step, Stop stops within one step, an error turns live off and the next job works, a normal job
turns live off. No wall-clock timing: the worker is held at chosen points with events."""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.live import LiveSettings
from aiart_desktop.core.geometry import Rect
from aiart_desktop.qt.live import LiveSession
from aiart_desktop.qt.worker import AiWorker
from tests.support.dock import make_doc
from tests.support.live import GATE_S, Gate, live_session

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
WAIT = 60_000


def _settings(**kw: Any) -> LiveSettings:
    kw.setdefault("model", "tiny-sd")
    kw.setdefault("steps", 2)
    kw.setdefault("seed", 7)
    return LiveSettings("a boat", **kw)


@pytest.fixture
def live(qtbot, stop_workers, tiny_engine) -> Iterator[tuple[LiveSession, AiWorker, list]]:
    yield from live_session(qtbot, stop_workers, tiny_engine)


@pytest.fixture
def gate(tiny_engine) -> Iterator[Any]:
    made: list[Gate] = []

    def make(at_step: int = 0) -> Gate:
        made.append(Gate(tiny_engine, at_step))
        return made[-1]

    yield make
    for g in made:
        g.close()


def _settled(session: LiveSession, worker: AiWorker) -> bool:
    return not worker.busy and session.state != "running"


def test_edits_during_a_frame_give_one_more_frame_from_the_last_picture(
        qtbot, live, tmp_path: Path) -> None:
    session, worker, jobs = live
    doc = session.document
    frames: list[Any] = []
    session.frame.connect(frames.append)
    session.recorder(tmp_path / "rec")
    session.start(_settings(region="selection"))
    assert session.state == "running" and len(jobs) == 1
    # N edits while the first frame is in flight (the UI thread has not returned to its loop,
    # so the frame cannot have come back yet).
    n = 4
    for k in range(n):
        dab = np.zeros((6, 6, 4), np.uint8)
        dab[...] = (20 * k, 200, 40, 255)
        doc.put_pixels(doc.layers[0], 74 + 6 * k, 50, dab)
    assert len(jobs) == 1  # nothing queued behind the running frame
    qtbot.waitUntil(lambda: len(frames) == 2 and _settled(session, worker), timeout=WAIT)
    assert len(jobs) == 2 <= n + 1 and session.scheduler.started == 2
    last = frames[-1]
    assert last is session.current and last.request is jobs[-1].request
    assert last.request.revision == doc.revision
    assert np.array_equal(last.request.image, doc.flatten(last.request.rect))
    assert not np.array_equal(frames[0].request.image, last.request.image)
    assert last.images[0].shape == (last.rect.h, last.rect.w, 3)
    # The recorder kept both frames with their parameters; live never wrote to the document.
    pngs = sorted((tmp_path / "rec").glob("frame-*.png"))
    assert [p.name for p in pngs] == ["frame-00001.png", "frame-00002.png"]
    assert "Seed: 7" in Image.open(pngs[-1]).text["parameters"]
    assert len(doc.layers) == 1 and doc.history.undo_count == 4


def test_moving_the_region_cancels_the_frame_in_flight(qtbot, live, gate) -> None:
    session, worker, jobs = live
    frames: list[Any] = []
    session.frame.connect(frames.append)
    g = gate()
    session.start(_settings(region="frame", frame=Rect(0, 0, 64, 64)))
    assert len(jobs) == 1
    session.update(_settings(region="frame", frame=Rect(64, 32, 64, 64)))
    assert len(jobs) == 2  # the stale frame is cancelled, the new one submitted
    g.open.set()
    qtbot.waitUntil(lambda: len(frames) == 1 and _settled(session, worker), timeout=WAIT)
    assert jobs[0].state == "cancelled" and jobs[1].state == "finished"
    assert frames[0].rect == Rect(64, 32, 64, 64) and len(jobs) == 2
    assert session.active


def test_apply_adds_one_layer_with_its_record_and_one_undo_step(qtbot, live) -> None:
    session, worker, jobs = live
    doc = session.document
    assert session.apply() is None  # no frame yet
    session.start(_settings(region="selection"))
    qtbot.waitUntil(lambda: session.current is not None and _settled(session, worker),
                    timeout=WAIT)
    undo_before, layers_before = doc.history.undo_count, len(doc.layers)
    layer = session.apply()
    assert layer is not None and len(doc.layers) == layers_before + 1
    assert doc.history.undo_count == undo_before + 1
    rec = layer.provenance
    assert rec is not None and rec["prompt"] == "a boat" and rec["seed"] == 7
    assert rec["op"] == "img2img" and rec["steps"] == 2
    doc.history.undo()
    assert len(doc.layers) == layers_before
    # Applying changed the picture: live makes a frame of it (and goes on).
    qtbot.waitUntil(lambda: _settled(session, worker), timeout=WAIT)
    assert session.active


def test_stop_stops_within_one_step(qtbot, live, gate) -> None:
    session, worker, jobs = live
    stops: list[str] = []
    session.stopped.connect(stops.append)
    g = gate(at_step=1)
    session.start(_settings(steps=8, strength=1.0))
    assert g.reached.wait(GATE_S)  # the worker is inside the first step
    session.stop()
    assert session.state == "off" and stops == [""]
    g.open.set()
    qtbot.waitUntil(lambda: jobs[0].done and not worker.busy, timeout=WAIT)
    assert jobs[0].state == "cancelled" and g.steps_after_open <= 1
    assert session.current is None and len(jobs) == 1


def test_a_pipeline_error_turns_live_off_and_the_next_job_works(qtbot, live,
                                                                 monkeypatch) -> None:
    from aiart_desktop.ai.backends.local import LocalBackend

    session, worker, jobs = live
    stops: list[str] = []
    session.stopped.connect(stops.append)

    def boom(*a: Any, **k: Any) -> Any:
        raise RuntimeError("the pipeline broke")

    monkeypatch.setattr(LocalBackend, "_run", boom)
    session.start(_settings())
    qtbot.waitUntil(lambda: bool(stops) and not worker.busy, timeout=WAIT)
    assert session.state == "off" and stops[0] and len(stops[0].splitlines()) <= 2
    monkeypatch.undo()
    # The document keeps changing: live stays off.
    session.document.put_pixels(session.document.layers[0], 0, 0,
                                np.full((4, 4, 4), 255, np.uint8))
    assert len(jobs) == 1
    job = worker.submit(make_request(session.document, "img2img", prompt="a boat",
                                     model="tiny-sd", steps=2, strength=0.5, seed=1))
    with qtbot.waitSignal(job.finished, timeout=WAIT):
        pass
    assert len(stops) == 1


def test_a_normal_job_or_another_document_turns_live_off(qtbot, live, gate) -> None:
    session, worker, jobs = live
    stops: list[str] = []
    session.stopped.connect(stops.append)
    g = gate()  # the frame waits on the worker until the normal job was submitted
    session.start(_settings())
    job = worker.submit(make_request(session.document, "img2img", prompt="a cat",
                                     model="tiny-sd", steps=2, strength=0.5, seed=2))
    assert session.state == "off" and stops == [""]
    assert jobs[0].state in ("queued", "running")  # cancelled on the worker, said later
    g.open.set()
    with qtbot.waitSignal(job.finished, timeout=WAIT):
        pass
    assert jobs[0].state == "cancelled" and session.current is None
    session.start(_settings())
    other = make_doc()
    session.set_document(other)
    assert session.state == "off" and stops == ["", ""] and session.document is other
    qtbot.waitUntil(lambda: not worker.busy, timeout=WAIT)


def test_the_region_decides_which_edits_make_a_frame(qtbot, live) -> None:
    from aiart_desktop.core import selection as sel

    session, worker, jobs = live
    doc = session.document
    frames: list[Any] = []
    session.frame.connect(frames.append)
    session.start(_settings(region="frame", frame=Rect(0, 0, 64, 64)))
    qtbot.waitUntil(lambda: len(frames) == 1 and _settled(session, worker), timeout=WAIT)
    doc.put_pixels(doc.layers[0], 150, 100, np.full((4, 4, 4), 255, np.uint8))  # outside
    assert not session.scheduler.dirty
    doc.put_pixels(doc.layers[0], 10, 10, np.full((4, 4, 4), 255, np.uint8))  # inside
    assert session.scheduler.dirty
    qtbot.waitUntil(lambda: len(frames) == 2 and _settled(session, worker), timeout=WAIT)
    # On the selection: a new selection is a new region.
    session.update(_settings(region="selection"))
    qtbot.waitUntil(lambda: len(frames) == 3 and _settled(session, worker), timeout=WAIT)
    doc.set_selection(sel.rect_mask(doc.width, doc.height, Rect(8, 16, 48, 40)))
    qtbot.waitUntil(lambda: len(frames) == 4 and _settled(session, worker), timeout=WAIT)
    assert frames[-1].rect == Rect(8, 16, 48, 40) and len(jobs) == 4
    # ... and paint outside the selection leaves its picture as it was: no frame.
    doc.put_pixels(doc.layers[0], 150, 100, np.full((4, 4, 4), 255, np.uint8))
    assert not session.scheduler.dirty
    doc.put_pixels(doc.layers[0], 20, 20, np.full((4, 4, 4), 255, np.uint8))  # inside
    assert session.scheduler.dirty
    qtbot.waitUntil(lambda: len(frames) == 5 and _settled(session, worker), timeout=WAIT)


def test_no_document_or_an_empty_region_turns_live_off_with_a_message(qtbot, live) -> None:
    session, worker, jobs = live
    doc = session.document
    stops: list[str] = []
    session.stopped.connect(stops.append)
    session.set_document(None)
    session.start(_settings())
    assert session.state == "off" and len(stops) == 1 and stops[0]
    session.set_document(doc)
    session.start(_settings(region="frame", frame=Rect(500, 500, 32, 32)))  # off the canvas
    assert session.state == "off" and len(stops) == 2 and "frame" in stops[1]
    assert len(stops[1].splitlines()) <= 2 and jobs == []
