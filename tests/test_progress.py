"""The progress lines of long measurements: steps done and an estimate of the time left."""

from __future__ import annotations

import io

from wsframe.cli.progress import Progress, format_duration


def test_estimate_from_the_pace_so_far() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = Progress(4, stream=out, clock=lambda: now[0])
    now[0] = 10.0
    assert progress.step("a") == "[1/4, ~30 s left]"
    assert progress.step("a") == "[1/4, ~30 s left]"  # a step counts once
    now[0] = 20.0
    progress.line("b", "cell b")
    assert out.getvalue() == "[2/4, ~20 s left] cell b\n"
    progress.step("c")
    assert progress.step("d") == "[4/4, done]"


def test_durations() -> None:
    assert format_duration(4.4) == "~4 s"
    assert format_duration(190) == "~3 min 10 s"
