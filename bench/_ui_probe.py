"""The UI thread's responsiveness in the benches: timestamps of a 5 ms QTimer on it."""
from __future__ import annotations

import time

import numpy as np
from PySide6.QtCore import QTimer


class Probe:
    """Timestamps of a 5 ms QTimer on the UI thread; a long gap is a stall."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self.timer = QTimer()
        self.timer.setInterval(5)
        self.timer.timeout.connect(lambda: self.ticks.append(time.perf_counter()))

    def gaps_ms(self) -> np.ndarray:
        return np.diff(np.asarray(self.ticks)) * 1000.0 if len(self.ticks) > 1 else np.zeros(1)

    def max_gap_ms(self) -> float:
        return float(self.gaps_ms().max())
