"""Apply of a live frame TAESD decoded: the frame's own request is made again with the full VAE on
the real worker (live stays on) and THAT picture becomes one layer, one undo step, with a record
saying "vae"; a frame the VAE made applies at once. Tiny random-weight SD and TAESD models in a
models folder, through the app's registry and engine. The model manager's compile checkbox
sets `settings.torch_compile`."""
from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from aiart_desktop.ai.apply import apply_result
from aiart_desktop.ai.live import LiveSettings
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.requests import AiResult
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.qt.live import LiveSession
from aiart_desktop.qt.worker import AiWorker
from tests.support.dock import make_doc
from tests.support.live import live_session

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
WAIT = 60_000


@pytest.fixture(scope="module")
def taesd_engine(model_folders, tmp_path_factory) -> Any:
    reg = ModelRegistry(tmp_path_factory.mktemp("live-taesd-models"), allow_pickle=False)
    reg.add_folder(model_folders["sd"], name="sd")
    shutil.copytree(model_folders["taesd"], reg.catalogue_folder("taesd"))
    return default_engine(reg, device="cpu")


@pytest.fixture
def live(qtbot, stop_workers, taesd_engine) -> Iterator[tuple[LiveSession, AiWorker, list]]:
    yield from live_session(qtbot, stop_workers, taesd_engine)


@pytest.fixture
def live_vae(qtbot, stop_workers, tiny_engine) -> Iterator[tuple[LiveSession, AiWorker, list]]:
    yield from live_session(qtbot, stop_workers, tiny_engine)


def _settled(session: LiveSession, worker: AiWorker) -> bool:
    return not worker.busy and session.state != "running" and not session.applying


def test_apply_of_a_taesd_frame_adds_the_full_vae_picture(qtbot, live, taesd_engine) -> None:
    session, worker, jobs = live
    doc = session.document
    stops: list[str] = []
    session.stopped.connect(stops.append)
    session.start(LiveSettings("a boat", model="sd", steps=2, seed=7))
    qtbot.waitUntil(lambda: session.current is not None and _settled(session, worker),
                    timeout=WAIT)
    frame = session.current
    assert frame is not None and frame.info["decoder"] == "taesd"
    assert frame.record()["decoder"] == "taesd"
    undo_before, layers_before, n_jobs = doc.history.undo_count, len(doc.layers), len(jobs)
    picture_before = doc.flatten(frame.rect).copy()
    redone: list[AiResult] = []
    with qtbot.waitSignal(session.applied, timeout=WAIT) as applied:
        assert session.apply() is None and session.applying  # re-made first, on the worker
        assert len(jobs) == n_jobs + 1 and session.active  # live stays on
        jobs[-1].finished.connect(redone.append)
        assert session.apply() is None and len(jobs) == n_jobs + 1  # one re-run at a time
    layer = applied.args[0]
    assert not session.applying and session.active and stops == []
    assert len(doc.layers) == layers_before + 1 and layer in doc.layers
    assert doc.history.undo_count == undo_before + 1  # one undo step
    rec = layer.provenance
    assert rec["decoder"] == "vae" and rec["seed"] == 7 and rec["op"] == "img2img"
    assert "TAESD" not in redone[0].parameters()
    # The re-run is the same request (same pixels, same seed) with the VAE: the VAE's picture,
    # not the frame's.
    vae = redone[0]
    assert vae.request.decoder == "vae" and vae.request.seed == frame.request.seed
    assert np.array_equal(vae.request.image, frame.request.image)
    expected = taesd_engine.run(dataclasses.replace(frame.request, decoder="vae"))
    assert np.array_equal(vae.images[0], expected.images[0])
    assert not np.array_equal(vae.images[0], frame.images[0])
    shown = doc.flatten(frame.rect).copy()
    doc.history.undo()
    assert len(doc.layers) == layers_before
    assert np.array_equal(doc.flatten(frame.rect), picture_before)
    again = apply_result(doc, expected, 0)  # what applying the VAE's result shows
    assert np.array_equal(doc.flatten(frame.rect), shown) and again.provenance["decoder"] == "vae"
    qtbot.waitUntil(lambda: _settled(session, worker), timeout=WAIT)
    assert session.active


def test_apply_of_a_vae_frame_is_at_once(qtbot, live_vae) -> None:
    session, worker, jobs = live_vae  # no TAESD installed: frames are the VAE's
    doc = session.document
    session.start(LiveSettings("a boat", model="tiny-sd", steps=2, seed=7))
    qtbot.waitUntil(lambda: session.current is not None and _settled(session, worker),
                    timeout=WAIT)
    assert session.current is not None and session.current.info["decoder"] == "vae"
    n_jobs, undo_before = len(jobs), doc.history.undo_count
    got: list[Any] = []
    session.applied.connect(got.append)
    layer = session.apply()
    assert layer is not None and got == [layer] and len(jobs) == n_jobs  # no re-run
    assert doc.history.undo_count == undo_before + 1 and layer.provenance["decoder"] == "vae"
    qtbot.waitUntil(lambda: _settled(session, worker), timeout=WAIT)


def test_switching_documents_drops_a_pending_apply(qtbot, live) -> None:
    session, worker, jobs = live
    doc = session.document
    session.start(LiveSettings("a boat", model="sd", steps=2, seed=3))
    qtbot.waitUntil(lambda: session.current is not None and _settled(session, worker),
                    timeout=WAIT)
    layers_before = len(doc.layers)
    got: list[Any] = []
    session.applied.connect(got.append)
    assert session.apply() is None and session.applying
    session.set_document(make_doc())
    qtbot.waitUntil(lambda: not worker.busy and not session.applying, timeout=WAIT)
    assert got == [] and len(doc.layers) == layers_before


def test_the_model_manager_sets_the_compile_setting(qtbot, tmp_path) -> None:
    from aiart_desktop.qt.dialogs.model_manager import COMPILE, ModelManagerDialog
    from aiart_desktop.settings.model import Settings

    settings = Settings()
    dlg = ModelManagerDialog(ModelRegistry(tmp_path / "models", allow_pickle=False),
                             settings=settings)
    qtbot.addWidget(dlg)
    assert dlg.compile_model.text() == COMPILE and not dlg.compile_model.isChecked()
    dlg.compile_model.setChecked(True)
    assert settings.torch_compile is True
    dlg.compile_model.setChecked(False)
    assert settings.torch_compile is False
    on = ModelManagerDialog(ModelRegistry(tmp_path / "models", allow_pickle=False),
                            settings=Settings(torch_compile=True))
    qtbot.addWidget(on)
    assert on.compile_model.isChecked()
