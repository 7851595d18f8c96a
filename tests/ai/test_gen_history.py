"""Generation history: entries from real engine results, search, the .ora part (bit-exact
round trip, hostile parts ignored), and the per-user folder (append, read back, prune)."""
from __future__ import annotations

import io
import json
import logging
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from aiart_desktop.ai.apply import apply_result
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.engine import Engine
from aiart_desktop.ai.records import gen_history as gh
from aiart_desktop.ai.setup import default_engine
from aiart_desktop.core.document import HISTORY_KEY, Document
from aiart_desktop.core.io import load_ora, save_ora
from aiart_desktop.core.io.ora_history import HISTORY_JSON


@pytest.fixture
def classical(empty_registry) -> Engine:
    return default_engine(empty_registry, device="cpu")


def _result(engine: Engine, doc: Document, prompt: str = "a red boat", batch: int = 2,
            seed: int = 7):
    req = make_request(doc, "inpaint", prompt=prompt, model="classical", batch_size=batch,
                       seed=seed, negative_prompt="blurry")
    return engine.run(req)


def _entry(i: int, prompt: str, t: float) -> gh.GenerationEntry:
    png = gh.thumbnail_png(np.full((20, 30, 3), (i * 40) % 256, np.uint8))
    rec = {"op": "txt2img", "prompt": prompt, "seed": i, "model": "m", "time": str(t)}
    return gh.GenerationEntry(gh.new_id(t), t, rec, [i], [png])


def test_entry_from_a_real_result(classical: Engine, doc_factory) -> None:
    doc = doc_factory()
    r = _result(classical, doc)
    e = gh.entry_from_result(r, when=1_700_000_000.0, document="pic.ora")
    assert e.op == "inpaint" and e.prompt == "a red boat" and e.seeds == r.seeds == [7, 8]
    assert e.record["negative_prompt"] == "blurry" and e.record["steps"] == r.request.steps
    assert e.record["rect"] == [r.request.rect.x, r.request.rect.y, r.request.rect.w,
                                r.request.rect.h]
    assert e.record["time"] == r.info["time"] and e.model == "classical"
    assert e.selection == [40, 40, 24, 24]  # the selection itself, not the context region
    assert len(e.thumbnails) == 2
    for png, img in zip(e.thumbnails, r.images, strict=True):
        with Image.open(io.BytesIO(png)) as im:
            assert im.format == "PNG" and max(im.size) <= gh.THUMB_SIDE
            assert im.size[0] / im.size[1] == pytest.approx(img.shape[1] / img.shape[0], 0.1)
    assert e.variant_record(1)["seed"] == 8 and e.variant_record(1)["variant"] == 1
    # Plain data both ways, JSON-able apart from the thumbnails.
    back = gh.GenerationEntry.from_data(e.to_data())
    assert back == e
    json.dumps({**e.to_data(), "thumbnails": []})


def test_document_history_apply_marks_variant_not_undoable(classical: Engine,
                                                           doc_factory) -> None:
    doc = doc_factory()
    doc.history.set_clean()
    undo0, rev0 = doc.history.undo_count, doc.revision
    r = _result(classical, doc)
    gh.add_to_document(doc, gh.entry_from_result(r))
    assert doc.modified and doc.revision > rev0 and doc.history.undo_count == undo0
    layer = apply_result(doc, r, 1)
    assert gh.mark_applied(doc, layer.provenance, layer.name)
    [entry] = gh.entries(doc)
    assert entry.applied[0]["variant"] == 1 and entry.applied[0]["seed"] == 8
    doc.history.undo()  # the layer goes; the history stays (it is not part of undo)
    assert len(gh.entries(doc)) == 1 and doc.modified


def test_search_words_case_insensitive_newest_first() -> None:
    items = [_entry(1, "A Red boat at sea", 100.0), _entry(2, "red sky", 300.0),
             _entry(3, "blue BOAT", 200.0)]
    assert [e.seeds[0] for e in gh.search(items, "")] == [2, 3, 1]
    assert [e.seeds[0] for e in gh.search(items, "boat")] == [3, 1]
    assert [e.seeds[0] for e in gh.search(items, "RED")] == [2, 1]
    assert [e.seeds[0] for e in gh.search(items, "red   boat")] == [1]
    assert gh.search(items, "green") == []


def test_ora_round_trip_is_bit_exact(classical: Engine, doc_factory, tmp_path: Path
                                     ) -> None:
    doc = doc_factory()
    for prompt, seed in (("a red boat", 1), ("ünïcödé \u2603 sky", 2)):
        gh.add_to_document(doc, gh.entry_from_result(_result(classical, doc, prompt, seed=seed)))
    doc.metadata["other"] = {"kept": True}
    a, b = tmp_path / "a.ora", tmp_path / "b.ora"
    save_ora(doc, a)
    loaded = load_ora(a)
    assert loaded.generation_history == doc.generation_history  # thumbnails bytes included
    assert loaded.metadata["other"] == {"kept": True} and not loaded.modified
    with zipfile.ZipFile(a) as z:
        names = z.namelist()
        assert HISTORY_JSON in names and "aiart/history/00001-1.png" in names
        meta = json.loads(z.read("aiart/document.json"))["metadata"]
        assert HISTORY_KEY not in meta  # stored once, in its own part
    save_ora(loaded, b)
    with zipfile.ZipFile(a) as za, zipfile.ZipFile(b) as zb:
        for name in names:
            if name.startswith("aiart/history"):
                assert za.read(name) == zb.read(name), name
    # The entries read back as entries, search works on the reloaded document.
    assert [e.prompt for e in gh.search(gh.entries(loaded), "SKY")] == ["ünïcödé \u2603 sky"]


