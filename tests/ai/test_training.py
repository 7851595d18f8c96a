"""Train a Style's core: the plan and its buckets (ai/training.py), the trainer
(ai/backends/local_train.py) on the tiny random-weight SD and SDXL models with four small
pictures, in-process and as its own process: the loss falls, the LoRA is kohya-layout (read by
diffusers' own loader as a second reader) and changes what the app's LoRA loader makes, a
killed training resumes to the very weights of an uninterrupted one, cancel leaves nothing,
bad input and failures give plain messages with the last checkpoint kept."""
from __future__ import annotations

import errno
import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from aiart_desktop.ai import training as T
from aiart_desktop.ai.backends import local_train
from aiart_desktop.ai.backends.local_train import Commands, Trainer
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.conditioning import LoraRef
from aiart_desktop.ai.models.registry import ModelRegistry
from aiart_desktop.ai.setup import default_engine
from tests.support.models import make_doc
from tests.support.tiny_training import style_pictures, tiny_plan, write_pictures


@pytest.fixture
def reg(model_folders, tmp_path) -> ModelRegistry:
    r = ModelRegistry(tmp_path / "models", allow_pickle=False)
    for name in ("sd", "sdxl", "sd-inpaint"):
        r.add_folder(model_folders[name], name=name)
    return r


def _job(reg: ModelRegistry, tmp_path: Path, model: str = "sd", **kw: Any) -> Path:
    out = reg.lora_folder() / f"{kw.pop('name', 'mystyle')}.safetensors"
    plan = tiny_plan(reg, model, out, **kw)
    return T.prepare_job(tmp_path / "training", plan, style_pictures(4))


def _train(folder: Path) -> tuple[Trainer, list[dict[str, Any]]]:
    events: list[dict[str, Any]] = []
    trainer = Trainer(folder, events.append)
    assert trainer.run() == "done"
    return trainer, events


def _tensors(path: Path) -> dict[str, Any]:
    from safetensors.torch import load_file

    return load_file(str(path))


# ---- the plan ------------------------------------------------------------------------------
def test_buckets_keep_the_area_and_the_crop_fills_the_bucket() -> None:
    bs = T.buckets(512)
    assert (512, 512) in bs and all(w % 64 == 0 and h % 64 == 0 for w, h in bs)
    assert all(0.5 <= w / h <= 2 and w * h <= 512 * 512 for w, h in bs)
    wide = T.bucket_for(1600, 900, 512)
    assert wide.bucket[0] > wide.bucket[1]
    x0, y0, x1, y1 = wide.box
    assert 0 <= x0 < x1 <= 1600 and 0 <= y0 < y1 <= 900
    # the crop has the bucket's aspect, centred
    assert abs((x1 - x0) / (y1 - y0) - wide.bucket[0] / wide.bucket[1]) < 0.02
    assert abs(x0 - (1600 - x1)) <= 1 and abs(y0 - (900 - y1)) <= 1
    assert T.bucket_for(700, 700, 512) == T.Crop((512, 512), (0, 0, 700, 700))
    assert T.bucket_for(400, 1200, 512).bucket[1] > T.bucket_for(400, 1200, 512).bucket[0]


def test_plans_are_checked_with_plain_messages(reg, tmp_path) -> None:
    plan = tiny_plan(reg, "sd", tmp_path / "a.safetensors")
    with pytest.raises(T.TrainError, match="at least 4 pictures \\(3 picked\\)"):
        T.check_plan(plan, 3)
    with pytest.raises(T.TrainError, match="trigger word"):
        T.check_plan(T.replace(plan, trigger="  "), 4)
    with pytest.raises(T.TrainError, match="cannot be a file name"):
        T.check_plan(T.replace(plan, name="a/b"), 4)
    with pytest.raises(T.TrainError, match="rank"):
        T.check_plan(T.replace(plan, rank=0), 4)
    T.check_plan(plan, 4)
    assert T.with_preset(plan, "thorough").rank == T.PRESETS["thorough"].rank
    # the plan goes to the job folder and comes back the same
    assert T.TrainPlan.from_dict(json.loads(json.dumps(plan.to_dict()))) == plan


