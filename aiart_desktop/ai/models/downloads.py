"""Downloading catalogue models with huggingface_hub: progress, cancel, resume, verification.

Only ever called when the user asks. Files go straight into `<models>/<id>/` (huggingface_hub's
`local_dir` mode), one at a time; an interrupted file is resumed from where it stopped the next
time (huggingface_hub keeps it under `<id>/.cache/huggingface/download/*.incomplete`). When every
file is there, the folder is verified like any local model folder.
"""
from __future__ import annotations

import errno
import fnmatch
import logging
import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..errors import AiError, Cancelled, DownloadError, OfflineError
from .catalogue import CatalogueEntry

# on_progress(bytes done, bytes total, current file name)
DownloadProgress = Callable[[int, int, str], None]

OFFLINE_MESSAGE = "offline mode is on (HF_HUB_OFFLINE=1)."

log = logging.getLogger(__name__)


def is_offline() -> bool:
    v = os.environ.get("HF_HUB_OFFLINE", "").strip().lower()
    return v in ("1", "true", "yes", "on")


def _hub() -> Any:
    """huggingface_hub, imported only when a download starts (tests replace this)."""
    try:
        import huggingface_hub
    except ImportError as exc:
        raise DownloadError("downloading models needs the huggingface_hub package") from exc
    return huggingface_hub


def select_files(entry: CatalogueEntry, files: dict[str, int]) -> dict[str, int]:
    """The repository files to fetch: those matching the entry's patterns, plus the full
    precision weights of a component that has no fp16 file."""
    chosen = {f: n for f, n in files.items()
              if any(fnmatch.fnmatch(f, p) for p in entry.allow_patterns)}
    for pattern in entry.allow_patterns:
        if ".fp16." not in pattern or any(fnmatch.fnmatch(f, pattern) for f in chosen):
            continue
        plain = pattern.replace(".fp16.", ".")
        chosen.update({f: n for f, n in files.items() if fnmatch.fnmatch(f, plain)})
    return chosen


def download(entry: CatalogueEntry, folder: Path,
             on_progress: DownloadProgress | None = None,
             cancelled: Callable[[], bool] = lambda: False) -> Path:
    """Fetch `entry` into `folder` (resuming a previous partial download)."""
    if is_offline():
        raise OfflineError(f"Cannot download {entry.name}: {OFFLINE_MESSAGE}", "offline")
    hub = _hub()
    try:
        files = _list_files(hub, entry.repo_id, folder)
    except Exception as exc:
        raise _failure(entry, exc) from exc
    wanted = select_files(entry, files)
    if not wanted:
        log.warning("%s lists none of the files %s expects: %s", entry.repo_id, entry.id,
                    sorted(files)[:50])
        raise DownloadError(f"Cannot download {entry.name}: the server has none of its files "
                            "(the model may have moved).", "not_found")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return _fetch(hub, entry, folder, wanted, on_progress, cancelled)
    except BaseException as exc:
        if not holds_data(folder):
            shutil.rmtree(folder, ignore_errors=True)  # nothing to resume: leave no trace
        if isinstance(exc, (Cancelled, AiError)) or not isinstance(exc, Exception):
            raise
        raise _failure(entry, exc) from exc


def _fetch(hub: Any, entry: CatalogueEntry, folder: Path, wanted: dict[str, int],
           on_progress: DownloadProgress | None, cancelled: Callable[[], bool]) -> Path:
    total = sum(wanted.values())
    done = 0
    for name, size in sorted(wanted.items()):
        target = folder / name
        if target.is_file() and target.stat().st_size == size:
            done += size
            if on_progress:
                on_progress(done, total, name)
            continue
        base = done

        def report(n: int, f: str = name, b: int = base) -> None:
            if on_progress:
                on_progress(b + n, total, f)

        bar = _progress_class(report, cancelled)
        hub.hf_hub_download(entry.repo_id, filename=name, local_dir=str(folder),
                            tqdm_class=bar)
        done = base + size
        if on_progress:
            on_progress(done, total, name)
        if cancelled():
            raise Cancelled("download cancelled; it resumes where it stopped next time")
    return folder


def _list_files(hub: Any, repo_id: str, folder: Path) -> dict[str, int]:
    """{file name: size} of a repository's files."""
    try:
        listing = hub.snapshot_download(repo_id, local_dir=str(folder), dry_run=True)
    except TypeError:  # a huggingface_hub without dry runs: ask the API instead
        info = hub.HfApi().model_info(repo_id, files_metadata=True)
        return {s.rfilename: int(s.size or 0) for s in info.siblings or []}
    return {i.filename: int(i.file_size or 0) for i in listing}


