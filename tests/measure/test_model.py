"""The data model: Stat, the JSON round trip, schema checks and ImportTree navigation."""

from __future__ import annotations

import json

import pytest
from helpers import full_profile, make_process, make_profile, module, sample_hot_call

from hotstart.measure.model import (
    SCHEMA,
    HotCall,
    ImportEdge,
    ImportTree,
    ModuleRecord,
    ProcessProfile,
    Profile,
    SchemaError,
    Stat,
)

# -- Stat ------------------------------------------------------------------------------------


def test_stat_of_odd_count_takes_the_middle_value():
    assert Stat.of([5.0, 1.0, 9.0, 3.0, 7.0]) == Stat(5.0, 1.0, 9.0)


def test_stat_of_even_count_averages_the_two_middle_values():
    assert Stat.of([4, 1, 10, 2]) == Stat(3.0, 1, 10)


def test_stat_of_single_value_and_generator_input():
    assert Stat.of(x for x in [2.5]) == Stat(2.5, 2.5, 2.5)
    assert Stat.of(iter([3, 3, 3])) == Stat.exact(3)


def test_stat_of_empty_raises():
    with pytest.raises(ValueError):
        Stat.of([])


def test_stat_from_dict_none_and_values():
    assert Stat.from_dict(None) is None
    assert Stat.from_dict({"median": 2.0, "min": 1.0, "max": 4.0}) == Stat(2.0, 1.0, 4.0)


# -- JSON round trip -------------------------------------------------------------------------


def _round_trip(profile: Profile) -> Profile:
    return Profile.from_dict(json.loads(json.dumps(profile.to_dict())))


def test_round_trip_of_a_profile_with_every_optional_field():
    original = full_profile()
    # Make sure the sample really exercises the optional parts.
    main = original.processes[0]
    assert main.hot_calls and main.hot_calls[0].callers and main.hot_calls[0].callees
    assert main.edges and original.cross_check is not None
    assert original.floor_us is None and original.processes[1].wall_us is None
    assert main.modules[1].self_rss is None and main.modules[0].cumulative_blocks is not None

    restored = _round_trip(original)

    assert restored == original
    # Nested objects come back as model objects, not dicts.
    assert isinstance(restored.processes[0].modules[0].self_us, Stat)
    assert isinstance(restored.processes[0].hot_calls[0], HotCall)
    assert isinstance(restored.processes[0].edges[0], ImportEdge)
    assert restored.processes[0].hot_calls[0].own_us == pytest.approx(4000.0)


def test_to_dict_puts_schema_first_and_is_json_serialisable():
    data = full_profile().to_dict()
    assert next(iter(data)) == "schema"
    assert data["schema"] == SCHEMA
    json.dumps(data)  # raises if anything is not plain data


def test_round_trip_of_a_minimal_profile():
    profile = make_profile(processes=[make_process(modules=[])], wall_us=None, floor_us=None)
    assert _round_trip(profile) == profile


@pytest.mark.parametrize("document", [
    {"schema": "hotstart.profile/0", "target": []},
    {"schema": "something-else"},
    {"target": ["python"]},
    [],
    "hotstart.profile/1",
    None,
])
def test_from_dict_rejects_wrong_or_missing_schema(document):
    with pytest.raises(SchemaError):
        Profile.from_dict(document)


def test_schema_error_names_what_was_found():
    with pytest.raises(SchemaError, match="hotstart.profile/0"):
        Profile.from_dict({"schema": "hotstart.profile/0"})
    with pytest.raises(SchemaError, match="list"):
        Profile.from_dict([1, 2])


def test_unknown_keys_are_ignored_at_every_level():
    profile = full_profile()
    data = json.loads(json.dumps(profile.to_dict()))
    data["added_by_a_newer_version"] = {"x": 1}
    process = data["processes"][0]
    process["future_field"] = [1, 2, 3]
    process["modules"][0]["future_field"] = "?"
    process["hot_calls"][0]["future_field"] = 1
    process["hot_calls"][0]["callers"][0]["future_field"] = 1
    process["hot_calls"][0]["callees"][0]["future_field"] = 1
    process["edges"][0]["future_field"] = 1
    process["bytecode"]["future_field"] = 1
    data["cross_check"]["future_field"] = 1

    assert Profile.from_dict(data) == profile


