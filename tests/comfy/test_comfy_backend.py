"""The ComfyUI backend against a real ComfyUI (tests/support/comfy_server.py) through the
engine: requests from `capture.make_request`, results applied to a document."""
from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest

from aiart_desktop.ai.apply import apply_result
from aiart_desktop.ai.backends.classical import ClassicalBackend
from aiart_desktop.ai.backends.comfy import ComfyBackend, ComfyModels, png, remote_id
from aiart_desktop.ai.backends.comfy_client import ComfyClient
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.engine import Engine
from aiart_desktop.ai.errors import AiError, Cancelled
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.requests import ProgressInfo
from aiart_desktop.core import selection as sel
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect
from tests.support.comfy_checkpoint import INPAINT, PLAIN
from tests.support.comfy_proxy import TokenProxy
from tests.support.comfy_server import ComfyServer

FAST = {"steps": 3, "guidance": 5.0, "prompt": "a red apple"}


def engine_on(url: str, tmp_path: Path, token: str | None = None) -> tuple[Engine, ComfyModels]:
    models = ComfyModels([ComfyClient(url, token)], ModelRegistry(tmp_path / "no-models"))
    return Engine(models, [ComfyBackend(models), ClassicalBackend()]), models


def picture(size: int = 256) -> Document:
    doc = Document.new(size, size, (40, 120, 200, 255))
    rng = np.random.default_rng(0)
    doc.put_pixels(doc.layers[0], 0, 0, rng.integers(0, 255, (size, size, 4), np.uint8) | 255)
    doc.set_selection(sel.rect_mask(size, size, Rect(96, 96, 64, 64)))
    return doc


def outside_unchanged(doc: Document, before: np.ndarray, box: Rect) -> None:
    after = doc.flatten(Rect(0, 0, doc.width, doc.height))
    keep = np.ones(before.shape[:2], bool)
    grow = 24   # the blend mask's feather stays inside the selection's neighbourhood
    keep[box.y - grow:box.y + box.h + grow, box.x - grow:box.x + box.w + grow] = False
    assert np.array_equal(after[keep], before[keep])


@pytest.mark.comfy(core=True)
def test_inpaint_on_the_server_blends_like_a_local_result(comfy_server: ComfyServer,
                                                          tmp_path: Path) -> None:
    engine, models = engine_on(comfy_server.url, tmp_path)
    names = [m.id for m in models.models()]
    assert remote_id(PLAIN) in names and remote_id(INPAINT) in names
    info = models.inspect(remote_id(PLAIN))
    assert info.backend == "comfy" and info.source == "remote" and info.native == 256
    assert "remote" in info.name and comfy_server.url.split("//")[1] in info.name
    doc = picture()
    before = doc.flatten(Rect(0, 0, 256, 256))
    steps: list[ProgressInfo] = []
    req = make_request(doc, "inpaint", model=remote_id(PLAIN), seed=7, **FAST)
    t0 = time.perf_counter()
    result = engine.run(req, steps.append)
    print(f"inpaint on the server: {time.perf_counter() - t0:.1f} s")
    assert result.backend == "comfy"
    assert result.info["server"] == comfy_server.url.split("//")[1]
    assert result.info["prompt_id"]
    assert [p.step for p in steps if p.phase == "generating"][-1] == FAST["steps"]
    assert any(p.preview is not None for p in steps)   # the websocket's preview frames
    apply_result(doc, result, 0)
    outside_unchanged(doc, before, Rect(96, 96, 64, 64))
    record = doc.layers[-1].provenance
    assert record is not None
    # the same pictures again are not sent again (cached by content)
    client = models.servers[0]
    sent = client.uploads_sent
    same = png(np.full((64, 64, 3), 9, np.uint8))
    assert client.upload(same) == client.upload(same)
    assert client.uploads_sent == sent + 1


