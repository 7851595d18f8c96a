"""Test-wide environment: offscreen Qt, no network models, settings in a temp folder."""
from __future__ import annotations

import os
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ["HF_HUB_OFFLINE"] = "1"
_tmp = tempfile.mkdtemp(prefix="aiart-test-")
os.environ["AIART_CONFIG_DIR"] = os.path.join(_tmp, "config")
os.environ["AIART_DATA_DIR"] = os.path.join(_tmp, "data")