def test_missing_optional_keys_take_their_defaults():
    data = {
        "schema": SCHEMA, "target": ["python", "x.py"], "python": "3.12.1", "engine": "tracer",
        "runs": 1, "warmup": 0, "wall_us": None, "floor_us": None,
        "processes": [{
            "argv": ["python", "x.py"], "python": "3.12.1", "executable": "/usr/bin/python3",
            "wall_us": {"median": 10.0, "min": 9.0, "max": 11.0},
            "modules": [{"name": "x", "importer": None, "depth": 0, "order": 0,
                         "start_us": 0.0, "thread": "main",
                         "self_us": {"median": 1.0, "min": 1.0, "max": 1.0},
                         "cumulative_us": {"median": 2.0, "min": 2.0, "max": 2.0}}],
        }],
    }
    profile = Profile.from_dict(data)
    record = profile.main.modules[0]
    assert record.self_rss is None and record.status == "ok" and record.kind == "first-party"
    assert profile.main.hot_calls == [] and profile.main.edges == []
    assert profile.main.complete is True and profile.cross_check is None
    assert profile.exit_code == 0 and not profile.failed


# -- Profile / ProcessProfile helpers --------------------------------------------------------


def test_main_is_the_first_process_and_raises_without_one():
    profile = full_profile()
    assert profile.main is profile.processes[0]
    with pytest.raises(LookupError):
        make_profile(processes=[]).main


@pytest.mark.parametrize("exit_code, timed_out, failed", [
    (0, False, False), (None, False, False), (1, False, True), (-9, False, True), (0, True, True),
])
def test_failed(exit_code, timed_out, failed):
    assert make_profile(exit_code=exit_code, timed_out=timed_out).failed is failed


def test_imported_keeps_ok_and_unfinished_only():
    modules = [
        module("a", None, 0, self_ms=1, cum_ms=1),
        module("b", None, 1, self_ms=1, cum_ms=1, status="missing"),
        module("c", None, 2, self_ms=1, cum_ms=1, status="error:ImportError"),
        module("d", None, 3, self_ms=1, cum_ms=1, status="unfinished"),
    ]
    assert [m.name for m in make_process(modules).imported()] == ["a", "d"]


def test_import_us_sums_top_level_imports_and_estimate_scales_hot_calls():
    process = make_process()  # roots: json (3 ms) and app (60 ms)
    assert process.import_us == pytest.approx(63_000.0)
    call = sample_hot_call()  # own 4 ms in a profiling run whose imports took 126 ms
    process.profiling_import_us = 126_000.0
    assert process.estimate_us(call) == pytest.approx(2_000.0)
    process.profiling_import_us = None
    assert process.estimate_us(call) is None


# -- ImportTree ------------------------------------------------------------------------------


@pytest.fixture
def tree() -> ImportTree:
    return ImportTree(make_process())


def test_roots_and_children_in_import_order(tree):
    assert [r.name for r in tree.roots()] == ["json", "app"]
    assert [r.name for r in tree.children("app")] == ["app.config", "app.jobs", "app.optional"]
    assert [r.name for r in tree.children("json")] == ["json.decoder", "json.encoder"]
    assert tree.children("numpy") == []
    assert tree.children("not.there") == []


def test_children_follow_order_not_list_position():
    modules = [
        module("b", "root", 2, self_ms=1, cum_ms=1),
        module("root", None, 0, self_ms=1, cum_ms=3),
        module("a", "root", 1, self_ms=1, cum_ms=1),
    ]
    tree = ImportTree(make_process(modules))
    assert [r.name for r in tree.children("root")] == ["a", "b"]
    assert [r.name for r in tree.walk()] == ["root", "a", "b"]