@pytest.mark.comfy
@pytest.mark.parametrize("op", ["txt2img", "img2img", "outpaint"])
def test_each_op_runs_on_the_server(comfy_server: ComfyServer, tmp_path: Path,
                                    op: str) -> None:
    engine, _ = engine_on(comfy_server.url, tmp_path)
    doc = picture()
    before = doc.flatten(Rect(0, 0, 256, 256))
    extra = {"direction": "right", "pixels": 64} if op == "outpaint" else {}
    target = {"target": "image"} if op in ("txt2img", "img2img") else {}
    req = make_request(doc, op, model=remote_id(PLAIN), seed=3, strength=0.6, **target,
                       **extra, **FAST)
    result = engine.run(req)
    assert result.backend == "comfy" and result.images[0].shape[2] == 3
    apply_result(doc, result, 0)
    if op == "outpaint":
        assert doc.width == 256 + 64
        after = doc.flatten(Rect(0, 0, 256, 256))
        assert np.array_equal(after[:, :160], before[:, :160])


@pytest.mark.comfy
def test_variations_one_seed_each_remake_their_image(comfy_server: ComfyServer,
                                                     tmp_path: Path) -> None:
    engine, _ = engine_on(comfy_server.url, tmp_path)
    req = make_request(picture(), "inpaint", model=remote_id(PLAIN), seed=11, batch_size=2,
                       **FAST)
    both = engine.run(req)
    assert len(both.images) == 2 and both.seeds[0] != both.seeds[1]
    alone = engine.run(make_request(picture(), "inpaint", model=remote_id(PLAIN),
                                    seed=both.seeds[1], **FAST))
    diff = np.abs(alone.images[0].astype(int) - both.images[1].astype(int))
    assert diff.max() <= 2


@pytest.mark.comfy
@pytest.mark.parametrize("strength", [1.0, 0.7])
def test_inpainting_checkpoint_both_conditionings(comfy_server: ComfyServer, tmp_path: Path,
                                                  strength: float) -> None:
    engine, models = engine_on(comfy_server.url, tmp_path)
    assert models.inspect(remote_id(INPAINT)).facts.inpaint
    doc = picture()
    before = doc.flatten(Rect(0, 0, 256, 256))
    result = engine.run(make_request(doc, "inpaint", model=remote_id(INPAINT), seed=5,
                                     strength=strength, **FAST))
    apply_result(doc, result, 0)
    outside_unchanged(doc, before, Rect(96, 96, 64, 64))


@pytest.mark.comfy
def test_cancel_stops_the_servers_prompt_and_the_next_job_runs(comfy_server: ComfyServer,
                                                               tmp_path: Path) -> None:
    engine, models = engine_on(comfy_server.url, tmp_path)
    stop = threading.Event()

    def progress(p: ProgressInfo) -> None:
        if p.phase == "generating" and p.step >= 1:
            stop.set()

    req = make_request(picture(), "inpaint", model=remote_id(PLAIN), seed=1,
                       **{**FAST, "steps": 40})
    t0 = time.perf_counter()
    with pytest.raises(Cancelled):
        engine.run(req, progress, stop.is_set)
    client = models.servers[0]
    deadline = time.time() + 30
    while time.time() < deadline:   # the server is idle again, well before 40 steps' time
        q = client.get_json("/queue")
        if not q["queue_running"] and not q["queue_pending"]:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the cancelled prompt still runs on the server")
    print(f"cancelled and idle after {time.perf_counter() - t0:.1f} s")
    result = engine.run(make_request(picture(), "inpaint", model=remote_id(PLAIN), seed=2,
                                     **FAST))
    assert result.backend == "comfy"


@pytest.mark.comfy
def test_a_missing_model_names_the_server(comfy_server: ComfyServer, tmp_path: Path) -> None:
    engine, _ = engine_on(comfy_server.url, tmp_path)
    with pytest.raises(AiError) as err:
        engine.run(make_request(picture(), "inpaint", model=remote_id("gone.safetensors"),
                                **FAST))
    text = str(err.value)
    assert "gone.safetensors" in text and comfy_server.url.split("//")[1] in text
    assert len(text.splitlines()) <= 2


