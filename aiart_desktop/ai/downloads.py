"""Downloading catalogue models with huggingface_hub: progress, cancel, resume, verification.

Only ever called when the user asks. Files go straight into `<models>/<id>/` (huggingface_hub's
`local_dir` mode), one at a time; an interrupted file is resumed from where it stopped the next
time (huggingface_hub keeps it under `<id>/.cache/huggingface/download/*.incomplete`). When every
file is there, the folder is verified like any local model folder.
"""
from __future__ import annotations

import fnmatch
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .catalogue import CatalogueEntry
from .errors import AiError, Cancelled, DownloadError, OfflineError

# on_progress(bytes done, bytes total, current file name)
DownloadProgress = Callable[[int, int, str], None]

OFFLINE_MESSAGE = ("downloading needs the network, but offline mode is on "
                   "(HF_HUB_OFFLINE=1); models already on this computer still work")


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


def _describe(exc: BaseException) -> str:
    name = type(exc).__name__
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else name
    return f"{name}: {text}" if name not in text else text


def _network_error(exc: BaseException) -> bool:
    names = " ".join(t.__name__ for t in type(exc).__mro__)
    return any(k in names for k in ("Connect", "Timeout", "Offline", "LocalEntryNotFound",
                                    "NetworkError"))


def download(entry: CatalogueEntry, folder: Path,
             on_progress: DownloadProgress | None = None,
             cancelled: Callable[[], bool] = lambda: False) -> Path:
    """Fetch `entry` into `folder` (resuming a previous partial download)."""
    if is_offline():
        raise OfflineError(f"cannot download {entry.name}: {OFFLINE_MESSAGE}")
    hub = _hub()
    folder.mkdir(parents=True, exist_ok=True)
    try:
        files = _list_files(hub, entry.repo_id, folder)
    except Exception as exc:  # noqa: BLE001
        raise _failure(entry, exc) from exc
    wanted = select_files(entry, files)
    if not wanted:
        raise DownloadError(f"cannot download {entry.name}: {entry.repo_id} has none of the "
                            "expected files")
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
        bar = _progress_class(lambda n, f=name, b=base: on_progress and on_progress(
            b + n, total, f), cancelled)
        try:
            hub.hf_hub_download(entry.repo_id, filename=name, local_dir=str(folder),
                                tqdm_class=bar)
        except Cancelled:
            raise
        except Exception as exc:  # noqa: BLE001
            raise _failure(entry, exc) from exc
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


def _failure(entry: CatalogueEntry, exc: BaseException) -> AiError:
    if isinstance(exc, AiError):
        return exc
    if _network_error(exc):
        return OfflineError(f"cannot download {entry.name}: the Hugging Face hub cannot be "
                            f"reached (no network?) — {_describe(exc)}")
    if isinstance(exc, OSError) and not type(exc).__module__.startswith(("huggingface", "http")):
        return DownloadError(f"cannot download {entry.name}: cannot write the files "
                             f"({exc.strerror or exc})")
    return DownloadError(f"cannot download {entry.name}: {_describe(exc)}")


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
