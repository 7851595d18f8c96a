"""Shared output for the benchmarks: `name: value` lines, or JSON with --json."""
from __future__ import annotations

import json
from typing import Any


def emit(figures: dict[str, Any], as_json: bool) -> None:
    if as_json:
        print(json.dumps(figures, indent=2))
    else:
        for k, v in figures.items():
            print(f"{k}: {v}")