def test_prepare_job_reads_every_picture_and_names_a_bad_one(reg, tmp_path) -> None:
    files = write_pictures(tmp_path / "pics", 4)
    bad = tmp_path / "pics" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    plan = tiny_plan(reg, "sd", reg.lora_folder() / "s.safetensors")
    sources = [T.PictureSource(p.name, path=str(p)) for p in files]
    with pytest.raises(T.TrainError, match="\u201cbroken.png\u201d cannot be read"):
        T.prepare_job(tmp_path / "jobs", plan, [*sources, T.PictureSource("b", path=str(bad))])
    assert not (tmp_path / "jobs").exists() or not any((tmp_path / "jobs").iterdir())
    tiny = T.PictureSource("speck", rgba=np.zeros((8, 8, 4), np.uint8))
    with pytest.raises(T.TrainError, match="\u201cspeck\u201d is too small"):
        T.prepare_job(tmp_path / "jobs", plan, [*sources, tiny])
    folder = T.prepare_job(tmp_path / "jobs", plan, sources)
    saved = T.load_plan(folder)
    assert [p.source for p in saved.pictures] == [p.name for p in files]
    for pic, path in zip(saved.pictures, files, strict=True):  # flattened copies, hashed
        rgb = np.asarray(Image.open(folder / "pictures" / pic.file))
        assert rgb.shape == (pic.height, pic.width, 3)
        assert np.array_equal(rgb, np.asarray(Image.open(path).convert("RGB")))
        assert pic.sha256 == T.pixels_sha256(rgb)
    reg.lora_folder().mkdir(parents=True, exist_ok=True)
    Path(plan.output).write_bytes(b"x")
    with pytest.raises(T.TrainError, match="a LoRA named \u201cs\u201d exists already"):
        T.prepare_job(tmp_path / "jobs", plan, sources)


def test_an_inpainting_model_is_refused_by_name(reg, tmp_path) -> None:
    folder = _job(reg, tmp_path, "sd-inpaint")
    with pytest.raises(T.TrainError, match="sd-inpaint cannot be trained: it is an inpainting"):
        Trainer(folder, lambda e: None).run()


def test_estimates_scale_with_steps_and_use_a_measured_rate(reg, tmp_path) -> None:
    plan = tiny_plan(reg, "sd", tmp_path / "x.safetensors", resolution=512, steps=100)
    size = T.unet_bytes(reg.resolve("sd").path)
    assert size > 0
    a = T.estimate(plan, 3_400_000_000, "cpu")
    b = T.estimate(T.replace(plan, steps=200), 3_400_000_000, "cpu")
    assert b.seconds > 1.9 * a.seconds and not a.measured and "roughly" in a.text()
    assert T.estimate(plan, 3_400_000_000, "cuda").seconds < a.seconds / 10
    T.record_rate(tmp_path, plan, "cpu", 2.5)
    m = T.estimate(plan, 3_400_000_000, "cpu", tmp_path)
    m2 = T.estimate(T.replace(plan, steps=200), 3_400_000_000, "cpu", tmp_path)
    assert m.measured and m2.seconds - m.seconds == pytest.approx(250)  # 2.5 s a step
    assert 250 < m.seconds < 300      # plus loading the model, the pictures' latents...
    assert "roughly" not in m.text() and "5 min" in m.text()


# ---- training ------------------------------------------------------------------------------
def test_thirty_steps_lower_the_loss_and_the_lora_is_kohya_with_its_metadata(reg, tmp_path
                                                                              ) -> None:
    folder = _job(reg, tmp_path, sample_every=15)
    trainer, events = _train(folder)
    kinds = [e["event"] for e in events]
    assert kinds[:2] == ["started", "history"] and kinds[-1] == "done"
    steps = [e for e in events if e["event"] == "step"]
    assert [e["step"] for e in steps] == list(range(1, 31))
    assert all(np.isfinite(e["loss"]) for e in steps)
    before = events[0]["eval_loss"]
    after = events[-1]["eval_loss"]
    assert after < before * 0.97, (before, after)   # the fixed-noise loss fell
    samples = [e for e in events if e["event"] == "sample"]
    assert [e["step"] for e in samples] == [0, 15, 30]
    pics = [np.asarray(Image.open(e["path"])) for e in samples]
    assert pics[0].shape == (64, 64, 3) and not np.array_equal(pics[0], pics[-1])

    out = Path(events[-1]["path"])
    assert out == reg.lora_folder() / "mystyle.safetensors"
    tensors = _tensors(out)
    assert tensors and all(k.startswith("lora_unet_") for k in tensors)
    assert {k.rsplit(".", 1)[0].rsplit(".", 1)[-1] for k in tensors if k.endswith("weight")} \
        == {"lora_down", "lora_up"}
    assert any(k.endswith(".alpha") for k in tensors)
    from safetensors import safe_open

    with safe_open(str(out), "pt") as f:
        meta = f.metadata()
    plan = T.load_plan(folder)
    assert meta["ss_base_model_version"] == "sd_v1" and meta["ss_network_dim"] == "4"
    assert meta["modelspec.trigger_phrase"] == "zqstyle" and meta["aiart.trained_here"] == "true"
    assert json.loads(meta["aiart.picture_sha256"]) == [p.sha256 for p in plan.pictures]
    assert (folder / "done.json").exists() and not (folder / "checkpoint.safetensors").exists()
    # the app lists it at once, as a kohya SD LoRA trained here, trigger word first
    info = {i.id: i for i in reg.loras()}["mystyle"]
    assert (info.arch, info.layout, info.trained_here) == ("sd", "kohya", True)
    assert info.triggers[0] == "zqstyle" and info.alias == "mystyle"
    assert not T.unfinished_jobs(tmp_path / "training")