def holds_data(folder: Path) -> bool:
    """Whether `folder` holds any downloaded bytes worth resuming (a finished file or a
    non-empty `.incomplete` one); huggingface_hub's empty locks and metadata do not count."""
    if not folder.is_dir():
        return False
    for p in folder.rglob("*"):
        if p.suffix in (".lock", ".metadata") or not p.is_file():
            continue
        try:
            if p.stat().st_size > 0:
                return True
        except OSError:
            continue
    return False


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and the exceptions it was raised from, outermost first."""
    out: list[BaseException] = []
    cur: BaseException | None = exc
    while cur is not None and cur not in out and len(out) < 20:
        out.append(cur)
        cur = cur.__cause__ or cur.__context__
    return out


def _named(exc: BaseException, *names: str) -> bool:
    """Whether `exc` is an instance of a class called one of `names` (by its class and bases,
    so optional packages need not be imported to recognise their errors)."""
    return any(t.__name__ in names for t in type(exc).__mro__)


def _status(exc: BaseException) -> int | None:
    response = getattr(exc, "response", None)
    code = getattr(response, "status_code", None)
    return code if isinstance(code, int) else None


_NETWORK = ("ConnectError", "ConnectTimeout", "NetworkError", "TimeoutException", "Timeout",
            "ProxyError", "ConnectionError", "TimeoutError", "gaierror", "RemoteProtocolError")
_LOCAL_DISK = {errno.ENOSPC: "disk_full", errno.EDQUOT: "disk_full", errno.EACCES: "disk",
               errno.EPERM: "disk", errno.EROFS: "disk"}


def classify(exc: BaseException) -> str:
    """Why a download failed, from the exception types of huggingface_hub, httpx / requests
    and the OS: "offline", "network", "login", "not_found", "busy", "server", "disk_full",
    "disk" or "unknown"."""
    chain = _chain(exc)
    for e in chain:  # the most telling cause wins, whatever wraps it
        if _named(e, "OfflineModeIsEnabled"):
            return "offline"
        if _named(e, "GatedRepoError"):
            return "login"
        code = _status(e)
        if code is not None:
            if code in (401, 403):
                return "login"
            if code == 404 or _named(e, "RepositoryNotFoundError", "RevisionNotFoundError",
                                     "RemoteEntryNotFoundError"):
                return "not_found"
            if code == 429:
                return "busy"
            return "server"
        if _named(e, "RepositoryNotFoundError", "RevisionNotFoundError",
                  "RemoteEntryNotFoundError"):
            return "not_found"
        if isinstance(e, OSError) and e.errno in _LOCAL_DISK:
            return _LOCAL_DISK[e.errno]
    for e in chain:
        if _named(e, *_NETWORK):
            return "network"
    if any(_named(e, "DryRunError", "LocalEntryNotFoundError") for e in chain):
        return "network"  # the hub could not be asked, with no more telling cause
    for e in chain:
        if isinstance(e, OSError) and not _named(e, "HTTPError") and e.errno is not None:
            return "disk"
    return "unknown"


_WORDS = {
    "offline": "offline mode is on",
    "network": "no internet connection (the Hugging Face hub cannot be reached)",
    "login": "the server refused: this model needs a Hugging Face login or an accepted licence",
    "not_found": "the server does not have it (it may have moved or been removed)",
    "busy": "the server is busy; try again in a few minutes",
    "server": "the Hugging Face hub had a problem; try again later",
    "disk_full": "the disk is full; free some space and press Download again",
    "disk": "the models folder cannot be written to",
    "unknown": "an unexpected problem (details are in the log)",
}


def _failure(entry: CatalogueEntry, exc: BaseException) -> AiError:
    """The error shown to the user for a failed download: one line in plain words; the full
    exception goes to the log."""
    if isinstance(exc, AiError):
        return exc
    reason = classify(exc)
    log.warning("download of %s (%s) failed: %s", entry.id, entry.repo_id, reason,
                exc_info=(type(exc), exc, exc.__traceback__))
    text = f"Cannot download {entry.name}: {_WORDS[reason]}."
    if reason in ("offline", "network"):
        return OfflineError(text, reason)
    return DownloadError(text, reason)


def _progress_class(report: Callable[[int], Any], cancelled: Callable[[], bool]) -> type:
    """A tqdm-compatible class reporting bytes and raising Cancelled when asked to stop."""

    class Progress:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            self.n = int(kwargs.get("initial", 0) or 0)
            self.total = kwargs.get("total")
            self.disable = False
            report(self.n)

        def __enter__(self) -> Progress:
            return self

        def __exit__(self, *exc: object) -> None:
            return None

        def update(self, n: float | None = 1) -> None:
            self.n += int(n or 0)
            report(self.n)
            if cancelled():
                raise Cancelled("download cancelled; it resumes where it stopped next time")

        def update_transfer(self, n: float | None = 1) -> None:
            if cancelled():
                raise Cancelled("download cancelled; it resumes where it stopped next time")

        def refresh(self, *a: Any, **k: Any) -> None:
            return None

        def set_description(self, *a: Any, **k: Any) -> None:
            return None

        def set_description_str(self, *a: Any, **k: Any) -> None:
            return None

        def set_postfix_str(self, *a: Any, **k: Any) -> None:
            return None

        def set_transfer_postfix_str(self, *a: Any, **k: Any) -> None:
            return None

        def reset(self, total: Any = None) -> None:
            self.n, self.total = 0, total

        def close(self) -> None:
            return None

    return Progress
