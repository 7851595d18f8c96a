"""The AI worker thread on its own: jobs run off the UI thread in order, progress with preview
images, cancel (one job, everything, queued jobs), failures as messages, shutdown / restart,
and no torch on the UI thread at start-up."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
from PySide6.QtCore import QThread
from PySide6.QtGui import QImage

from aiart_desktop.ai.capture import make_request
from aiart_desktop.qt.worker import AiWorker, JobHandle
from tests.support.dock import make_doc

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")
WAIT = 120_000  # an upper bound (a loaded 2-core machine is slow); a pass takes seconds


def _request(**kw):
    kw.setdefault("model", "tiny-inpaint")
    kw.setdefault("steps", 3)
    return make_request(make_doc(), "inpaint", prompt="a boat", **kw)


def _record(worker: AiWorker) -> dict[str, list]:
    log: dict[str, list] = {k: [] for k in ("started", "progress", "finished", "failed",
                                            "cancelled", "threads")}

    def follow(j: JobHandle) -> None:  # every job, from its own handle's signals
        j.started.connect(lambda: log["started"].append(j))
        j.progress.connect(lambda s, t, img: log["progress"].append((j, s, t, img)))
        j.finished.connect(lambda r: log["finished"].append((j, r)))
        j.failed.connect(lambda m: log["failed"].append((j, m)))
        j.cancelled.connect(lambda: log["cancelled"].append(j))
        j.ended.connect(lambda _how: log["threads"].append(QThread.currentThread()))

    worker.submitted.connect(follow)
    return log


def test_jobs_run_on_the_worker_thread_in_order(qtbot, stop_workers, tiny_engine) -> None:
    worker = AiWorker(engine=tiny_engine)
    stop_workers.append(worker)
    assert worker.thread_handle is not QThread.currentThread()
    log = _record(worker)
    run_threads: list[object] = []
    real_run = tiny_engine.run

    def spy(*a, **k):
        run_threads.append(QThread.currentThread())
        return real_run(*a, **k)

    tiny_engine.run = spy
    try:
        a = worker.submit(_request(seed=1, batch_size=2))
        b = worker.submit(_request(seed=2))
        assert (a.id, b.id) == (1, 2) and worker.busy and a.request.seed == 1
        qtbot.waitUntil(lambda: len(log["finished"]) == 2, timeout=WAIT)
    finally:
        del tiny_engine.run
    assert [j for j, _ in log["finished"]] == [a, b] and log["started"] == [a, b]
    assert all(t is worker.thread_handle for t in run_threads)
    # The handles' listeners ran on the UI thread; each handle knows its own end.
    qtbot.waitUntil(lambda: len(log["threads"]) == 2, timeout=WAIT)
    assert log["threads"] == [QThread.currentThread()] * 2
    assert a.done and a.state == "finished" and a.result is log["finished"][0][1]
    assert log["finished"][0][1].seeds == [1, 2]
    steps = [(s, t) for j, s, t, _ in log["progress"] if j == a]
    assert steps and steps[-1][0] == steps[-1][1]
    previews = [img for _, _, _, img in log["progress"] if img is not None]
    assert previews and all(isinstance(i, QImage) and not i.isNull() for i in previews)
    qtbot.waitUntil(lambda: not worker.busy)


def test_cancel_all_cancels_running_and_queued_jobs(qtbot, stop_workers, tiny_engine) -> None:
    worker = AiWorker(engine=tiny_engine)
    stop_workers.append(worker)
    log = _record(worker)
    jobs = [worker.submit(_request(steps=100)) for _ in range(3)]
    worker.cancel()
    qtbot.waitUntil(lambda: len(log["cancelled"]) == 3, timeout=WAIT)
    assert log["cancelled"] == jobs and not log["finished"]
    assert all(j.state == "cancelled" for j in jobs)
    # Cancelling one job (through its handle) leaves the next alone.
    c = worker.submit(_request(steps=100))
    d = worker.submit(_request())
    c.cancel()
    qtbot.waitUntil(lambda: len(log["finished"]) == 1, timeout=WAIT)
    assert log["cancelled"][-1] == c and log["finished"][0][0] == d


def test_failures_come_back_as_messages(qtbot, stop_workers, tiny_engine) -> None:
    worker = AiWorker(engine=tiny_engine)
    stop_workers.append(worker)
    log = _record(worker)
    bad = worker.submit(_request(model="no-such-model"))
    ok = worker.submit(_request())
    qtbot.waitUntil(lambda: len(log["finished"]) == 1, timeout=WAIT)
    assert log["failed"][0][0] is bad and "no-such-model" in log["failed"][0][1]
    assert bad.state == "failed" and bad.error == log["failed"][0][1] and bad.result is None
    assert log["finished"][0][0] == ok


def test_non_ai_exception_and_oom_message(qtbot, stop_workers, tiny_engine, monkeypatch
                                          ) -> None:
    from aiart_desktop.ai.backends import local as diffusion

    worker = AiWorker(engine=tiny_engine)
    stop_workers.append(worker)
    log = _record(worker)

    def oom(self, *a, **k):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(diffusion.LocalBackend, "_run", oom)
    worker.submit(_request())
    qtbot.waitUntil(lambda: len(log["failed"]) == 1, timeout=WAIT)
    assert "out of memory" in log["failed"][0][1].lower()
    monkeypatch.undo()
    worker.submit(_request())
    qtbot.waitUntil(lambda: len(log["finished"]) == 1, timeout=WAIT)


def test_shutdown_stops_the_thread_and_submit_restarts_it(qtbot, stop_workers, tiny_engine
                                                          ) -> None:
    worker = AiWorker(engine=tiny_engine)
    stop_workers.append(worker)
    log = _record(worker)
    worker.submit(_request(steps=200))
    qtbot.waitUntil(lambda: bool(log["started"]), timeout=WAIT)
    assert worker.shutdown() and not worker.running
    assert worker.shutdown()  # twice is fine
    job = worker.submit(_request())
    qtbot.waitUntil(lambda: any(j == job for j, _ in log["finished"]), timeout=WAIT)
    worker.unload()
    worker.set_device("cpu")
    qtbot.waitUntil(lambda: not worker.busy)


def test_ui_start_up_imports_no_torch(tmp_path) -> None:
    """The window with the AI dock installed, a model list read: torch is not imported."""
    code = textwrap.dedent("""
        import sys
        from aiart_desktop.qt.bootstrap import create_app
        from aiart_desktop.qt.main_window import MainWindow
        from aiart_desktop.qt.ai_dock import install_ai_dock
        from aiart_desktop.settings import Settings
        app = create_app([])
        win = MainWindow(settings=Settings(), autosave=False, ai=False)
        panel = install_ai_dock(win)
        win.show()
        win.docks["aiDock"].raise_()
        app.processEvents()
        panel.refresh_models()
        bad = [m for m in ("torch", "diffusers", "transformers") if m in sys.modules]
        win.close()
        app.processEvents()
        assert not panel.worker.running, "worker thread still running after close"
        print("HEAVY:", bad)
    """)
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen",
               AIART_CONFIG_DIR=str(tmp_path / "c"), AIART_DATA_DIR=str(tmp_path / "d"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, timeout=120, cwd=os.path.dirname(os.path.dirname(
                             os.path.dirname(os.path.abspath(__file__)))))
    assert out.returncode == 0, out.stderr[-2000:]
    assert "HEAVY: []" in out.stdout


def test_a_job_is_over_before_its_end_is_announced(qtbot, stop_workers, tiny_engine) -> None:
    """A slot that submits the next job when one ends must not find the worker still busy
    with the old one (the Style dock's Apply does exactly that)."""
    worker = AiWorker(engine=tiny_engine)
    stop_workers.append(worker)
    seen: list[tuple[str, int, bool]] = []

    def follow(j: JobHandle) -> None:
        j.finished.connect(lambda _r: seen.append(("finished", j.id, worker.busy)))
        j.cancelled.connect(lambda: seen.append(("cancelled", j.id, worker.busy)))

    worker.submitted.connect(follow)
    a = worker.submit(_request(seed=3)).id
    qtbot.waitUntil(lambda: len(seen) == 1, timeout=WAIT)
    job_b = worker.submit(_request(seed=4))
    job_b.cancel()
    b = job_b.id
    qtbot.waitUntil(lambda: len(seen) == 2, timeout=WAIT)
    assert seen == [("finished", a, False), ("cancelled", b, False)]


def test_each_handle_speaks_only_for_its_own_job(qtbot, stop_workers, tiny_engine) -> None:
    """Two jobs queued and a third cancelled through its handle: each handle's listeners see
    only their own job's progress and end; a handle nobody keeps still reports its end."""
    import gc

    worker = AiWorker(engine=tiny_engine)
    stop_workers.append(worker)
    seen: dict[int, list] = {}

    def follow(j: JobHandle) -> None:
        mine = seen.setdefault(j.id, [])
        j.started.connect(lambda: mine.append("started"))
        j.progress.connect(lambda s, t, _img: mine.append(("step", s, t)))
        j.finished.connect(lambda r: mine.append(("finished", r.seeds)))
        j.failed.connect(lambda m: mine.append(("failed", m)))
        j.cancelled.connect(lambda: mine.append("cancelled"))
        j.ended.connect(lambda h: mine.append(("ended", h.state)))

    worker.submitted.connect(follow)
    a = worker.submit(_request(seed=11, steps=2))
    b = worker.submit(_request(seed=22, steps=5))
    c = worker.submit(_request(seed=33, steps=100))
    assert [a.state, b.state, c.state] == ["queued"] * 3 and not c.done
    c.cancel()
    qtbot.waitUntil(lambda: all(j.id in seen and seen[j.id][-1:] and seen[j.id][-1][0] ==
                                "ended" for j in (a, b, c)), timeout=WAIT)
    ends = {j: [e for e in seen[j.id] if e[0] in ("finished", "ended")] for j in (a, b)}
    assert ends[a] == [("finished", [11]), ("ended", "finished")]
    assert ends[b] == [("finished", [22]), ("ended", "finished")]
    # Each listener saw only its own job's steps: a's count to 2, b's to 5.
    last_a = [e for e in seen[a.id] if e[0] == "step" and e[2] > 0][-1]
    last_b = [e for e in seen[b.id] if e[0] == "step" and e[2] > 0][-1]
    assert last_a[1] == last_a[2] and last_b[1] == last_b[2] and last_b[2] > last_a[2]
    assert seen[b.id][0] == "started" and all(e[2] in (0, last_b[2]) for e in seen[b.id]
                                              if e[0] == "step")
    assert seen[c.id] == ["cancelled", ("ended", "cancelled")] and c.state == "cancelled"
    assert "cancelled" not in seen[a.id] + seen[b.id]
    # Nobody keeps this one: the worker holds it until its last signal is delivered.
    got: list[list[int]] = []
    worker.submitted.disconnect(follow)
    worker.submitted.connect(lambda j: j.finished.connect(lambda r: got.append(r.seeds)))
    worker.submit(_request(seed=44))
    gc.collect()
    qtbot.waitUntil(lambda: got == [[44]], timeout=WAIT)
    qtbot.waitUntil(lambda: not worker._handles, timeout=WAIT)  # then lets go of every job


def test_a_job_without_previews_decodes_none_and_still_reports_steps(
        qtbot, stop_workers, tiny_engine, monkeypatch) -> None:
    """Live frames are submitted with `previews=False`: their steps are reported, but no
    preview picture is decoded for them (nobody shows it); other jobs still get theirs."""
    from aiart_desktop.ai.backends.local import LocalBackend

    decoded: list[int] = []
    real = LocalBackend._preview

    def counting(*a, **k):
        decoded.append(1)
        return real(*a, **k)

    monkeypatch.setattr(LocalBackend, "_preview", staticmethod(counting))
    worker = AiWorker(engine=tiny_engine)
    stop_workers.append(worker)
    log = _record(worker)
    quiet = worker.submit(_request(seed=5), previews=False)
    qtbot.waitUntil(lambda: quiet.done, timeout=WAIT)
    steps = [(s, t, img) for j, s, t, img in log["progress"] if j is quiet]
    assert quiet.state == "finished" and steps and steps[-1][0] == steps[-1][1]
    assert decoded == [] and all(img is None for _s, _t, img in steps)
    shown = worker.submit(_request(seed=5))
    qtbot.waitUntil(lambda: shown.done, timeout=WAIT)
    assert decoded and any(isinstance(img, QImage) for j, _s, _t, img in log["progress"]
                           if j is shown)
    # The same pixels either way: previews never touch the result.
    assert (quiet.result.images[0] == shown.result.images[0]).all()
