"""Control pictures (ai/controls.py) from real pixels, and control layers captured into a
request (capture.make_request(..., controls=[ControlLayer...])): no model needed."""
from __future__ import annotations

import numpy as np
import pytest

from aiart_desktop.ai import controls
from aiart_desktop.ai.capture import make_request
from aiart_desktop.ai.conditioning import Control
from aiart_desktop.ai.controls import ControlLayer, preprocess
from aiart_desktop.ai.errors import RequestError
from aiart_desktop.core import selection as sel
from aiart_desktop.core.document import Document
from aiart_desktop.core.geometry import Rect


def stroke_layer(h: int = 64, w: int = 64, colour: tuple[int, int, int] = (200, 40, 40)
                 ) -> np.ndarray:
    """A transparent layer with a coloured cross (4 px wide) on it."""
    img = np.zeros((h, w, 4), np.uint8)
    img[30:34, 8:56] = (*colour, 255)
    img[8:56, 30:34] = (*colour, 255)
    return img


def paper_drawing(h: int = 64, w: int = 64) -> np.ndarray:
    """The same cross drawn dark on opaque white paper."""
    img = np.full((h, w, 4), 255, np.uint8)
    img[30:34, 8:56, :3] = 20
    img[8:56, 30:34, :3] = 20
    return img


def cross_mask(h: int = 64, w: int = 64) -> np.ndarray:
    m = np.zeros((h, w), bool)
    m[30:34, 8:56] = True
    m[8:56, 30:34] = True
    return m


def test_line_art_is_the_artists_lines_white_on_black() -> None:
    want = cross_mask()
    for rgba in (stroke_layer(), stroke_layer(colour=(250, 250, 250)), paper_drawing()):
        out = preprocess("lineart", rgba)
        assert out.shape == (64, 64, 3) and out.dtype == np.uint8
        assert (out[..., 0] == out[..., 1]).all() and (out[..., 1] == out[..., 2]).all()
        assert ((out[..., 0] == 255) == want).all()  # lines white, the rest black
        assert set(np.unique(out)) <= {0, 255}
    # Scribbles are thickened (the scribble model was trained on thick strokes).
    lineart = preprocess("lineart", paper_drawing(256, 256))
    scribble = preprocess("scribble", paper_drawing(256, 256))
    assert (scribble[..., 0] > 0).sum() > (lineart[..., 0] > 0).sum()
    assert (scribble[lineart > 0] == 255).all()


def test_edges_and_tile_come_from_any_picture() -> None:
    rgba = np.full((64, 64, 4), 255, np.uint8)
    rgba[16:48, 16:48, :3] = (30, 60, 200)  # a blue square on white
    for kind in ("canny", "softedge"):
        out = preprocess(kind, rgba)[..., 0]
        assert out.shape == (64, 64)
        assert out[4:10, 4:10].max() == 0 and out[26:38, 26:38].max() == 0  # flat: no edges
        assert out[14:19, 20:44].max() > 100 and out[20:44, 45:50].max() > 100  # the border
    assert (preprocess("tile", rgba) == rgba[..., :3]).all()
    # Depth and pose need a detector model.
    for kind in ("depth", "pose"):
        assert controls.needs_detector(kind)
        with pytest.raises(RequestError, match="detector"):
            preprocess(kind, rgba)
    with pytest.raises(RequestError, match="unknown control type"):
        ControlLayer(1, "normal")


def test_scaling_keeps_strokes_clean() -> None:
    """Scaled through premultiplied colour: transparent (black) pixels do not darken the
    stroke's edges, and the lines stay where they were."""
    rgba = stroke_layer(128, 128, colour=(250, 250, 250))
    small = controls.scale(rgba, (64, 64))
    edge = small[small[..., 3] > 0]
    assert edge[:, :3].min() >= 245
    assert controls.scale(rgba, (128, 128)) is rgba
    lines = preprocess("lineart", small)[..., 0] > 0
    assert lines[16, 22] and lines[22, 16] and not lines[5, 5] and not lines[40, 40]


def test_pose_and_depth_pictures() -> None:
    coco = np.array([[40, 10], [42, 8], [38, 8], [45, 9], [35, 9], [50, 20], [30, 20],
                     [55, 35], [25, 35], [58, 48], [22, 48], [46, 50], [34, 50], [47, 70],
                     [33, 70], [48, 90], [32, 90]], np.float32)
    points = controls.openpose_keypoints(coco, np.ones(17), threshold=0.3)
    assert len(points) == 18 and points[1] == (40.0, 20.0)  # the neck: between the shoulders
    pic = controls.pose_picture(points, (80, 100))
    assert pic.shape == (100, 80, 3) and pic[0:5, 0:5].max() == 0
    assert tuple(pic[10, 40]) == (255, 0, 0)  # the nose: OpenPose's red
    missing = controls.openpose_keypoints(coco, np.zeros(17), threshold=0.3)
    assert controls.pose_picture(missing, (80, 100)).max() == 0
    depth = np.linspace(0, 1, 20 * 30, dtype=np.float32).reshape(20, 30)
    d = controls.depth_picture(depth, (60, 40))
    assert d.shape == (40, 60, 3) and d.min() == 0 and d.max() == 255
    assert controls.depth_picture(np.ones((4, 4)), (8, 8)).max() == 0
    # The whole picture as one person's box, at the pose model's aspect; heatmap peaks map
    # back to the picture.
    box = controls.pose_box(80, 100)
    assert box[:2] == (40.0, 50.0) and box[2] / box[3] == pytest.approx(192 / 256)
    heat = np.zeros((17, 64, 48), np.float32)
    heat[:, 32, 24] = 1.0
    xy, scores = controls.keypoints_from_heatmaps(heat, box)
    assert scores.min() == 1.0 and np.allclose(xy, [[40.0, 50.0]], atol=box[2] / 40)


