"""Why a download failed, in words: the real huggingface_hub asked for a catalogue model with no
server reachable (a refused connection, as with no network) or a loopback server refusing
(401/403 login, 404 moved, 429 busy, 5xx down); a failed attempt that wrote nothing leaves no
folder behind, a real partial download stays resumable; the details go to the log."""
from __future__ import annotations

import errno
import logging
import re
from pathlib import Path
from types import SimpleNamespace

import pytest

from aiart_desktop.ai.errors import DownloadError, OfflineError
from aiart_desktop.ai.models import downloads
from aiart_desktop.ai.models.registry import ModelRegistry
from tests.support.loopback_hub import LoopbackServer, closed_port, real_hub

CLASS_NAME = re.compile(r"\b[A-Z][a-z]+[A-Z]\w*(Error|Exception|Enabled)\b|Traceback")


def _plain(text: str) -> None:
    """A message fit for a painter: one or two short lines, no Python class names."""
    lines = text.splitlines()
    assert 1 <= len(lines) <= 2 and all(len(line) <= 130 for line in lines), text
    assert not CLASS_NAME.search(text) and "http" not in text, text


def test_no_network_with_the_real_hub_says_so_and_leaves_nothing(tmp_path, monkeypatch,
                                                                  caplog) -> None:
    real_hub(monkeypatch, closed_port())
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    with caplog.at_level(logging.WARNING, logger="aiart_desktop.ai.models.downloads"):
        with pytest.raises(OfflineError) as info:
            reg.download("sd-turbo")
    assert info.value.reason == "network"
    assert str(info.value).startswith("Cannot download SD-Turbo: no internet connection")
    _plain(str(info.value))
    # Nothing was written: no folder, nothing listed as partly downloaded.
    assert not (tmp_path / "models" / "sd-turbo").exists()
    assert reg.problems() == {} and not reg.is_partial("sd-turbo")
    # The log has what the user is spared: the hub's own exception and its cause.
    logged = caplog.text
    assert "DryRunError" in logged and "ConnectError" in logged


def test_hub_offline_mode_is_named(tmp_path, monkeypatch) -> None:
    import huggingface_hub.constants as constants

    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    with pytest.raises(OfflineError, match="offline mode is on") as info:
        reg.download("taesd")  # HF_HUB_OFFLINE=1 in the environment: asked before the hub
    _plain(str(info.value))
    real_hub(monkeypatch, closed_port())
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)  # the hub's own offline switch
    with pytest.raises(OfflineError) as info:
        reg.download("taesd")
    assert info.value.reason == "offline" and not (tmp_path / "models" / "taesd").exists()


@pytest.mark.parametrize(("status", "headers", "reason", "words"), [
    (401, {}, "login", "needs a Hugging Face login"),
    (401, {"X-Error-Code": "GatedRepo"}, "login", "needs a Hugging Face login"),
    (403, {}, "login", "needs a Hugging Face login"),
    (404, {}, "not_found", "does not have it"),
    (429, {}, "busy", "server is busy"),
    (500, {}, "server", "hub had a problem"),
    (503, {}, "server", "hub had a problem"),
])
def test_server_refusals_are_told_apart(tmp_path, monkeypatch, caplog, status, headers,
                                        reason, words) -> None:
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    with LoopbackServer(status, headers) as server:
        real_hub(monkeypatch, server.url)
        with caplog.at_level(logging.WARNING, logger="aiart_desktop.ai.models.downloads"):
            with pytest.raises(DownloadError) as info:
                reg.download("sd-turbo")
    assert server.paths, "the real hub client asked the loopback server"
    assert info.value.reason == reason and words in str(info.value)
    assert not isinstance(info.value, OfflineError)
    _plain(str(info.value))
    assert str(status) in caplog.text  # the server's answer is in the log
    assert not (tmp_path / "models" / "sd-turbo").exists()


