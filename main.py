"""Double-click entry point: starts AIArt Desktop.

Three flags are handled here, before anything heavy is imported:
  --gpu-helper ...            the GPU acceleration helper (pip, verify): aiart_desktop.gpu_accel
  --selftest [--model DIR]    the installed package's smoke test: aiart_desktop.selftest
  --startup-probe             show the main window, print the time to its first paint, quit
"""
from __future__ import annotations

import sys

from aiart_desktop.privacy import disable_telemetry

disable_telemetry()  # first of all, before any AI library can load (see privacy.py)

from aiart_desktop.app import main  # noqa: E402

if __name__ == "__main__":
    if sys.argv[1:2] == ["--gpu-helper"]:
        from aiart_desktop.gpu_accel import helper_main

        sys.exit(helper_main(sys.argv[2:]))
    from aiart_desktop.gpu_accel import activate_at_startup

    activate_at_startup()  # a verified CUDA / ROCm torch goes first on sys.path
    if sys.argv[1:2] in (["--selftest"], ["--startup-probe"]):
        from aiart_desktop.selftest import main as selftest_main

        sys.exit(selftest_main(sys.argv[1:]))
    sys.exit(main())