def sketch_doc() -> tuple[Document, int, int]:
    """A 256² picture, a hidden line-art layer and a group holding another drawing."""
    doc = Document.new(256, 256, (200, 210, 220, 255))
    sketch = doc.add_layer("Sketch")
    pixels = stroke_layer(64, 64)
    doc.put_pixels(sketch, 100, 60, pixels)
    doc.set_visible(sketch, False)
    group = doc.add_group("Guides")
    inner = doc.add_layer("Guide", parent=group)
    doc.put_pixels(inner, 100, 60, paper_drawing())
    doc.set_selection(sel.rect_mask(256, 256, Rect(110, 70, 40, 40)))
    return doc, sketch.uid, group.uid


def test_make_request_copies_the_control_layers_over_the_region() -> None:
    doc, sketch, group = sketch_doc()
    specs = [ControlLayer(sketch, "lineart", strength=0.8, end=0.6),
             ControlLayer(group, "canny", start=0.1)]
    req = make_request(doc, "inpaint", prompt="a tower", model="sd", controls=specs)
    r = req.rect
    assert r.x < 110 and r.y < 70  # the context margin around the selection
    a, b = req.controls
    assert isinstance(a, Control) and a.kind == "lineart" and a.layer == "Sketch"
    assert a.strength == 0.8 and a.end == 0.6 and b.start == 0.1 and b.layer == "Guides"
    # The hidden layer's own pixels, exactly over the region (the picture does not show it).
    layer = doc.find(sketch)
    assert (a.image == layer.read(r)).all() and a.image.shape == (r.h, r.w, 4)  # type: ignore[union-attr]
    assert a.image[..., 3].max() == 255 and (req.image[..., :3] != (200, 40, 40)).any(axis=2).all()
    # The group: its composite (the paper drawing) over the same region.
    assert (b.image[60 - r.y, 100 - r.x] == (255, 255, 255, 255)).all()
    assert (b.image[90 - r.y, 120 - r.x, :3] == 20).all()
    rec = req.to_record()["controls"]
    assert [c["type"] for c in rec] == ["lineart", "canny"] and rec[0]["layer"] == "Sketch"
    assert rec[0]["image_sha256"] == a.image_sha256() != rec[1]["image_sha256"]
    # A layer that is gone is a clear error.
    with pytest.raises(RequestError, match="layer is gone"):
        make_request(doc, "inpaint", model="sd", controls=[ControlLayer(10**9, "lineart")])
    # Outpaint: the control covers the request's context strip, like its picture.
    out = make_request(doc, "outpaint", model="sd", direction="right", pixels=64,
                       controls=[ControlLayer(sketch, "lineart")])
    assert out.controls[0].image.shape[:2] == (out.rect.h, out.rect.w)


def test_a_record_re_runs_with_its_control_layers_found_again_by_name() -> None:
    """Re-run (Generations dock) and params_from_record: the recorded control layer, by name,
    its pixels captured again as they are now; a layer gone is said in plain words."""
    from aiart_desktop.ai.capture import params_from_record

    doc, sketch_uid, _ = sketch_doc()
    spec = ControlLayer(layer_uid=sketch_uid, kind="scribble", strength=0.7, start=0.1,
                        end=0.8)
    first = make_request(doc, "img2img", model="m", seed=3, controls=[spec])
    rec = first.to_record()
    op, params = params_from_record(rec, "m", doc)
    (again,) = params["controls"]
    assert (op, again.layer_uid, again.kind) == ("img2img", sketch_uid, "scribble")
    assert (again.strength, again.start, again.end) == (0.7, 0.1, 0.8)
    remade = make_request(doc, op, **params)
    assert np.array_equal(remade.controls[0].image, first.controls[0].image)
    # without the document (the command line), the record's other settings only
    assert "controls" not in params_from_record(rec, "m")[1]
    node = doc.find(sketch_uid)
    assert node is not None
    doc.set_props(node, name="Old sketch")   # renamed: the record's "Sketch" is gone
    with pytest.raises(RequestError, match="control layer “.*” of this generation is not in"):
        params_from_record(rec, "m", doc)
