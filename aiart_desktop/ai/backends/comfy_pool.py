"""Work dealt across several ComfyUI servers, each unit retried elsewhere when a server drops.

    done = deal(units, servers, run, on_progress, cancelled)
    # run(client, unit, report, stopped) -> (images, prompt_id), on one server
    done[i].images, done[i].server, done[i].prompt_id      # in the units' order

One thread per server pulls the next unit (the servers take their first unit in the order
given: the least busy first), so a batch of variations runs on every server at once. A server
that drops out (`ComfyDropped`: unreachable, silent, closed the connection) gives its unit back
and takes no more; another server runs it. Any other failure (a node's error, a refused
workflow) or a cancel stops every server's prompt and is raised; when every server has dropped
out the message names them. Progress of the units is summed into one report, given to
`on_progress` one at a time.
"""
from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

import numpy as np

from ..backend import ProgressFn
from ..errors import Cancelled
from ..requests import ProgressInfo
from .comfy_client import ComfyClient, ComfyDropped

log = logging.getLogger(__name__)

T = TypeVar("T")
RunFn = Callable[[ComfyClient, T, ProgressFn | None, Callable[[], bool]],
                 tuple[list[np.ndarray], str]]


@dataclass(frozen=True)
class Done:
    images: list[np.ndarray]
    server: str          # the label of the server that made them
    prompt_id: str


class _Progress:
    """The units' progress summed into one report (one call to `on_progress` at a time)."""

    def __init__(self, units: int, on_progress: ProgressFn | None) -> None:
        self.units = units
        self.on_progress = on_progress
        self.lock = threading.Lock()
        self.steps: dict[int, tuple[int, int]] = {}

    def of(self, index: int) -> ProgressFn | None:
        if self.on_progress is None:
            return None
        if self.units == 1:
            return self.on_progress

        def report(p: ProgressInfo) -> None:
            with self.lock:
                self.steps[index] = (p.step, p.total)
                per = max(t for _, t in self.steps.values())
                total = per * self.units
                step = sum(s for s, _ in self.steps.values())
                assert self.on_progress is not None
                self.on_progress(ProgressInfo(min(step, total), total, p.preview, p.phase,
                                              p.render))
        return report


class _Dealer(Generic[T]):
    def __init__(self, units: Sequence[T], run: RunFn[T], progress: _Progress,
                 cancelled: Callable[[], bool]) -> None:
        self.units = units
        self.run = run
        self.progress = progress
        self.cancelled = cancelled
        self.cond = threading.Condition()
        self.pending: deque[int] = deque(range(len(units)))
        self.done: dict[int, Done] = {}
        self.in_flight = 0
        self.turn = 0                         # servers take their first unit in order
        self.failure: BaseException | None = None
        self.dropped: list[tuple[str, ComfyDropped]] = []
        self.stop = threading.Event()

    def stopped(self) -> bool:
        return self.stop.is_set() or self.cancelled()

    def _next(self, order: int, first: bool) -> int | None:
        with self.cond:
            while first and self.turn < order and self.failure is None:
                self.cond.wait(0.5)
            try:
                while True:
                    if self.failure is not None or len(self.done) == len(self.units):
                        return None
                    if self.pending:
                        self.in_flight += 1
                        return self.pending.popleft()
                    if not self.in_flight:
                        return None
                    if first:   # a spare server: let the next one take its turn, then wait
                        self.turn += 1
                        first = False
                        self.cond.notify_all()
                    self.cond.wait(0.5)
            finally:
                if first:
                    self.turn += 1
                    self.cond.notify_all()

    def work(self, client: ComfyClient, order: int) -> None:
        first = True
        while True:
            index = self._next(order, first)
            first = False
            if index is None:
                return
            try:
                images, prompt_id = self.run(client, self.units[index],
                                             self.progress.of(index), self.stopped)
            except ComfyDropped as exc:
                log.warning("ComfyUI %s dropped out; its work goes to another server",
                            client.label)
                with self.cond:
                    self.pending.appendleft(index)
                    self.in_flight -= 1
                    self.dropped.append((client.label, exc))
                    self.cond.notify_all()
                return
            except BaseException as exc:  # raised by deal()
                with self.cond:
                    if self.failure is None or isinstance(self.failure, Cancelled):
                        self.failure = exc
                    self.in_flight -= 1
                    self.stop.set()
                    self.cond.notify_all()
                return
            with self.cond:
                self.done[index] = Done(images, client.label, prompt_id)
                self.in_flight -= 1
                self.cond.notify_all()


def deal(units: Sequence[T], servers: Sequence[ComfyClient], run: RunFn[T],
         on_progress: ProgressFn | None, cancelled: Callable[[], bool]) -> list[Done]:
    """Run every unit on one of `servers` (see the module); their results in order."""
    dealer = _Dealer(units, run, _Progress(len(units), on_progress), cancelled)
    if len(servers) == 1:
        dealer.work(servers[0], 0)
    else:
        threads = [threading.Thread(target=dealer.work, args=(c, i), daemon=True,
                                    name=f"comfy-{c.label}") for i, c in enumerate(servers)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    if dealer.failure is not None:
        if cancelled():
            raise Cancelled()
        raise dealer.failure
    if len(dealer.done) < len(units):
        if len(dealer.dropped) == 1:
            raise dealer.dropped[0][1]
        labels = ", ".join(label for label, _ in dealer.dropped)
        raise ComfyDropped(f"The ComfyUI servers {labels} all dropped out during the job.\n"
                           "Your picture is unchanged; run it again.")
    return [dealer.done[i] for i in range(len(units))]
