"""Comparing two profiles: modules added, removed and changed, and the process totals."""

from __future__ import annotations

import pytest
from helpers import MB, make_process, make_profile, module, sample_modules, stat

from hotstart.measure.diff import diff_profiles


def _after_modules():
    """The sample app after moving pandas behind a lazy import and adopting polars."""
    keep = {m.name: m for m in sample_modules()}
    for gone in ("pandas", "pandas.core", "numpy"):
        del keep[gone]
    keep["app"].self_us = stat(2_500.0)            # +0.5 ms
    keep["app.config"].self_us = stat(3_000.0)     # -5 ms
    keep["app.jobs"].self_us = stat(5_100.0)       # +0.1 ms
    keep["app.jobs"].cumulative_us = stat(18_000.0)
    keep["app.jobs"].cumulative_rss = stat(4 * MB)
    keep["app.optional"].status = "ok"             # was missing before: now really imported
    keep["app.optional"].cumulative_us = stat(200.0)
    return [*keep.values(),
            module("polars", "app.jobs", 11, self_ms=12.0, cum_ms=12.0, rss=9 * MB,
                   kind="third-party"),
            module("app.lazy", "app", 12, self_ms=1.0, cum_ms=1.0)]


@pytest.fixture
def before():
    return make_profile(processes=[make_process(peak_rss=stat(90 * MB), uss=None)])


@pytest.fixture
def after():
    return make_profile(processes=[make_process(_after_modules(), wall_us=stat(80_000.0),
                                                peak_rss=stat(50 * MB), uss=None)],
                        floor_us=stat(16_000.0))


def test_added_modules_largest_first(before, after):
    diff = diff_profiles(before, after)
    assert [c.name for c in diff.added] == ["polars", "app.lazy", "app.optional"]
    assert all(c.before is None and c.after is not None for c in diff.added)
    assert diff.added[0].cumulative_us == pytest.approx(12_000.0)
    assert diff.added[0].self_us == pytest.approx(12_000.0)
    assert diff.added[0].rss == pytest.approx(9 * MB)


def test_removed_modules_largest_own_time_first_with_negative_changes(before, after):
    diff = diff_profiles(before, after)
    assert [c.name for c in diff.removed] == ["numpy", "pandas.core", "pandas"]
    assert all(c.after is None and c.before is not None for c in diff.removed)
    assert diff.removed[2].self_us == pytest.approx(-5_000.0)
    assert diff.removed[2].cumulative_us == pytest.approx(-45_000.0)
    assert diff.removed[2].rss == pytest.approx(-27 * MB)


def test_changed_modules_sorted_by_absolute_self_change(before, after):
    diff = diff_profiles(before, after)
    names = [c.name for c in diff.changed]
    assert names[:3] == ["app.config", "app", "app.jobs"]
    assert set(names) == {"json", "json.decoder", "json.scanner", "json.encoder",
                          "app", "app.config", "app.jobs"}
    config = diff.changed[0]
    assert config.self_us == pytest.approx(-5_000.0)
    assert diff.changed[2].cumulative_us == pytest.approx(18_000.0 - 50_000.0)
    assert diff.changed[2].rss == pytest.approx(4 * MB - 28 * MB)


def test_failed_and_missing_imports_are_not_modules(before, after):
    diff = diff_profiles(before, after)
    everywhere = {c.name for c in diff.added + diff.removed + diff.changed}
    # "app.optional" was missing before: it is added, not changed.
    assert "app.optional" in {c.name for c in diff.added}
    assert "app.optional" not in {c.name for c in diff.changed}
    assert len(everywhere) == len(diff.added) + len(diff.removed) + len(diff.changed)


def test_totals_rows(before, after):
    rows = {label: (a, b, unit) for label, a, b, unit in diff_profiles(before, after).totals()}
    assert list(rows) == ["wall", "floor", "imported modules", "peak RSS", "USS"]
    assert rows["wall"] == (pytest.approx(120_000.0), pytest.approx(80_000.0), "us")
    assert rows["floor"] == (pytest.approx(15_000.0), pytest.approx(16_000.0), "us")
    assert rows["imported modules"] == (10, 10, "count")  # -3 removed, +3 added
    assert rows["peak RSS"] == (90 * MB, 50 * MB, "bytes")
    assert rows["USS"] == (None, None, "bytes")


def test_identical_profiles_have_no_additions_or_removals(before):
    diff = diff_profiles(before, make_profile(processes=[make_process()]))
    assert diff.added == [] and diff.removed == []
    assert all(c.self_us == 0 and c.cumulative_us == 0 for c in diff.changed)
    assert len(diff.changed) == 10


def test_another_process_can_be_compared(before):
    child = make_process([module("csv", None, 0, self_ms=1, cum_ms=1)], pid=99)
    other = make_process([module("csv", None, 0, self_ms=3, cum_ms=3)], pid=100)
    a = make_profile(processes=[make_process(), child])
    b = make_profile(processes=[make_process(), other])
    diff = diff_profiles(a, b, process=1)
    assert [c.name for c in diff.changed] == ["csv"]
    assert diff.changed[0].self_us == pytest.approx(2_000.0)


def test_a_profile_without_processes_gives_everything_added(after):
    empty = make_profile(processes=[])
    diff = diff_profiles(empty, after)
    assert len(diff.added) == len(after.main.imported()) and diff.removed == []
