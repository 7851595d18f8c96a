"""Live painting's test helpers: a session on its own worker, the Live dock on a window, and
`Gate`, which holds a job on the worker until the test opens it (a frame "in flight")."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from aiart_desktop.qt.live import LiveSession
from aiart_desktop.qt.worker import AiWorker, JobHandle

from .dock import dock_window, make_doc

WAIT = 60_000
GATE_S = 60.0


def live_session(qtbot: Any, stop_workers: list[Any], engine: Any
                 ) -> Iterator[tuple[LiveSession, AiWorker, list[JobHandle]]]:
    """A LiveSession on a worker of its own over a new document; every submitted job is listed.
    Stopped, and its worker idle, at the end."""
    worker = AiWorker(engine=engine)
    stop_workers.append(worker)
    jobs: list[JobHandle] = []
    worker.submitted.connect(jobs.append)
    session = LiveSession(worker, make_doc())
    yield session, worker, jobs
    session.stop()
    qtbot.waitUntil(lambda: not worker.busy, timeout=WAIT)


def live_panel(win: Any, stop_workers: list[Any], registry: Any, engine: Any,
               doc: Any = None) -> Any:
    """The Live dock on `win` (after its AI dock), shown, with the tiny SD model, a prompt and 2
    steps; the AI dock's worker is stopped at the end of the test."""
    from aiart_desktop.qt.panels.live_dock import install_live_dock

    ai = dock_window(win, registry, engine, doc)
    stop_workers.append(ai.worker)
    live = install_live_dock(win)
    assert live is win.live_panel
    dock = win.docks["liveDock"]
    dock.show()
    dock.raise_()
    live.model.setCurrentIndex(live.model.findData("tiny-sd"))
    live.prompt.setPlainText("a red boat")
    live.steps.setValue(2)
    return live


class Gate:
    """Holds the worker inside `Engine.run` (before the model runs, or at a step) until opened."""

    def __init__(self, engine: Any, at_step: int = 0) -> None:
        self.engine, self.at_step = engine, at_step
        self.reached, self.open = threading.Event(), threading.Event()
        self.steps_after_open = 0
        real = engine.run

        def run(request: Any, on_progress: Any, cancelled: Any) -> Any:
            def progress(p: Any) -> None:
                if self.open.is_set():
                    self.steps_after_open += p.total > 0
                elif self.at_step and p.total > 0 and p.step >= self.at_step:
                    self.reached.set()
                    self.open.wait(GATE_S)
                on_progress(p)

            if not self.at_step:
                self.reached.set()
                self.open.wait(GATE_S)
            return real(request, progress, cancelled)

        engine.run = run

    def close(self) -> None:
        self.open.set()
        self.engine.__dict__.pop("run", None)
