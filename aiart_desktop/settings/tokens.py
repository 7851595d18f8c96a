"""Bearer tokens of the ComfyUI servers, kept like passwords: in the OS keyring (`keyring`:
Secret Service, macOS Keychain, Windows Credential Locker) when a usable one exists, else in
`tokens.json` in the settings folder, readable by the user alone (0600, written atomically).
Never in settings.json, a document, a record, a PNG or the log.

    save_token("https://gpu-box:8188", "secret")   # "" deletes it
    load_token("https://gpu-box:8188")             # None when there is none
    token_store()                                  # "keyring" or "file": where they go

`keyring` is imported only when a token is read or written (never at start-up); a keyring
that fails (locked, no D-Bus) is logged, without the token, and the file is used instead.
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path
from typing import Any

from .paths import config_dir

log = logging.getLogger(__name__)
FILE = "tokens.json"
SERVICE = "aiart-desktop ComfyUI"   # the keyring's service name; the user name is the URL


def _path() -> Path:
    return Path(config_dir()) / FILE


def usable_keyring() -> Any:
    """The OS keyring backend, or None when there is none fit to keep a secret (keyring not
    installed, or only its fail / null / plain-text backends)."""
    try:
        import keyring
        from keyring.backends import fail, null
    except ImportError:
        return None
    try:
        ring = keyring.get_keyring()
    except Exception:   # a broken keyring configuration must not stop anything
        log.warning("the OS keyring cannot be used; server tokens go to a private file")
        return None
    if isinstance(ring, fail.Keyring | null.Keyring):
        return None
    chained = getattr(ring, "backends", None)   # a ChainerBackend with nothing in it
    if chained is not None and not chained:
        return None
    if type(ring).__module__.startswith(("keyrings.alt.file", "keyrings.alt.Gnome")):
        return None     # plain-text / obsolete "alternative" keyrings: the 0600 file is better
    return ring


def token_store() -> str:
    """"keyring" when tokens go to the OS keyring, "file" when to the private file."""
    return "keyring" if usable_keyring() is not None else "file"


def _read() -> dict[str, str]:
    try:
        data = json.loads(_path().read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError):
        log.warning("the server tokens file cannot be read; no token is used")
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}


def load_token(url: str) -> str | None:
    ring = usable_keyring()
    if ring is not None:
        try:
            found = ring.get_password(SERVICE, url)
        except Exception as exc:
            log.warning("the OS keyring could not be read (%s); trying the tokens file",
                        type(exc).__name__)
        else:
            if found:
                return str(found)
    return _read().get(url) or None


def save_token(url: str, token: str) -> None:
    """Keep `token` for the server `url` ("" deletes it), in the keyring when there is one
    (then none stays in the file), else in the private file."""
    ring = usable_keyring()
    if ring is not None:
        try:
            if token:
                ring.set_password(SERVICE, url, token)
            elif ring.get_password(SERVICE, url) is not None:
                ring.delete_password(SERVICE, url)
        except Exception as exc:
            log.warning("the OS keyring could not be written (%s); the token goes to the "
                        "private tokens file", type(exc).__name__)
        else:
            if url in _read():
                _write_file(url, "")
            return
    _write_file(url, token)


def _write_file(url: str, token: str) -> None:
    tokens = _read()
    if token:
        tokens[url] = token
    else:
        tokens.pop(url, None)
    path = _path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tokens-", dir=path.parent)   # created 0600
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(tokens, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
