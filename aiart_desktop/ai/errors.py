"""Errors the AI engine raises. Every message is written for the user: at most two short lines
naming the file (or model, or setting) concerned and what to do; the worker shows `str(exc)` as
it is. Details a user cannot act on (exception types, tensor lists, full paths) go to the log."""
from __future__ import annotations

import os
from pathlib import PurePath


def quoted(path: str | os.PathLike[str]) -> str:
    """A file or folder as a message names it: its name in quotes (the full path is logged)."""
    name = PurePath(path).name or str(path)
    return f"\u201c{name}\u201d"


class Cancelled(Exception):  # a state, not a failure
    """The user cancelled the job; nothing was changed."""

    def __init__(self, message: str = "Cancelled") -> None:
        super().__init__(message)


class AiError(Exception):
    """Base class of every AI failure with a message fit to show as it is."""


class RequestError(AiError, ValueError):
    """The request itself is invalid (bad steps, unknown scheduler, empty region...)."""


class ModelNotFoundError(AiError):
    """The model id or path does not name an installed model."""


class ModelLoadError(AiError):
    """A model folder or checkpoint exists but cannot be read (corrupt, wrong format)."""


class IncompleteModelError(ModelLoadError):
    """A model folder lacks files (an interrupted download, a partial copy)."""


class UnsafeCheckpointError(ModelLoadError):
    """A pickle checkpoint (.ckpt / .bin / .pt) was refused: it can run code when loaded."""


class MissingDependencyError(AiError):
    """torch / diffusers / transformers (or another optional package) is not installed."""


class DownloadError(AiError):
    """A download failed (network, disk, or the server refused). `reason` says which, in one
    word: "offline", "network", "login", "not_found", "busy", "server", "disk_full", "disk",
    "unknown" (see `downloads.classify`)."""

    def __init__(self, message: str, reason: str = "unknown") -> None:
        super().__init__(message)
        self.reason = reason


class OfflineError(DownloadError):
    """A download was asked for while offline (HF_HUB_OFFLINE=1 or no network)."""


class GenerationError(AiError):
    """The pipeline raised while generating; the engine stays usable."""


class OutOfMemoryError(GenerationError):
    """The GPU ran out of memory even after the memory-saving retry."""
