"""`fix --trial --write`: the lazy trial runs on each measured entry before the write (its
start-up B and the bound T a perfect cut reaches) and after it (A, measured the same way),
and the summary says how much of the bound the fix reached: (B - A) / (B - T). Times are
not asserted: only that the figures are taken from both trials and the share follows them."""

from __future__ import annotations

from hotstart.fix import fix
from hotstart.fix._remeasure import Remeasured
from hotstart.render.fix import render_fix

from .test_joint_plan import ENTRY, _project


def test_the_share_of_the_bound_is_b_minus_a_over_b_minus_t():
    figures = Remeasured(ENTRY, 100.0, 60.0, 10, 6, trial_before_us=200e3,
                         trial_after_us=120e3, bound_us=100e3)
    assert figures.reached == 0.8
    no_room = Remeasured(ENTRY, 100.0, 60.0, 10, 6, trial_before_us=90e3,
                         trial_after_us=80e3, bound_us=95e3)
    assert no_room.reached is None  # the bound is not below before: no share
    assert Remeasured(ENTRY, 100.0, 60.0, 10, 6).reached is None  # no trial


def test_fix_with_the_trial_reports_before_after_and_the_bound(tmp_path, monkeypatch):
    _project(tmp_path, monkeypatch)
    result = fix("app", entries=[ENTRY], write=True, runs=1, trial=True)
    [measured] = result.remeasured
    assert None not in (measured.trial_before_us, measured.trial_after_us, measured.bound_us)
    [entry] = result.report.entries  # B and T: the audit's own trial, on the original code
    assert (measured.trial_before_us, measured.bound_us) == (entry.trial.before_ms * 1e3,
                                                             entry.trial.bound_ms * 1e3)
    text = render_fix(result)
    line = next(t for t in text.splitlines() if "the trial's bound" in t)
    assert line.startswith(f"  before {measured.trial_before_us / 1e3:.1f} ms -> after "
                           f"{measured.trial_after_us / 1e3:.1f} ms; the trial's bound "
                           f"{measured.bound_us / 1e3:.1f} ms")
    if measured.reached is not None:
        assert line.endswith(f": fix reached {measured.reached * 100:.0f} % of it")
    else:
        assert line.endswith(" is not below before: no share to report")