def _txt2img(engine: Any, **kw: Any) -> Any:
    req = make_request(make_doc(64, None), "txt2img", target="image", prompt="zqstyle, a moon",
                       model=kw.pop("model", "sd"), steps=3, seed=5, **kw)
    return engine.run(req)


@pytest.mark.parametrize("arch", ["sd", "sdxl"])
def test_the_trained_lora_loads_in_the_app_and_in_diffusers_and_changes_the_picture(
        reg, tmp_path, arch) -> None:
    folder = _job(reg, tmp_path, arch, name=f"style_{arch}")
    _, events = _train(folder)
    assert events[-1]["eval_loss"] < events[0]["eval_loss"] * 0.99   # 30 steps: it learned
    out = reg.lora_folder() / f"style_{arch}.safetensors"
    # a second reader: diffusers' own LoRA loader takes the kohya file
    import torch
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline

    cls = StableDiffusionXLPipeline if arch == "sdxl" else StableDiffusionPipeline
    pipe = cls.from_pretrained(str(reg.resolve(arch).path), local_files_only=True)
    lora_weights = {n: p.detach().clone() for n, p in pipe.unet.named_parameters()}
    pipe.load_lora_weights(str(out), adapter_name="trained")
    loaded = [n for n, _ in pipe.unet.named_parameters() if "lora" in n]
    assert loaded, "diffusers found no LoRA layers in the file"
    trained = _tensors(out)
    assert len(loaded) == sum(1 for k in trained if k.endswith(".weight"))
    assert all(torch.equal(p, lora_weights[n]) for n, p in pipe.unet.named_parameters()
               if n in lora_weights)  # the base untouched
    # the app's loader: the LoRA changes the picture; weight 0 gives the plain one
    engine = default_engine(reg, device="cpu")
    plain = _txt2img(engine, model=arch)
    styled = _txt2img(engine, model=arch, loras=(LoraRef(f"style_{arch}", 1.0),))
    zero = _txt2img(engine, model=arch, loras=(LoraRef(f"style_{arch}", 0.0),))
    diff = np.abs(styled.images[0].astype(int) - plain.images[0].astype(int))
    assert diff.max() > 8, diff.max()
    assert np.array_equal(zero.images[0], plain.images[0])
    rec = styled.record(0)   # the record says the LoRA was trained here
    assert rec["loras_trained_here"] == [f"style_{arch}"]
    assert "loras_trained_here" not in plain.record(0)


def _process(folder: Path) -> tuple[T.TrainerProcess, list[dict[str, Any]], threading.Event]:
    events: list[dict[str, Any]] = []
    checkpointed = threading.Event()

    def on_event(e: dict[str, Any]) -> None:
        events.append(e)
        if e["event"] == "checkpoint":
            checkpointed.set()

    proc = T.TrainerProcess(folder, on_event)
    proc.start()
    return proc, events, checkpointed


