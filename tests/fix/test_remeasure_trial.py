"""`fix --trial --write`: the lazy trial runs on each measured entry before the write (its
start-up B and the bound T a perfect cut reaches) and after it (A, measured the same way),
and the summary says how much of the bound the fix reached: (B - A) / (B - T). Times are
not asserted: only that the figures are taken from both trials and the share follows them."""

from __future__ import annotations

from hotstart.audit.model import TrialBound
from hotstart.fix import fix
from hotstart.fix._remeasure import Remeasured, bound_of
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


def test_the_project_bound_is_used_when_the_trial_has_one():
    both = TrialBound(before_ms=200.0, bound_ms=90.0, predicted_ms=None, eager_packages=[],
                      project_bound_ms=120.0)
    assert bound_of(both) == (120e3, "project")
    old = TrialBound(before_ms=200.0, bound_ms=90.0, predicted_ms=None, eager_packages=[])
    assert bound_of(old) == (90e3, "all-lazy")  # a report from before the project bound
    figures = Remeasured(ENTRY, 100.0, 60.0, 10, 6, trial_before_us=200e3,
                         trial_after_us=150e3, bound_us=90e3, bound_kind="all-lazy")
    text = render_fix_of(figures)
    assert "the trial's all-lazy bound (libraries' own imports lazy too: no project bound " \
           "found) 90.0 ms: fix reached 45 % of it" in text


def test_a_trial_without_a_bound_says_so_and_gives_no_share():
    """A trial whose lazy run never matched the eager run earned no bound: fix must not
    report a share of it, and says why."""
    figures = Remeasured(ENTRY, 100.0, 60.0, 10, 6, trial_before_us=200e3,
                         trial_after_us=120e3, bound_us=None,
                         no_bound="the lazy run never did what the eager run does")
    assert figures.reached is None
    text = render_fix_of(figures)
    assert "the trial: no bound: the lazy run never did what the eager run does" in text
    assert "fix reached" not in text


def test_fix_with_the_trial_reports_before_after_and_the_bound(tmp_path, monkeypatch):
    _project(tmp_path, monkeypatch)
    result = fix("app", entries=[ENTRY], write=True, runs=1, trial=True)
    [measured] = result.remeasured
    assert None not in (measured.trial_before_us, measured.trial_after_us, measured.bound_us)
    [entry] = result.report.entries  # B and T: the audit's own trial, on the original code
    # T is the project bound (what fixing the project's files reaches): app's own imports
    assert entry.trial.project_bound_ms is not None and measured.bound_kind == "project"
    assert (measured.trial_before_us, measured.bound_us) == (
        entry.trial.before_ms * 1e3, entry.trial.project_bound_ms * 1e3)
    text = render_fix(result)
    line = next(t for t in text.splitlines() if "the trial's project bound" in t)
    assert line.startswith(f"  before {measured.trial_before_us / 1e3:.1f} ms -> after "
                           f"{measured.trial_after_us / 1e3:.1f} ms; the trial's project "
                           f"bound (only the imports its own files run deferred) "
                           f"{measured.bound_us / 1e3:.1f} ms")
    if measured.reached is not None:
        assert line.endswith(f": fix reached {measured.reached * 100:.0f} % of it")
    else:
        assert line.endswith(" is not below before: no share to report")


def render_fix_of(measured: Remeasured) -> str:
    """The re-profiling lines of the summary for one entry's figures."""
    from types import SimpleNamespace

    from hotstart.render.fix import _remeasured

    return "\n".join(_remeasured(SimpleNamespace(remeasured=[measured], groups=[],
                                                 remeasure_reverted=[], remeasure_note=None)))