def test_local_failures_by_type() -> None:
    import httpx2
    import requests
    from huggingface_hub.errors import LocalEntryNotFoundError, OfflineModeIsEnabled

    def raised(exc: BaseException, cause: BaseException | None = None) -> BaseException:
        try:
            try:
                if cause is not None:
                    raise cause
            except BaseException as c:
                raise exc from c
            raise exc
        except BaseException as e:
            return e

    assert downloads.classify(OSError(errno.ENOSPC, "No space left on device")) == "disk_full"
    assert downloads.classify(PermissionError(errno.EACCES, "Permission denied")) == "disk"
    assert downloads.classify(OSError(errno.EROFS, "Read-only file system")) == "disk"
    assert downloads.classify(requests.ConnectionError("down")) == "network"
    assert downloads.classify(requests.Timeout("slow")) == "network"
    assert downloads.classify(httpx2.ConnectTimeout("slow")) == "network"
    assert downloads.classify(OfflineModeIsEnabled("off")) == "offline"
    # A hub wrapper names the real cause beneath it: a full disk is not "no network".
    wrapped = raised(LocalEntryNotFoundError("cannot find the file"),
                     OSError(errno.ENOSPC, "No space left on device"))
    assert downloads.classify(wrapped) == "disk_full"
    assert downloads.classify(raised(LocalEntryNotFoundError("x"))) == "network"
    assert downloads.classify(ValueError("odd")) == "unknown"


class _ListingHub:
    """The hub's listing answered (as a live server would), then the weights' download fails
    after `written` bytes with `fail` (small files arrive whole); huggingface_hub's lock and
    .incomplete files are laid down as it does."""

    def __init__(self, files: dict[str, bytes], fail: BaseException | None, written: int
                 ) -> None:
        self.files, self.fail, self.written = files, fail, written

    def snapshot_download(self, repo_id: str, local_dir: str, dry_run: bool) -> list:
        return [SimpleNamespace(filename=f, file_size=len(b)) for f, b in self.files.items()]

    def hf_hub_download(self, repo_id: str, filename: str, local_dir: str, tqdm_class) -> str:
        cache = Path(local_dir) / ".cache" / "huggingface" / "download"
        cache.mkdir(parents=True, exist_ok=True)
        (cache / f"{filename}.lock").touch()
        (cache / f"{filename}.metadata").touch()
        data = self.files[filename]
        weights = filename.endswith(".safetensors")
        (cache / f"{filename}.incomplete").write_bytes(data[:self.written] if weights else data)
        if self.fail is not None and weights:
            raise self.fail
        (cache / f"{filename}.incomplete").replace(Path(local_dir) / filename)
        return str(Path(local_dir) / filename)


def test_failed_file_download_leaves_no_phantom_but_keeps_a_real_partial(
        tmp_path, monkeypatch) -> None:
    import httpx2

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    files = {"diffusion_pytorch_model.safetensors": b"w" * 5000}
    reg = ModelRegistry(tmp_path / "models", allow_pickle=False)
    folder = reg.catalogue_folder("taesd")
    # The connection drops before a byte arrives: nothing to resume, nothing listed.
    hub = _ListingHub(files, httpx2.ConnectError("connection reset"), 0)
    monkeypatch.setattr(downloads, "_hub", lambda: hub)
    with pytest.raises(OfflineError, match="no internet connection"):
        reg.download("taesd")
    assert not folder.exists() and reg.problems() == {} and not reg.is_partial("taesd")
    # A full disk after 1000 bytes: those bytes stay, listed as resumable.
    hub.fail, hub.written = OSError(errno.ENOSPC, "No space left on device"), 1000
    with pytest.raises(DownloadError) as info:
        reg.download("taesd")
    assert info.value.reason == "disk_full" and "disk is full" in str(info.value)
    assert reg.is_partial("taesd") and "taesd" in reg.problems()
    incomplete = folder / ".cache/huggingface/download/diffusion_pytorch_model.safetensors"
    assert Path(f"{incomplete}.incomplete").stat().st_size == 1000
    # An empty folder left by an older version is not a partial download either.
    phantom = reg.catalogue_folder("sd-turbo")
    (phantom / ".cache").mkdir(parents=True)
    assert not reg.is_partial("sd-turbo") and "sd-turbo" not in reg.problems()
