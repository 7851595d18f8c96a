"""Bearer tokens of the ComfyUI servers, kept like passwords: in `tokens.json` in the settings
folder, readable by the user alone (0600, written atomically), never in settings.json, a
document, a record, a PNG or the log.

    save_token("https://gpu-box:8188", "secret")   # "" deletes it
    load_token("https://gpu-box:8188")             # None when there is none
"""
from __future__ import annotations

import json
import logging
import os
import tempfile
from pathlib import Path

from .paths import config_dir

log = logging.getLogger(__name__)
FILE = "tokens.json"


def _path() -> Path:
    return Path(config_dir()) / FILE


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
    return _read().get(url) or None


def save_token(url: str, token: str) -> None:
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
