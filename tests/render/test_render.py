"""The text renderers (tree, table, why, diff, json), their number formatting, and the
profile files they are read from and written to (measure/io.py)."""

from __future__ import annotations

import json
import os
import re

import pytest
from helpers import MB, full_profile, make_process, make_profile, module, sample_edges, stat

from hotstart.errors import BadInput, HotstartError
from hotstart.measure.diff import diff_profiles
from hotstart.measure.io import check_writable, load_profile, save_profile, write_atomic
from hotstart.measure.model import SCHEMA, ImportEdge, ImportTree, Profile
from hotstart.render import _format
from hotstart.render.diff import render_diff
from hotstart.render.json import render_json
from hotstart.render.table import render_table
from hotstart.render.tree import render_tree
from hotstart.render.why import chains_to, render_why

FIGURES = 2 + 8 + 1 + 8 + 1 + 8 + 2  # "  self ms   cum ms  cum mem  " before the module column


def drawn(line: str) -> str:
    """A tree row's module column: branch drawing and name (origin, status, site dropped)."""
    return line[FIGURES:].split("  (")[0]


def tree_section(text: str) -> list[str]:
    """The lines of the import tree (after its column header, up to the next blank line)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Import tree")) + 2
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def names(section: list[str]) -> list[str]:
    """Module names of the tree rows, in order ("…" for a folded line)."""
    return ["…" if "…" in line else drawn(line).split()[-1] for line in section]


# -- tree ------------------------------------------------------------------------------------


def test_tree_shows_every_module_with_threshold_zero():
    section = tree_section(render_tree(make_profile(), threshold_ms=0))
    assert names(section) == ["json", "json.decoder", "json.scanner", "json.encoder", "app",
                              "app.config", "app.jobs", "pandas", "pandas.core", "numpy",
                              "app.optional"]


def test_tree_draws_branches():
    section = tree_section(render_tree(make_profile(), threshold_ms=0))
    assert [drawn(line) for line in section] == [
        "json",
        "├─ json.decoder",
        "│  └─ json.scanner",
        "└─ json.encoder",
        "app",
        "├─ app.config",
        "├─ app.jobs",
        "│  └─ pandas",
        "│     └─ pandas.core",
        "│        └─ numpy",
        "└─ app.optional",
    ]


def test_tree_row_shows_times_memory_origin_and_site():
    section = tree_section(render_tree(make_profile(), threshold_ms=0))
    pandas = next(line for line in section if line.endswith("<- app/jobs.py:3"))
    assert pandas.split()[:3] == ["5.0", "45.0", "+27.0M"]
    assert "(third-party · pandas)" in pandas


def test_tree_folds_subtrees_below_the_threshold():
    section = tree_section(render_tree(make_profile(), threshold_ms=10))
    assert names(section) == ["app", "app.jobs", "pandas", "pandas.core", "numpy", "…", "…"]
    # Under app: app.config (8 ms) and app.optional (0.05 ms) are folded into one line.
    assert section[5].split()[0] == "8.1"
    assert section[5].endswith("└─ … 2 more modules below the cut")
    # At the top: json and its 3 descendants.
    assert section[6].split()[0] == "3.0"
    assert section[6].endswith("… 4 more modules below the cut")


def test_tree_fold_of_a_single_module_is_singular():
    section = tree_section(render_tree(make_profile(), threshold_ms=1.0))
    assert "│  └─ … 1 more module below the cut" in section[2]
    assert names(section)[:4] == ["json", "json.decoder", "…", "…"]


def test_tree_depth_limit_folds_everything_deeper():
    section = tree_section(render_tree(make_profile(), threshold_ms=0, depth=1))
    assert names(section) == ["json", "…", "app", "…"]
    assert section[1].endswith("└─ … 3 more modules below the cut")
    assert section[3].endswith("└─ … 6 more modules below the cut")
    section = tree_section(render_tree(make_profile(), threshold_ms=0, depth=3))
    assert names(section) == ["json", "json.decoder", "json.scanner", "json.encoder", "app",
                              "app.config", "app.jobs", "pandas", "…", "app.optional"]


@pytest.mark.parametrize("sort, expected", [
    ("order", ["json", "json.decoder", "json.scanner", "json.encoder", "app", "app.config",
               "app.jobs", "pandas", "pandas.core", "numpy", "app.optional"]),
    ("self", ["app", "app.config", "app.jobs", "pandas", "pandas.core", "numpy", "app.optional",
              "json", "json.decoder", "json.scanner", "json.encoder"]),
    ("cumulative", ["app", "app.jobs", "pandas", "pandas.core", "numpy", "app.config",
                    "app.optional", "json", "json.decoder", "json.scanner", "json.encoder"]),
    # json.decoder and json.encoder have no memory figure: they keep their import order.
    ("memory", ["app", "app.jobs", "pandas", "pandas.core", "numpy", "app.config",
                "app.optional", "json", "json.decoder", "json.scanner", "json.encoder"]),
])
def test_tree_sort_changes_sibling_order(sort, expected):
    text = render_tree(make_profile(), threshold_ms=0, sort=sort)
    assert f"sorted by {sort}" in text
    assert names(tree_section(text)) == expected


def test_tree_sort_by_self_differs_from_cumulative_among_children():
    modules = [
        module("root", None, 0, self_ms=1, cum_ms=20),
        module("heavy_self", "root", 1, self_ms=9, cum_ms=9),
        module("heavy_cum", "root", 2, self_ms=1, cum_ms=10, rss=5 * MB),
        module("leaf", "heavy_cum", 3, self_ms=9, cum_ms=9),
    ]
    profile = make_profile(processes=[make_process(modules)])
    by_self = names(tree_section(render_tree(profile, threshold_ms=0, sort="self")))
    by_cum = names(tree_section(render_tree(profile, threshold_ms=0, sort="cumulative")))
    assert by_self == ["root", "heavy_self", "heavy_cum", "leaf"]
    assert by_cum == ["root", "heavy_cum", "leaf", "heavy_self"]


def test_tree_status_markers():
    modules = [
        module("app", None, 0, self_ms=5, cum_ms=9),
        module("app.gone", "app", 1, self_ms=1, cum_ms=1, status="missing"),
        module("app.broken", "app", 2, self_ms=1, cum_ms=1, status="error:ImportError"),
        module("app.slow", "app", 3, self_ms=2, cum_ms=2, status="unfinished"),
    ]
    section = tree_section(render_tree(make_profile(processes=[make_process(modules)]),
                                       threshold_ms=0))
    assert "[" not in section[0]
    assert "app.gone  (first-party)  [missing]" in section[1]
    assert "app.broken  (first-party)  [error:ImportError]" in section[2]
    assert "app.slow  (first-party)  [unfinished]" in section[3]


def test_tree_of_another_process():
    text = render_tree(full_profile(), process=1, threshold_ms=0)
    assert names(tree_section(text)) == ["csv"]
    assert "*[1] pid 4243" in text


def test_summary_lines():
    text = render_tree(make_profile(), threshold_ms=1)
    lines = text.splitlines()
    assert lines[0] == "python -m app"
    assert "5 runs after 1 untimed" in lines[1]
    assert "start-up  105.0 ms  wall minus floor" in text
    assert "10 imported by the target" in text  # app.optional was missing


def test_summary_of_a_full_profile():
    text = render_tree(full_profile(), threshold_ms=1)
    assert "processes 2 traced:" in text
    assert re.search(r"\*\[0\] pid 4242 .* 120\.0 ms +10 imports", text)
    assert re.search(r" \[1\] pid 4243 .* - ms +1 imports", text)
    assert "bytecode  120 from .pyc · 3 compiled at start (PYTHONDONTWRITEBYTECODE is set)" in text
    assert "Pearson r 0.970, Spearman n/a" in text
    assert "note: 2 modules were not imported in every run" in text
    # A failed run shows the end of its stderr.
    assert "stderr (last lines):\n  Traceback (most recent call last):\n  KeyError: 'x'" in text


def test_hot_calls_section_names_the_call_and_its_callers():
    text = render_tree(full_profile(), threshold_ms=1)
    hot = text[text.index("Hot calls"):]
    assert "app.log:get_logger" in hot
    assert "app.config, app.jobs" in hot
    assert "inspect:stack" in hot
    assert "Hot calls" not in render_tree(make_profile(), threshold_ms=1)


# -- table -----------------------------------------------------------------------------------


def table_rows(text: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Top ")) + 2
    end = next((i for i in range(start, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


def row_name(line: str) -> str:
    return line.split("  <- ")[0].split()[-1]


def test_table_top_n_by_self():
    text = render_table(make_profile(), top=3)
    assert "Top 3 modules by self (medians of 5 runs)" in text
    rows = table_rows(text)
    assert [row_name(r) for r in rows] == ["numpy", "pandas.core", "app.config"]
    assert rows[0].split()[:5] == ["30.0", "27.0", "33.0", "30.0", "+12.0M"]


def test_table_sorted_by_cumulative_and_memory():
    rows = table_rows(render_table(make_profile(), top=4, sort="cumulative"))
    assert [row_name(r) for r in rows] == ["app", "app.jobs", "pandas", "pandas.core"]
    rows = table_rows(render_table(make_profile(), top=2, sort="memory"))
    assert [row_name(r) for r in rows] == ["app", "app.jobs"]


def test_table_row_count_is_capped_by_module_count():
    text = render_table(make_profile(), top=100)
    assert len(table_rows(text)) == 11
    assert "Top 11 modules" in text


def test_table_order_sort_falls_back_to_self():
    text = render_table(make_profile(), top=1, sort="order")
    assert "by self" in text
    assert row_name(table_rows(text)[0]) == "numpy"


# -- why -------------------------------------------------------------------------------------


def test_why_prints_the_first_chain_then_the_others():
    text = render_why(make_profile(), "pandas")
    lines = text.splitlines()
    assert lines[0] == "why is pandas loaded?"
    assert "third-party (pandas) · cumulative 45.0 ms · +27.0M" in lines[1]
    first = lines.index("  loaded first through:")
    assert lines[first + 1].strip().endswith("app -> app.jobs -> pandas")
    assert lines[first + 2].strip() == "at src/app/__main__.py:5, src/app/__init__.py:2, src/app/jobs.py:3"
    also = next(i for i, line in enumerate(lines) if line.startswith("  also imported"))
    assert also > first
    assert lines[also + 1].strip().endswith("app -> app.config -> pandas")
    assert "src/app/config.py:7" in lines[also + 2]


def test_why_chain_of_a_deep_module_and_chains_through_submodule_imports():
    text = render_why(make_profile(), "numpy")
    assert "app -> app.jobs -> pandas -> pandas.core -> numpy" in text
    # `import pandas.core.frame` in app.jobs runs pandas/core/__init__, which imports numpy.
    assert "app.jobs -> pandas.core.frame (via package pandas.core) -> numpy" in text
    assert "app -> app.config -> pandas -> pandas.core -> numpy" in text


def test_chains_to_counts_edges_to_submodules_and_skips_imports_from_inside():
    tree = ImportTree(make_process())
    chains = chains_to(tree, "pandas.core")
    routes = [[link.module for link in chain] for chain in chains]
    assert routes[0] == ["app", "app.jobs", "pandas", "pandas.core"]
    assert ["app", "app.jobs", "pandas.core"] in routes  # via `import pandas.core.frame`
    assert ["app", "app.config", "pandas", "pandas.core"] in routes
    assert len(routes) == 3
    # pandas.core -> pandas (an import from inside the package) is no route to pandas.
    assert all(link.importer not in ("pandas.core",) for chain in chains_to(tree, "pandas")
               for link in chain)
    # The first-load chain is not repeated by the edge that made it.
    assert [[link.module for link in c] for c in chains_to(tree, "json")] == [["json"]]


def test_chains_to_survives_import_cycles():
    modules = [module("a", None, 0, self_ms=1, cum_ms=3), module("b", "a", 1, self_ms=1, cum_ms=2),
               module("c", "b", 2, self_ms=1, cum_ms=1)]
    edges = [ImportEdge("__main__", "a"), ImportEdge("a", "b"), ImportEdge("b", "c"),
             ImportEdge("c", "a"), ImportEdge("c", "b"), ImportEdge("b", "a")]
    tree = ImportTree(make_process(modules, edges=edges))
    chains = chains_to(tree, "c")
    # Every route through the cycle loads the same modules as the first-load chain.
    assert [[link.module for link in chain] for chain in chains] == [["a", "b", "c"]]


def test_chains_to_stops_at_the_limit_shortest_first():
    # app imports plugin0, which imports plugin1, ... plugin39 imports target and loads it;
    # unwinding, every plugin and then app import target again: 40 more real chains.
    modules = [module("app", None, 0, self_ms=1, cum_ms=50)]
    edges = [ImportEdge("__main__", "app"), ImportEdge("app", "plugin0")]
    for i in range(40):
        modules.append(module(f"plugin{i}", "app" if i == 0 else f"plugin{i - 1}", i + 1,
                              self_ms=1, cum_ms=45 - i))
        edges += [ImportEdge(f"plugin{i}", f"plugin{i + 1}" if i < 39 else "target"),
                  ImportEdge(f"plugin{i}", "target")]
    modules.append(module("target", "plugin39", 41, self_ms=1, cum_ms=1))
    edges.append(ImportEdge("app", "target"))
    tree = ImportTree(make_process(modules, edges=edges))
    chains = chains_to(tree, "target", limit=25)
    assert len(chains) == 25
    assert [link.module for link in chains[0]] == ["app"] + [f"plugin{i}" for i in range(40)] \
        + ["target"]
    assert [link.module for link in chains[1]] == ["app", "target"]  # __main__ -> app -> target
    lengths = [len(chain) for chain in chains[1:]]
    assert lengths == sorted(lengths) == list(range(2, 26))
    assert len(chains_to(tree, "target", limit=100)) == 1 + 40


def test_why_a_root_module_has_one_chain():
    text = render_why(make_profile(), "json")
    assert "loaded first through:\n    json\n" in text
    assert "also imported" not in text


def test_why_not_imported_suggests_close_names():
    with pytest.raises(BadInput, match=r"'pandsa' was not imported by the target; did you mean pandas"):
        render_why(make_profile(), "pandsa")


def test_why_not_imported_without_suggestion():
    with pytest.raises(BadInput) as caught:
        render_why(make_profile(), "zzzzzz")
    assert "did you mean" not in str(caught.value)
    assert caught.value.exit_code == 2


def test_why_of_a_preloaded_module_explains_it():
    text = render_why(make_profile(), "encodings")
    assert "loaded by the interpreter itself before the target starts" in text


def test_why_says_when_no_edges_were_recorded():
    profile = make_profile()
    profile.main.edges = []
    text = render_why(profile, "pandas")
    assert "--no-calls" in text
    assert "also imported" not in text


# -- diff ------------------------------------------------------------------------------------


@pytest.fixture
def two_profiles():
    before = make_profile(processes=[make_process(peak_rss=stat(90 * MB))])
    after_modules = [m for m in make_process().modules
                     if m.name not in ("pandas", "pandas.core", "numpy")]
    for m in after_modules:
        if m.name == "app.config":
            m.self_us = stat(3_000.0)
            m.cumulative_us = stat(3_000.0)
    after_modules.append(module("polars", "app.jobs", 11, self_ms=12, cum_ms=12, rss=9 * MB))
    after = make_profile(processes=[make_process(after_modules, wall_us=stat(80_000.0),
                                                 peak_rss=stat(50 * MB))],
                         created="2026-11-23T09:00:00Z", runs=3)
    return before, after


def test_render_diff_lists_added_and_removed_modules(two_profiles):
    text = render_diff(diff_profiles(*two_profiles))
    added = text[text.index("Added modules (1;"):text.index("Removed modules")]
    removed = text[text.index("Removed modules (3;"):text.index("Biggest changes")]
    assert re.search(r"\+12\.0 +\+12\.0 +\+9\.0M  polars", added)
    assert re.search(r"-5\.0 +-45\.0 +-27\.0M  pandas\n", removed)  # self, cum, self mem
    assert [line.split()[-1] for line in removed.splitlines()[2:] if line.strip()] == [
        "numpy", "pandas.core", "pandas", "3"]  # largest own time first, then the total


def test_render_diff_signed_changes_and_totals(two_profiles):
    text = render_diff(diff_profiles(*two_profiles))
    assert text.splitlines()[0].startswith("before: python -m app  (2026-11-22T21:00:00Z, 5 runs)")
    assert text.splitlines()[1].startswith("after:  python -m app  (2026-11-23T09:00:00Z, 3 runs)")
    assert re.search(r"wall +120\.0 ms +80\.0 ms +-40\.0 ms \(-33%\)", text)
    assert re.search(r"imported modules +10 +8 +-2 \(-20%\)", text)
    assert re.search(r"peak RSS +90\.0M +50\.0M +-40\.0M \(-44%\)", text)
    assert "USS" not in text  # unknown on both sides: no row
    changed = text[text.index("Biggest changes in self time"):]
    assert re.search(r"-5\.0 +-5\.0 +0K  app\.config", changed)


def test_render_diff_hides_small_changes_with_a_count(two_profiles):
    text = render_diff(diff_profiles(*two_profiles), threshold_ms=0.1)
    changed = text[text.index("Biggest changes in self time (7)"):]
    assert "app.config" in changed
    assert "json.decoder" not in changed  # unchanged
    assert "… 6 more below 0.1 ms or past the top 15" in changed
    text = render_diff(diff_profiles(*two_profiles), top=1)
    removed = text[text.index("Removed modules"):text.index("Biggest")]
    assert "pandas.core" not in removed
    assert "… 2 more below 0.1 ms or past the top 1" in removed


# -- json and profile files ------------------------------------------------------------------


def test_render_json_is_the_versioned_document():
    data = json.loads(render_json(full_profile()))
    assert data["schema"] == SCHEMA
    assert Profile.from_dict(data) == full_profile()


def test_save_then_load_round_trip(tmp_path):
    path = tmp_path / "profile.json"
    save_profile(full_profile(), path)
    assert load_profile(path) == full_profile()
    assert load_profile(str(path)) == full_profile()
    assert path.read_text(encoding="utf-8").endswith("}\n")


def test_save_leaves_no_temporary_files(tmp_path):
    save_profile(make_profile(), tmp_path / "a.json")
    save_profile(make_profile(), tmp_path / "a.json")  # replace an existing file
    assert sorted(os.listdir(tmp_path)) == ["a.json"]


def test_load_missing_file(tmp_path):
    path = tmp_path / "nope.json"
    with pytest.raises(BadInput, match="not found") as caught:
        load_profile(path)
    assert str(path) in str(caught.value)


def test_load_invalid_json_names_path_and_line(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{\n "schema": "hotstart.profile/1",\n "target": [\n', encoding="utf-8")
    with pytest.raises(BadInput, match="not valid JSON") as caught:
        load_profile(path)
    assert str(caught.value).startswith(f"{path}:")


def test_load_wrong_schema(tmp_path):
    path = tmp_path / "other.json"
    path.write_text(json.dumps({"schema": "hotstart.profile/9", "target": []}), encoding="utf-8")
    with pytest.raises(BadInput, match="not a hotstart profile") as caught:
        load_profile(path)
    assert str(path) in str(caught.value)
    assert "hotstart.profile/9" in str(caught.value)


def test_load_right_schema_but_broken_content(tmp_path):
    path = tmp_path / "cut.json"
    data = make_profile().to_dict()
    del data["processes"][0]["modules"][0]["name"]
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(BadInput, match="not a hotstart profile") as caught:
        load_profile(path)
    assert str(path) in str(caught.value)


def test_load_non_utf8_file(tmp_path):
    path = tmp_path / "latin.json"
    path.write_bytes(b'{"schema": "\xff"}')
    with pytest.raises(BadInput) as caught:
        load_profile(path)
    assert str(path) in str(caught.value)


def test_load_a_directory(tmp_path):
    with pytest.raises(BadInput) as caught:
        load_profile(tmp_path)
    assert str(tmp_path) in str(caught.value)


def test_check_writable_accepts_a_new_file_in_an_existing_directory(tmp_path):
    check_writable(tmp_path / "new.json")
    (tmp_path / "old.json").write_text("{}")
    check_writable(tmp_path / "old.json")
    assert sorted(os.listdir(tmp_path)) == ["old.json"]  # nothing created


def test_check_writable_missing_directory(tmp_path):
    path = tmp_path / "no" / "such" / "dir" / "out.json"
    with pytest.raises(BadInput, match="does not exist") as caught:
        check_writable(path)
    assert str(path) in str(caught.value)


def test_check_writable_directory_path(tmp_path):
    with pytest.raises(BadInput, match="it is a directory"):
        check_writable(tmp_path)


def test_write_atomic_writes_and_replaces(tmp_path):
    path = tmp_path / "out.txt"
    write_atomic(path, "first\n")
    write_atomic(str(path), "second é\n")
    assert path.read_text(encoding="utf-8") == "second é\n"
    assert os.listdir(tmp_path) == ["out.txt"]


def test_write_atomic_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "out.txt"
    path.write_text("old contents\n")

    with pytest.raises(TypeError):
        write_atomic(path, object())  # type: ignore[arg-type]  # handle.write() raises
    assert path.read_text() == "old contents\n"
    assert os.listdir(tmp_path) == ["out.txt"]  # the temporary file was removed


def test_write_atomic_onto_a_directory_raises_bad_input_and_cleans_up(tmp_path):
    target = tmp_path / "taken"
    target.mkdir()
    (target / "keep.txt").write_text("x")
    with pytest.raises(BadInput, match="cannot write"):
        write_atomic(target, "text")
    assert (target / "keep.txt").read_text() == "x"
    assert sorted(os.listdir(tmp_path)) == ["taken"]


def test_write_atomic_into_a_missing_directory(tmp_path):
    with pytest.raises(BadInput, match="cannot write"):
        write_atomic(tmp_path / "missing" / "out.txt", "text")


def test_bad_input_is_a_hotstart_error():
    assert issubclass(BadInput, HotstartError)


# -- number formatting -----------------------------------------------------------------------


@pytest.mark.parametrize("nbytes, signed, text", [
    (None, False, "-"),
    (0, False, "0K"),
    (0, True, "0K"),
    (512 * 1024, False, "512K"),
    (512 * 1024, True, "+512K"),
    (-512 * 1024, False, "-512K"),
    (72.3 * MB, False, "72.3M"),
    (-3 * MB, True, "-3.0M"),
    (1.2 * (1 << 30), False, "1.20G"),
])
def test_size(nbytes, signed, text):
    assert _format.size(nbytes, signed=signed) == text


@pytest.mark.parametrize("us, text", [(None, "-"), (0, "0.0"), (1234.0, "1.2"), (15_000.0, "15.0")])
def test_ms(us, text):
    assert _format.ms(us) == text


@pytest.mark.parametrize("site, keep, text", [
    (None, 2, ""),
    ("/srv/app/src/app/jobs.py:3", 2, "app/jobs.py:3"),
    ("/srv/app/src/app/jobs.py:3", 3, "src/app/jobs.py:3"),
    ("jobs.py:3", 2, "jobs.py:3"),
    ("<stdin>", 2, "<stdin>"),
])
def test_short_site(site, keep, text):
    assert _format.short_site(site, keep=keep) == text


def test_stat_ms():
    assert _format.stat_ms(stat(2_000.0, 1_500.0, 3_000.0)) == "2.0 ms (min 1.5, max 3.0)"
    assert _format.stat_ms(None) == "-"


def test_edges_sample_is_consistent_with_the_tree():
    # Guard for the shared sample: every first-load edge names a module of the tree.
    tree_names = {m.name for m in make_process().modules}
    for edge in sample_edges():
        assert edge.importer == "__main__" or edge.importer in tree_names


def test_saved_profile_gets_the_usual_permissions(tmp_path):
    import os
    import stat

    from hotstart.measure.io import save_profile

    path = tmp_path / "p.json"
    umask = os.umask(0o022)
    try:
        save_profile(make_profile(), path)
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        path.chmod(0o640)
        save_profile(make_profile(), path)  # replacing keeps the existing mode
        assert stat.S_IMODE(path.stat().st_mode) == 0o640
    finally:
        os.umask(umask)


@pytest.mark.parametrize("broken", ['{"processes": [1]}', '{"cross_check": [1]}',
                                    '{"processes": [{"edges": [["a", "b"]]}]}'])
def test_load_profile_with_the_wrong_shape_is_bad_input(tmp_path, broken):
    import json

    from hotstart.errors import BadInput
    from hotstart.measure.io import load_profile

    data = {**json.loads(broken), "schema": "hotstart.profile/1"}
    path = tmp_path / "shape.json"
    path.write_text(json.dumps(data))
    with pytest.raises(BadInput, match="not a hotstart profile"):
        load_profile(path)