def _rewrite(src: Path, dst: Path, replace: dict[str, bytes | None],
             add: dict[str, bytes] | None = None) -> None:
    with zipfile.ZipFile(src) as zi, zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as zo:
        for info in zi.infolist():
            if info.filename in replace:
                data = replace[info.filename]
                if data is not None:
                    zo.writestr(info.filename, data)
            else:
                zo.writestr(info, zi.read(info))
        for name, data in (add or {}).items():
            zo.writestr(name, data)


@pytest.mark.parametrize("case", ["bad-json", "not-a-list", "bad-entries", "bad-thumbs",
                                  "too-big", "no-history-in-metadata"])
def test_hostile_history_is_ignored_never_a_failed_open(tmp_path: Path, case: str,
                                                        caplog: pytest.LogCaptureFixture
                                                        ) -> None:
    doc = Document.new(32, 24)
    for i in range(2):
        gh.add_to_document(doc, _entry(i, f"prompt {i}", 100.0 + i))
    good = tmp_path / "good.ora"
    save_ora(doc, good)
    with zipfile.ZipFile(good) as z:
        part = json.loads(z.read(HISTORY_JSON))
    bad = tmp_path / "bad.ora"
    replace: dict[str, bytes | None] = {}
    add: dict[str, bytes] = {}
    if case == "bad-json":
        replace[HISTORY_JSON] = b'{"entries": [ {"id": '
    elif case == "not-a-list":
        replace[HISTORY_JSON] = json.dumps({"entries": {"a": 1}}).encode()
    elif case == "bad-entries":
        part["entries"] += [5, "x", {"id": "no-record"}, None]
        replace[HISTORY_JSON] = json.dumps(part).encode()
    elif case == "bad-thumbs":
        part["entries"][0]["thumbnails"] = ["../../etc/passwd", "/abs.png", "data/layer0000.png",
                                            "aiart/history/missing.png", "aiart/history/x.png", 7]
        add["aiart/history/x.png"] = b"not a png at all"
        replace[HISTORY_JSON] = json.dumps(part).encode()
    elif case == "too-big":
        replace[HISTORY_JSON] = b" " * (65 << 20)
    else:  # a document.json whose metadata smuggles a history in: ignored
        with zipfile.ZipFile(good) as z:
            dj = json.loads(z.read("aiart/document.json"))
        dj["metadata"][HISTORY_KEY] = [{"record": {}, "thumbnails": ["x"]}]
        replace["aiart/document.json"] = json.dumps(dj).encode()
        replace[HISTORY_JSON] = None
    _rewrite(good, bad, replace, add)
    with caplog.at_level(logging.WARNING):
        loaded = load_ora(bad)
    assert np.array_equal(loaded.flatten(), doc.flatten())  # the picture always opens
    hist = loaded.generation_history
    if case == "bad-entries":
        assert hist == doc.generation_history and "damaged" in caplog.text
    elif case == "bad-thumbs":
        assert hist[0]["thumbnails"] == [] and hist[1] == doc.generation_history[1]
        assert "thumbnail" in caplog.text
    else:
        assert hist == []
        if case != "no-history-in-metadata":
            assert "history" in caplog.text


def test_user_history_append_read_back_and_prune(tmp_path: Path) -> None:
    store = gh.UserHistory(tmp_path / "hist", max_bytes=1 << 30)
    items = [_entry(i, f"prompt number {i}", 1_700_000_000.0 + i * 86400 * 10)
             for i in range(12)]
    for e in items:
        e.document = "pic.ora"
        store.append(e)
    months = store.month_files()
    assert len(months) >= 3 and all(p.suffix == ".jsonl" for p in months)
    back = store.load()
    assert [e.id for e in back] == [e.id for e in reversed(items)]  # newest first
    assert back[0].thumbnails == items[-1].thumbnails and back[0].document == "pic.ora"
    assert back[0].record == items[-1].record
    # A damaged line (a crash mid-write, a hand edit) is skipped, the rest still reads.
    with open(months[-1], "ab") as f:
        f.write(b'{"id": "broken", "time": \n')
    assert len(store.load()) == 12
    # Past the size limit the oldest entries and their thumbnails go.
    total = store.size()
    small = gh.UserHistory(store.folder, max_bytes=total // 2)
    small.append(_entry(99, "newest", 1_800_000_000.0))
    assert small.size() <= total // 2
    kept = small.load()
    assert kept[0].prompt == "newest" and items[0].id not in {e.id for e in kept}
    assert len(kept) < 13
    thumbs = {p.name for p in small.thumbs_dir.iterdir()}
    assert not any(n.startswith(items[0].id) for n in thumbs)
    assert not any(n.startswith(".") for n in thumbs)  # no temporary files left
