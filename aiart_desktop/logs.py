"""The log file: where warnings, errors and their details go (no Qt here).

The installed app is a windowed program with no console, so everything worth knowing after
the fact is written to a rotating file in the user's log folder
(``platformdirs.user_log_dir("aiart-desktop")``, or ``$AIART_LOG_DIR``): ``aiart-desktop.log``,
1 MiB per file, four old files kept. Messages the user sees are short; the details (exception
types, tracebacks, what a library printed) are here.

    setup_logging()                 # once, first thing in every entry point
    log_dir()                       # the folder, for Help › Open Log Folder
    log_exception(exc_info, where)  # an uncaught exception: the full traceback
"""
from __future__ import annotations

import logging
import logging.handlers
import os
import sys
import threading
from pathlib import Path
from types import TracebackType

import platformdirs

LOG_ENV = "AIART_LOG_DIR"
LOG_FILE = "aiart-desktop.log"
MAX_BYTES = 1 << 20
BACKUPS = 4
FORMAT = "%(asctime)s %(levelname)-7s %(threadName)s %(name)s: %(message)s"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
_handler: logging.Handler | None = None
_lock = threading.Lock()
log = logging.getLogger("aiart_desktop")


def log_dir() -> Path:
    """The folder of the log files (created by `setup_logging`)."""
    env = os.environ.get(LOG_ENV, "").strip()
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_log_dir("aiart-desktop", appauthor=False))


def log_path() -> Path:
    return log_dir() / LOG_FILE


def setup_logging(level: int = logging.INFO) -> Path | None:
    """Send the app's and the libraries' warnings (and the app's info) to the rotating log
    file; returns its path, or None when the folder cannot be written (then they go to
    stderr, as before). Safe to call again: the handler is added once."""
    global _handler
    with _lock:
        if _handler is not None:
            return log_path()
        root = logging.getLogger()
        try:
            folder = log_dir()
            folder.mkdir(parents=True, exist_ok=True)
            handler: logging.Handler = logging.handlers.RotatingFileHandler(
                folder / LOG_FILE, maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8",
                delay=True)
            path: Path | None = folder / LOG_FILE
        except OSError as exc:
            handler, path = logging.StreamHandler(), None
            print(f"AIArt Desktop: cannot write the log file ({exc}); logging to stderr",
                  file=sys.stderr)
        handler.setFormatter(logging.Formatter(FORMAT))
        handler.setLevel(logging.DEBUG)
        root.addHandler(handler)
        if root.level == logging.NOTSET or root.level > logging.WARNING:
            root.setLevel(logging.WARNING)   # libraries: warnings and errors only
        log.setLevel(level)                  # our own modules: info too
        logging.captureWarnings(True)        # warnings.warn(...) -> the log, not a console
        threading.excepthook = _thread_excepthook
        _handler = handler
    log.info("AIArt Desktop started (Python %s, %s)", sys.version.split()[0], sys.platform)
    return path


def log_exception(exc_info: ExcInfo, where: str = "") -> None:
    """Write an uncaught exception with its traceback to the log."""
    log.error("uncaught exception%s", f" in {where}" if where else "", exc_info=exc_info)


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    name = args.thread.name if args.thread is not None else "a thread"
    log_exception((args.exc_type, args.exc_value, args.exc_traceback), name)
