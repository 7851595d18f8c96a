"""Double-click entry point: starts AIArt Desktop."""
from __future__ import annotations

import sys

from aiart_desktop.app import main

if __name__ == "__main__":
    sys.exit(main())