@pytest.mark.comfy
def test_a_server_killed_mid_job_gives_a_clear_error(fresh_comfy_server: ComfyServer,
                                                     tmp_path: Path) -> None:
    engine, _ = engine_on(fresh_comfy_server.url, tmp_path)
    doc = picture()
    before = doc.flatten(Rect(0, 0, 256, 256))

    def progress(p: ProgressInfo) -> None:
        if p.phase == "generating" and p.step >= 1 and fresh_comfy_server.alive():
            fresh_comfy_server.kill()

    with pytest.raises(AiError) as err:
        engine.run(make_request(doc, "inpaint", model=remote_id(PLAIN), seed=1,
                                **{**FAST, "steps": 40}), progress)
    text = str(err.value)
    assert fresh_comfy_server.url.split("//")[1] in text and len(text.splitlines()) <= 2
    assert np.array_equal(doc.flatten(Rect(0, 0, 256, 256)), before)
    with pytest.raises(AiError, match="cannot be reached"):   # and a job after it, at once
        engine.run(make_request(doc, "inpaint", model=remote_id(PLAIN), seed=1, **FAST))


@pytest.mark.comfy
def test_a_refused_token_is_said_plainly_and_never_logged(
        comfy_server: ComfyServer, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with TokenProxy(comfy_server.url, "right-token") as proxy:
        engine, models = engine_on(proxy.url, tmp_path / "a", token="wrong-token")
        assert [m for m in models.models() if m.backend == "comfy"] == []
        with pytest.raises(AiError) as err:
            engine.run(make_request(picture(), "inpaint", model=remote_id(PLAIN), **FAST))
        text = str(err.value)
        assert "refused the token" in text and proxy.url.split("//")[1] in text
        assert len(text.splitlines()) <= 2 and proxy.refused >= 1
        assert "wrong-token" not in caplog.text and "wrong-token" not in repr(models.servers)
        # the right token: HTTP and the websocket pass the proxy
        engine, models = engine_on(proxy.url, tmp_path / "b", token="right-token")
        steps: list[ProgressInfo] = []
        result = engine.run(make_request(picture(), "inpaint", model=remote_id(PLAIN), seed=4,
                                         **FAST), steps.append)
        assert result.info["server"] == proxy.url.split("//")[1] and steps


@pytest.mark.comfy
def test_the_command_line_runs_on_a_server(comfy_server: ComfyServer, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    from aiart_desktop.cli import main as cli_main

    out = tmp_path / "out.png"
    rc = cli_main(["run", "txt2img", "--server", comfy_server.url, "--model", PLAIN,
                   "--width", "256", "--height", "256", "--steps", "3", "--prompt", "a pear",
                   "-q", "-o", str(out)])
    assert rc == 0, capsys.readouterr().err
    assert out.is_file()
    rc = cli_main(["run", "txt2img", "--server", comfy_server.url, "--model", "gone.safetensors",
                   "-q", "-o", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert rc != 0 and "gone.safetensors" in err


@pytest.mark.comfy
def test_a_server_that_ends_prompts_with_execution_success(comfy_server: ComfyServer,
                                                          comfy_models: Path,
                                                          tmp_path: Path) -> None:
    """Current servers announce a prompt's end with `execution_success`, older ones (the test
    server) with a null `executing`: the same job on both gives the same picture."""
    newer = ComfyServer.start(comfy_models, tmp_path / "newer", announce_success=True)
    try:
        engine, _ = engine_on(newer.url, tmp_path / "a")
        doc = picture()
        result = engine.run(make_request(doc, "inpaint", model=remote_id(PLAIN), seed=3,
                                         **FAST))
        assert "aiart-test: sent execution_success for" in newer.log_tail()
    finally:
        newer.stop()
    older, _ = engine_on(comfy_server.url, tmp_path / "b")
    same = older.run(make_request(picture(), "inpaint", model=remote_id(PLAIN), seed=3, **FAST))
    diff = np.abs(result.images[0].astype(int) - same.images[0].astype(int))
    # the same picture up to two server processes' CPU arithmetic (measured: max 4, mean 0.4)
    assert diff.mean() < 1.0 and diff.max() <= 8
