"""Live painting's headless half: the settings and the latest-wins scheduler (a fake clock, no
threads), and the "rect" target live frames are captured with."""
from __future__ import annotations

import numpy as np
import pytest

from aiart_desktop.ai.capture import make_request, request_rect
from aiart_desktop.ai.errors import RequestError
from aiart_desktop.ai.live import GRACE_S, MAX_WAIT_S, SLOW_FRAME_S, LiveScheduler, LiveSettings
from aiart_desktop.core.geometry import Rect
from tests.support.models import make_doc


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_nothing_starts_until_something_changes(clock: Clock) -> None:
    s = LiveScheduler(clock)
    assert not s.should_start() and s.wait_s() is None and not s.should_cancel()
    s.edited()
    assert s.should_start() and s.wait_s() == 0.0


def test_edits_during_a_frame_merge_into_one_next_frame(clock: Clock) -> None:
    s = LiveScheduler(clock)
    s.edited()
    s.frame_started()
    for _ in range(5):  # N edits while the frame runs
        clock.t += 0.01
        s.edited()
        assert not s.should_start() and not s.should_cancel()  # never queued, never cancelled
    s.frame_finished(0.2)
    assert s.should_start()
    s.frame_started()
    s.frame_finished(0.2)
    assert not s.should_start()  # nothing changed since: no third frame
    assert (s.started, s.finished) == (2, 2)  # at most N + 1 frames (here 2 for 6 edits)


def test_invalidate_cancels_the_frame_in_flight(clock: Clock) -> None:
    s = LiveScheduler(clock)
    s.invalidate()  # nothing in flight: just a new frame due
    assert not s.should_cancel() and s.should_start()
    s.frame_started()
    s.invalidate()
    assert s.should_cancel() and not s.should_start()
    s.frame_cancelled()
    assert not s.should_cancel() and s.should_start() and s.cancelled == 1


def test_fast_frames_have_no_pause(clock: Clock) -> None:
    s = LiveScheduler(clock)
    s.edited()
    s.frame_started()
    s.frame_finished(SLOW_FRAME_S / 2)
    assert s.pause == 0.0
    s.edited()
    assert s.should_start()


def test_slow_frames_wait_for_a_pause_after_the_last_edit(clock: Clock) -> None:
    s = LiveScheduler(clock)
    s.edited()
    s.frame_started()
    s.frame_finished(SLOW_FRAME_S + 1)
    assert s.pause == GRACE_S
    s.edited()
    assert not s.should_start() and s.wait_s() == pytest.approx(GRACE_S)
    clock.t += GRACE_S / 2
    s.edited()  # the stroke goes on: the pause starts again
    clock.t += GRACE_S * 0.75
    assert not s.should_start() and s.wait_s() == pytest.approx(GRACE_S / 4)
    clock.t += GRACE_S / 4
    assert s.should_start()
    # A fast frame turns the pause off again.
    s.frame_started()
    s.frame_finished(0.1)
    s.edited()
    assert s.should_start()


def test_a_long_stroke_still_gets_a_frame(clock: Clock) -> None:
    s = LiveScheduler(clock)
    s.edited()
    s.frame_started()
    s.frame_finished(SLOW_FRAME_S * 2)
    s.edited()
    t0 = clock.t
    while clock.t - t0 < MAX_WAIT_S - 0.1:  # edits every 0.1 s: the pause never ends
        clock.t += 0.1
        s.edited()
        assert not s.should_start() or clock.t - t0 >= MAX_WAIT_S
    clock.t = t0 + MAX_WAIT_S
    assert s.should_start()


def test_reset_forgets_the_frame_in_flight(clock: Clock) -> None:
    s = LiveScheduler(clock)
    s.edited()
    s.frame_started()
    s.invalidate()
    s.reset()
    assert not s.running and not s.should_cancel() and not s.should_start()


def test_settings_validate_and_give_the_capture_params() -> None:
    with pytest.raises(RequestError):
        LiveSettings("x", steps=9)
    with pytest.raises(RequestError):
        LiveSettings("x", steps=0)
    with pytest.raises(RequestError):
        LiveSettings("x", region="layer")
    with pytest.raises(RequestError, match="frame"):
        LiveSettings("x", region="frame")
    with pytest.raises(RequestError):
        LiveSettings("x", strength=0.0)
    s = LiveSettings("a castle", region="frame", frame=Rect(8, 8, 32, 32))
    p = s.capture_params()
    assert p["target"] == "rect" and p["rect"] == Rect(8, 8, 32, 32) and p["margin"] == 0
    assert p["steps"] == 4 and p["guidance"] == 1.0 and "seed" not in p
    assert LiveSettings("x", region="canvas").capture_params()["target"] == "image"
    assert LiveSettings("x", model="").model == "auto"  # no model picked
    assert s == LiveSettings("a castle", region="frame", frame=Rect(8, 8, 32, 32))
    assert s != LiveSettings("a castle!", region="frame", frame=Rect(8, 8, 32, 32))


@pytest.mark.parametrize("region", ["selection", "frame", "canvas"])
def test_live_requests_capture_the_region(region: str) -> None:
    doc = make_doc()
    s = LiveSettings("a boat", region=region, frame=Rect(36, 36, 40, 40), model="tiny-sd")
    req = make_request(doc, "img2img", seed=3, **s.capture_params())
    want = {"selection": Rect(40, 40, 24, 24), "frame": Rect(36, 36, 40, 40),
            "canvas": doc.rect}[region]
    assert req.rect == want and req.steps == 4 and req.seed == 3 and req.controls == ()
    assert np.array_equal(req.image, doc.flatten(req.rect))
    assert (req.mask is not None) == (region == "selection")


def test_rect_target() -> None:
    doc = make_doc()
    # Sizes snapped to multiples of 8 inside the canvas, no margin unless asked.
    assert request_rect(doc, "img2img", target="rect", rect=Rect(3, 5, 20, 20)) == Rect(1, 3,
                                                                                        24, 24)
    assert request_rect(doc, "img2img", target="rect", rect=Rect(120, 120, 40, 40)) == Rect(
        120, 120, 8, 8)
    req = make_request(doc, "img2img", target="rect", rect=Rect(16, 16, 32, 32), margin=8)
    assert req.rect == Rect(8, 8, 48, 48) and req.mask is None
    for bad in (None, Rect(200, 200, 10, 10)):
        with pytest.raises(RequestError):
            make_request(doc, "img2img", target="rect", rect=bad)
