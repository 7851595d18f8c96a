"""Composition root: command-line dispatch, QApplication, settings, wiring."""
from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    from .privacy import disable_telemetry

    disable_telemetry()  # before any AI library loads (see privacy.py)
    from .logs import setup_logging

    setup_logging()  # warnings and errors to the rotating log file (Help > Open Log Folder)
    args = list(sys.argv[1:] if argv is None else argv)
    from .gpu_accel import activate_at_startup

    activate_at_startup()  # a verified CUDA / ROCm torch first on sys.path (before torch loads)
    if args and args[0] == "train-job":  # the style trainer's process (ai/training.py)
        from .ai.backends.local_train import main as train_main

        return train_main(args[1:])
    if args and args[0] in ("export", "run", "upscale"):
        from .cli import main as cli_main

        return cli_main(args)
    from .qt.bootstrap import run_gui

    return run_gui(args)