def test_a_killed_training_resumes_to_the_weights_of_an_uninterrupted_one(reg, tmp_path) -> None:
    resumed = _job(reg, tmp_path, name="resumed")
    proc, events, checkpointed = _process(resumed)
    try:
        assert checkpointed.wait(120), events[-3:]
        time.sleep(0.15)  # a step or two past the checkpoint, then killed
        os.kill(proc.proc.pid, signal.SIGKILL)  # type: ignore[union-attr]
        assert proc.wait(30) is not None
    finally:
        proc.kill()
    killed_at = max(e["step"] for e in events if e["event"] in ("step", "checkpoint"))
    assert killed_at < 30
    assert events[-1]["event"] == "error" and "resumed" in events[-1]["message"]
    state = T.unfinished_jobs(tmp_path / "training")
    assert [s.folder for s in state] == [resumed] and state[0].step in (10, 20)
    assert not (reg.lora_folder() / "resumed.safetensors").exists()
    # resumed in a new process, it goes on from the checkpoint...
    proc2, events2, _ = _process(resumed)
    assert proc2.wait(120) == 0, events2[-3:]
    started = next(e for e in events2 if e["event"] == "started")
    assert started["step"] == state[0].step
    history = next(e for e in events2 if e["event"] == "history")
    assert len(history["losses"]) == state[0].step
    # ...to the same weights as a training never interrupted (run in-process here)
    _train(_job(reg, tmp_path, name="straight"))
    a = _tensors(reg.lora_folder() / "straight.safetensors")
    b = _tensors(reg.lora_folder() / "resumed.safetensors")
    import torch

    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_cancel_leaves_no_lora_and_no_job_stop_keeps_a_resumable_checkpoint(reg, tmp_path
                                                                            ) -> None:
    folder = _job(reg, tmp_path, steps=400, checkpoint_every=0)
    proc, events, _ = _process(folder)
    deadline = time.monotonic() + 120
    while not any(e["event"] == "step" for e in events) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.pause()
    deadline = time.monotonic() + 30
    while not any(e["event"] == "paused" for e in events) and time.monotonic() < deadline:
        time.sleep(0.05)
    paused = next(e for e in events if e["event"] == "paused")
    assert T.checkpoint_step(folder) == paused["step"]  # a pause is a checkpoint
    proc.resume()
    while not any(e["event"] == "resumed" for e in events) and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.cancel()
    assert proc.wait(60) == 0
    assert events[-1]["event"] == "cancelled"
    assert not folder.exists()
    assert not list(reg.lora_folder().glob("*")) if reg.lora_folder().exists() else True
    # stop (what quitting the app sends): a checkpoint, and the job waits to be resumed
    folder2 = _job(reg, tmp_path, name="later", steps=400, checkpoint_every=0)
    proc2, events2, _ = _process(folder2)
    while not any(e["event"] == "step" for e in events2) and time.monotonic() < deadline + 60:
        time.sleep(0.05)
    proc2.proc.stdin.close()  # type: ignore[union-attr]  # the app went away
    assert proc2.wait(60) == 0
    assert events2[-1]["event"] == "stopped"
    assert T.checkpoint_step(folder2) == events2[-1]["step"] > 0
    assert [s.folder for s in T.unfinished_jobs(tmp_path / "training")] == [folder2]
    assert not (reg.lora_folder() / "later.safetensors").exists()


def test_failures_give_two_plain_lines_and_keep_the_checkpoint(reg, tmp_path, monkeypatch
                                                               ) -> None:
    folder = _job(reg, tmp_path, steps=20, checkpoint_every=5)
    trainer = Trainer(folder, lambda e: None)
    real_step = trainer.train_step

    def step(n: int) -> float:
        if n == 12:
            import torch

            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_step(n)

    monkeypatch.setattr(trainer, "train_step", step)
    with pytest.raises(Exception) as info:
        trainer.run()
    msg = local_train.failure_message(info.value, trainer)
    assert msg.splitlines() == [
        "out of memory at step 12: pick the Quick preset, a smaller rank, or turn on Save "
        "memory.", "The last checkpoint (step 10) is kept: resume when ready."]
    assert T.checkpoint_step(folder) == 10
    # a full disk when the checkpoint is written: named, and the last one kept
    trainer2 = Trainer(folder, lambda e: None)
    real_write = local_train.atomic_write_bytes

    def full(path: Any, data: bytes) -> None:
        if Path(path).name == "checkpoint.safetensors" and trainer2.step >= 15:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(path, data)

    monkeypatch.setattr(local_train, "atomic_write_bytes", full)
    with pytest.raises(OSError) as info2:
        trainer2.run()
    msg = local_train.failure_message(info2.value, trainer2)
    assert msg.startswith("the disk is full: the training in \u201c") and len(msg.splitlines()) == 2
    assert T.checkpoint_step(folder) == 10 and trainer2.saved_step == 10
    assert not Path(trainer2.plan.output).exists()
    # anything else: its kind, and where the details are
    assert local_train.failure_message(KeyError("x"), None) == (
        "the training failed at step 0 (KeyError); the log has the details.\n"
        "Nothing was saved yet.")


def test_a_damaged_checkpoint_starts_again_rather_than_failing(reg, tmp_path) -> None:
    folder = _job(reg, tmp_path, steps=3)
    (folder / "checkpoint.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{}")
    trainer, events = _train(folder)
    history = next(e for e in events if e["event"] == "history")
    assert history["step"] == 0 and "could not be read" in history["note"]


def test_a_trainer_that_dies_without_a_word_is_reported(reg, tmp_path) -> None:
    folder = _job(reg, tmp_path)
    (folder / "plan.json").write_text("{not json")
    proc, events, _ = _process(folder)
    assert proc.wait(60) == 1
    assert events[-1]["event"] == "error"
    assert "cannot be read" in events[-1]["message"]
    assert len(events[-1]["message"].splitlines()) <= 2


def test_commands_are_read_from_stdin_and_its_end_means_stop() -> None:
    import io

    c = Commands()
    c.listen(io.StringIO("pause\nresume\ncancel\n"))
    deadline = time.monotonic() + 5
    while not c.stopped and time.monotonic() < deadline:
        time.sleep(0.01)
    assert c.cancelled and c.stopped and not c.paused
