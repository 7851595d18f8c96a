"""Nothing leaves the machine unasked: the telemetry switches of the libraries we load.

`disable_telemetry()` runs first thing in every entry point (main.py, `app.main`, the CLI, the
selftest, the GPU helper subprocess, the PyInstaller bundle's runtime hook), before onnxruntime,
huggingface_hub, diffusers or transformers load: they read these variables when they load.

- ``ORT_DISABLE_TELEMETRY``: onnxruntime's native Microsoft 1DS telemetry (since 1.32 also on
  Linux), which otherwise looks up ``mobile.events.data.microsoft.com`` about ten seconds after
  the first inference session. `onnxruntime.disable_telemetry_events()` alone does not stop it;
  the variable must be set before the library loads.
- ``HF_HUB_DISABLE_TELEMETRY``, ``DISABLE_TELEMETRY``, ``DO_NOT_TRACK``: huggingface_hub's usage
  pings, which diffusers and transformers send through it.
- ``HF_HUB_DISABLE_UPDATE_CHECK``: huggingface_hub's check of PyPI for a newer version.

These are forced on: a user's environment cannot turn telemetry back on by accident. The
Hugging Face token (``HF_TOKEN`` or ``hf auth login``) is left as the user set it: the hub
library sends it only with the downloads the user starts, where gated models need it.

This module imports nothing but `os`, so calling it costs nothing at start-up.
"""
from __future__ import annotations

import os

TELEMETRY_OFF: dict[str, str] = {
    "ORT_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "HF_HUB_DISABLE_UPDATE_CHECK": "1",
}


def disable_telemetry() -> None:
    """Set every switch in `TELEMETRY_OFF` in this process's environment (and so in every
    subprocess it starts). Idempotent; call it before any AI library is imported."""
    for key, value in TELEMETRY_OFF.items():
        os.environ[key] = value