def test_chain_from_root_to_a_deep_module(tree):
    assert [r.name for r in tree.chain("numpy")] == [
        "app", "app.jobs", "pandas", "pandas.core", "numpy"]
    assert [r.name for r in tree.chain("json")] == ["json"]
    assert tree.chain("not.there") == []


def test_module_lookup(tree):
    assert tree.module("pandas").distribution == "pandas"
    assert tree.module("nope") is None


def test_importers_lists_every_recorded_edge_in_order(tree):
    edges = tree.importers("pandas")
    assert [(e.importer, e.site) for e in edges] == [
        ("app.jobs", "/srv/app/src/app/jobs.py:3"),
        ("app.config", "/srv/app/src/app/config.py:7"),
        ("pandas.core", "/venv/lib/python3.11/site-packages/pandas/core/__init__.py:2"),
    ]
    assert tree.importers("app.optional") == []


def test_walk_is_depth_first_in_import_order(tree):
    assert [r.name for r in tree.walk()] == [
        "json", "json.decoder", "json.scanner", "json.encoder",
        "app", "app.config", "app.jobs", "pandas", "pandas.core", "numpy", "app.optional",
    ]


def test_walk_visits_every_module_once(tree):
    names = [r.name for r in tree.walk()]
    assert sorted(names) == sorted(m.name for m in tree.process.modules)


def test_record_whose_importer_is_not_in_the_tree_becomes_a_root():
    modules = [
        module("app", None, 0, self_ms=1, cum_ms=5),
        # Imported while `plugin_host` (not traced: loaded before the tracer) was importing.
        module("plugin", "plugin_host", 1, self_ms=2, cum_ms=3),
        module("plugin.impl", "plugin", 2, self_ms=1, cum_ms=1),
    ]
    tree = ImportTree(make_process(modules))
    assert [r.name for r in tree.roots()] == ["app", "plugin"]
    assert [r.name for r in tree.walk()] == ["app", "plugin", "plugin.impl"]
    # The chain stops at the first module the tree knows.
    assert [r.name for r in tree.chain("plugin.impl")] == ["plugin", "plugin.impl"]


def test_chain_terminates_on_an_importer_cycle():
    # Not produced by the tracer, but a hand-edited or corrupt file must not hang `--why`.
    modules = [
        module("a", "b", 0, self_ms=1, cum_ms=1),
        module("b", "a", 1, self_ms=1, cum_ms=1),
    ]
    chain = ImportTree(make_process(modules)).chain("a")
    assert 1 <= len(chain) <= 3


def test_module_record_from_dict_converts_stats():
    record = module("x", None, 0, self_ms=1.0, cum_ms=2.0, rss=4096)
    data = json.loads(json.dumps(make_profile(processes=[make_process([record])]).to_dict()))
    restored = ModuleRecord.from_dict(data["processes"][0]["modules"][0])
    assert restored == record
    assert isinstance(restored.cumulative_rss, Stat)
    assert restored.self_blocks is None


def test_process_from_dict_defaults_for_missing_lists():
    process = ProcessProfile.from_dict({
        "argv": [], "python": "", "executable": "", "wall_us": None, "pid": 7})
    assert process.modules == [] and process.hot_calls == [] and process.edges == []
    assert process.pid == 7 and process.wall_us is None



def test_a_40000_deep_chain_listed_deepest_first_loads():
    """The cycle check walked each chain with a list: quadratic when the deepest module
    comes first (a 40,000-deep chain took 16 s to load)."""
    count = 40_000
    modules = [module(f"m{i}", f"m{i - 1}" if i else None, i, self_ms=1, cum_ms=count - i,
                      depth=i) for i in reversed(range(count))]
    profile = make_profile(processes=[make_process(modules)])
    loaded = Profile.from_json(json.dumps(profile.to_dict()))
    assert len(loaded.processes[0].modules) == count
    assert ImportTree(loaded.processes[0]).chain("m39999")[0].name == "m0"
