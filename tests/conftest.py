"""Test-wide environment: offscreen Qt, no network models, settings in a temp folder."""
from __future__ import annotations

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
_tmp = tempfile.mkdtemp(prefix="aiart-test-")
os.environ["AIART_CONFIG_DIR"] = os.path.join(_tmp, "config")
os.environ["AIART_DATA_DIR"] = os.path.join(_tmp, "data")
os.environ["AIART_LOG_DIR"] = os.path.join(_tmp, "logs")


import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _own_settings_folder(tmp_path_factory: pytest.TempPathFactory,
                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test reads and writes its own settings.json: a window closed by one test saves
    its settings (certificates, last model, ...) and must not change what the next one sees."""
    monkeypatch.setenv("AIART_CONFIG_DIR", str(tmp_path_factory.mktemp("config")))
