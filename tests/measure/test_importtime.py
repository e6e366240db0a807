"""Tests for hotstart.measure.importtime against recorded and synthetic output."""

import subprocess
import sys
from pathlib import Path

import pytest

from hotstart.measure.importtime import ImportTimeEntry, ImportTimeLog, is_importtime_line, parse

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "importtime"
HEADER = "import time: self [us] | cumulative | imported package"
VERSION_FIXTURES = ["py37", "py38", "py39", "py310", "py311", "py312", "py313"]


def load(name: str) -> list[ImportTimeLog]:
    return parse((FIXTURES / f"{name}.txt").read_text())


def fresh_line(self_us: int, cumulative_us: int, depth: int, name: str) -> str:
    """The line CPython prints for a completed import (Python/import.c)."""
    return "import time: %9ld | %10ld | %*s%s" % (self_us, cumulative_us, depth * 2, "", name)


def cached_line_314(depth: int, name: str) -> str:
    """The line CPython 3.14 prints for -X importtime=2 cache hits."""
    return "import time: cached    | cached     | %*s" % (depth * 2, name)


def cached_line_indented(depth: int, name: str) -> str:
    """A cache-hit line indented like a fresh line, with right-aligned columns."""
    return "import time: %9s | %10s | %*s%s" % ("cached", "cached", depth * 2, "", name)


def entry(log: ImportTimeLog, name: str, *, cached: bool = False) -> ImportTimeEntry:
    """The first entry called ``name`` (fresh unless ``cached``)."""
    return next(e for e in log.entries if e.name == name and e.cached == cached)


def parent_name(log: ImportTimeLog, e: ImportTimeEntry) -> str | None:
    return None if e.parent is None else log.entries[e.parent].name


def subtree(log: ImportTimeLog, root: ImportTimeEntry) -> list[ImportTimeEntry]:
    """``root`` and all fresh entries below it, following ``parent`` links."""
    children: dict[int, list[int]] = {}
    for e in log.fresh():
        if e.parent is not None:
            children.setdefault(e.parent, []).append(e.order)
    found, stack = [], [root.order]
    while stack:
        index = stack.pop()
        found.append(log.entries[index])
        stack.extend(children.get(index, []))
    return found


def assert_parent_links_are_post_order(log: ImportTimeLog) -> None:
    """Each parent is a later fresh entry one level up, and the first such entry."""
    for e in log.entries:
        assert e.order == log.entries.index(e)
        if e.parent is None:
            continue
        parent = log.entries[e.parent]
        assert not parent.cached
        assert parent.order > e.order
        assert parent.depth == e.depth - 1
        between = log.entries[e.order + 1 : parent.order]
        assert not any(not b.cached and b.depth == parent.depth for b in between)


# --- recordings -----------------------------------------------------------------


@pytest.mark.parametrize("name", VERSION_FIXTURES)
def test_recorded_versions(name: str) -> None:
    [log] = load(name)
    assert log.other_lines == []
    assert log.dialect == "importtime"
    assert log.fresh() == log.entries
    assert len(log.entries) > 90
    assert_parent_links_are_post_order(log)
    # A complete single-threaded log: everything below depth 0 found its parent.
    assert all((e.parent is None) == (e.depth == 0) for e in log.entries)

    json = entry(log, "json")
    assert json.depth == 0 and json.parent is None
    assert json.cumulative_us is not None and json.self_us is not None
    assert json.cumulative_us >= json.self_us > 0
    for child in ("json.decoder", "json.encoder"):
        assert parent_name(log, entry(log, child)) == "json"
    assert parent_name(log, entry(log, "json.scanner")) == "json.decoder"
    assert parent_name(log, entry(log, "re")) == "json.decoder"
    assert entry(log, "asyncio").depth == 0
    assert entry(log, "decimal").depth == 0
    assert [e.name for e in log.entries if e.depth == 0][-3:] == ["json", "asyncio", "decimal"]

    # self = cumulative - children's cumulative, each rounded up on its own,
    # so a subtree's self times add up to the root's cumulative plus less than
    # one microsecond per entry.
    for root in log.entries:
        tree = subtree(log, root)
        total = sum(e.self_us for e in tree if e.self_us is not None)
        assert root.cumulative_us is not None
        assert 0 <= total - root.cumulative_us < len(tree), root

    times = log.self_times()
    assert times["json"] == json.self_us
    assert set(times) == {e.name for e in log.entries}


def test_py311_specifics() -> None:
    [log] = load("py311")
    assert parent_name(log, entry(log, "re._compiler")) == "re"
    assert parent_name(log, entry(log, "encodings.aliases")) == "encodings"
    decimal = entry(log, "decimal")
    assert parent_name(log, entry(log, "_decimal")) == "decimal"
    assert {e.name for e in subtree(log, decimal)} >= {"decimal", "_decimal", "numbers"}


def test_threads_interleaved_without_crashing() -> None:
    text = (FIXTURES / "py311-threads.txt").read_text()
    [log] = parse(text)
    assert log.other_lines == []
    lines = text.splitlines()
    assert len(log.entries) == len(lines) - 1  # every line but the header
    assert [e.name for e in log.entries] == [line.rsplit("|", 1)[1].strip() for line in lines[1:]]
    assert [e.depth for e in log.entries] == [
        (len(line.rsplit("|", 1)[1]) - len(line.rsplit("|", 1)[1].lstrip()) - 1) // 2 for line in lines[1:]
    ]
    assert_parent_links_are_post_order(log)
    # The shared nesting counter puts modules a thread imported directly under
    # unrelated imports of another thread.
    thread_roots = ("decimal", "fractions", "asyncio", "email.message", "http.client")
    assert any(entry(log, name).depth > 0 for name in thread_roots)
    # The shared child-time accumulator produces negative self times.
    negative = [e for e in log.entries if e.self_us is not None and e.self_us < 0]
    assert negative and all(e.cumulative_us is not None and e.cumulative_us >= 0 for e in negative)


def test_subprocess_logs_are_split_at_headers() -> None:
    parent, child = load("py312-subprocess")
    warning = "<string>:2: UserWarning: hotstart fixture: parent warning before the child starts"
    assert parent.other_lines == [warning]
    assert child.other_lines == [
        "Traceback (most recent call last):",
        '  File "<string>", line 5, in <module>',
        "RuntimeError: hotstart fixture: parent fails after the child exits",
    ]
    assert entry(parent, "subprocess").depth == 0
    assert "warnings" in {e.name for e in parent.entries}
    assert "json" not in {e.name for e in parent.entries}
    assert entry(child, "json").depth == 0
    assert parent_name(child, entry(child, "json.decoder")) == "json"
    assert "subprocess" not in {e.name for e in child.entries}
    for log in (parent, child):
        # Each process starts from scratch: its own startup imports, its own indices.
        assert log.entries[0].name == "_io"
        assert all((e.parent is None) == (e.depth == 0) for e in log.entries)
        assert_parent_links_are_post_order(log)


def test_killed_process_leaves_orphans() -> None:
    [log] = load("py313-killed")
    assert log.other_lines == ["hsfixture.slow: sleeping at import time"]
    names = {e.name for e in log.entries}
    assert "hsfixture" not in names and "hsfixture.slow" not in names
    config = entry(log, "hsfixture.config")
    decimal = entry(log, "decimal")
    assert (config.depth, config.parent) == (1, None)  # hsfixture never printed
    assert (decimal.depth, decimal.parent) == (2, None)  # hsfixture.slow never printed
    assert parent_name(log, entry(log, "json")) == "hsfixture.config"
    assert parent_name(log, entry(log, "_decimal")) == "decimal"
    orphans = {e.name for e in log.entries if e.parent is None and e.depth > 0}
    assert orphans == {"hsfixture.config", "decimal"}
    assert_parent_links_are_post_order(log)


def test_py314_importtime2_constructed() -> None:
    text = (FIXTURES / "py314-importtime2.txt").read_text()
    [log] = parse(text)
    assert log.dialect == "importtime=2"
    assert log.other_lines == []
    cached = [e for e in log.entries if e.cached]
    assert len(cached) == text.count("| cached     |") > 100
    assert all(e.self_us is None and e.cumulative_us is None for e in cached)
    assert len(log.fresh()) == len(log.entries) - len(cached)
    assert log.self_times()["json"] == entry(log, "json").self_us
    assert "builtins" not in log.self_times()
    assert_parent_links_are_post_order(log)

    lines = text.splitlines()[1:]
    assert len(lines) == len(log.entries)
    by_line: dict[str, ImportTimeEntry] = {}
    for line, e in zip(lines, log.entries, strict=True):
        by_line.setdefault(line, e)  # first occurrence
    # "   _io": a 3-space pad before a 3-letter name fills a field of 6 columns,
    # level 3, looked up while loading `re` (depth 2).
    io = by_line["import time: cached    | cached     |    _io"]
    assert io.depth == 3 and parent_name(log, io) == "re"
    # "re" right-aligned in 6 columns: looked up by re._compiler's body.
    re_hit = by_line["import time: cached    | cached     |       re"]
    assert re_hit.depth == 4 and parent_name(log, re_hit) == "re._compiler"
    # A name filling its field only bounds the level; the neighbours decide:
    # after `sys` at level 4 and before `types` ends at depth 4, `builtins`
    # (level <= 4) can only be at level 4, inside `enum`.
    builtins = entry(log, "builtins", cached=True)
    assert builtins.depth == 4 and parent_name(log, builtins) == "enum"
    # Between re._parser (depth 4) and re._casefix (depth 4) the lookup of
    # re._constants may be at level 4 or 5: depth is the lower bound, parent unknown.
    constants = entry(log, "re._constants", cached=True)
    assert (constants.depth, constants.parent) == (4, None)
    # Most cache hits are placed exactly.
    assert sum(e.parent is not None for e in cached) > 0.8 * len(cached)
    # A cache hit never sits below the level left by the previous line.
    level = 0
    for e in log.entries:
        assert e.depth >= level or not e.cached
        level = e.depth


def test_live_current_interpreter() -> None:
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-X", "importtime", "-c", "import json"],
        capture_output=True,
        text=True,
        check=True,
    )
    logs = parse(result.stderr)
    assert len(logs) == 1
    json = entry(logs[0], "json")
    assert json.depth == 0 and json.parent is None
    assert parent_name(logs[0], entry(logs[0], "json.decoder")) == "json"
    assert_parent_links_are_post_order(logs[0])


# --- synthetic ------------------------------------------------------------------

SIMPLE = [
    HEADER,
    fresh_line(5, 5, 2, "c"),
    fresh_line(7, 12, 1, "b"),
    fresh_line(3, 3, 1, "d_2.x"),
    fresh_line(10, 25, 0, "a"),
    fresh_line(4, 4, 0, "e"),
]


def test_parent_resolution_and_accessors() -> None:
    [log] = parse("\n".join(SIMPLE) + "\n")
    assert [(e.name, e.depth, e.parent, e.order) for e in log.entries] == [
        ("c", 2, 1, 0),
        ("b", 1, 3, 1),
        ("d_2.x", 1, 3, 2),
        ("a", 0, None, 3),
        ("e", 0, None, 4),
    ]
    assert log.entries[3] == ImportTimeEntry("a", 10, 25, 0, 3, None, False)
    assert log.self_times() == {"c": 5, "b": 7, "d_2.x": 3, "a": 10, "e": 4}
    assert log.dialect == "importtime"


def test_empty_and_plain_text() -> None:
    assert parse("") == []
    [log] = parse("hello\nworld\n")
    assert log.entries == [] and log.other_lines == ["hello", "world"]
    [log] = parse("\n")
    assert log.entries == [] and log.other_lines == [""]


def test_crlf_matches_lf() -> None:
    lf = parse("\n".join(SIMPLE) + "\nwarning: x\n")
    crlf = parse("\r\n".join(SIMPLE) + "\r\nwarning: x\r\n")
    assert crlf == lf
    assert crlf[0].other_lines == ["warning: x"]


def test_no_header_and_multiple_headers() -> None:
    text = "\n".join(SIMPLE[1:] + SIMPLE + ["oops"] + [HEADER, fresh_line(1, 1, 0, "z")])
    first, second, third = parse(text)
    assert [e.name for e in first.entries] == ["c", "b", "d_2.x", "a", "e"]
    assert first.entries[0].parent == 1
    assert [e.name for e in second.entries] == ["c", "b", "d_2.x", "a", "e"]
    assert second.other_lines == ["oops"]
    assert [e.name for e in third.entries] == ["z"] and third.other_lines == []


def test_text_before_the_first_header_is_its_own_section() -> None:
    preamble, log = parse("starting child\n" + "\n".join(SIMPLE))
    assert preamble.entries == [] and preamble.other_lines == ["starting child"]
    assert len(log.entries) == 5


def test_tolerated_variations() -> None:
    lines = [
        "import time:\tself [us]  |  cumulative |   imported package  ",
        "import time:\t  12 \t|\t34   |     pkg_1.mod_2   ",
        "import time:    -3 |         40 |   neg",
        "import time:     8 |        100 | top",
    ]
    [log] = parse("\n".join(lines))
    assert [(e.name, e.self_us, e.cumulative_us, e.depth, e.parent) for e in log.entries] == [
        ("pkg_1.mod_2", 12, 34, 2, 1),
        ("neg", -3, 40, 1, 2),
        ("top", 8, 100, 0, None),
    ]
    assert log.other_lines == []
    # Tabs in the name column count as one level each.
    [log] = parse("import time: 1 | 1 |\t\tdeep")
    assert log.entries[0].depth == 2


@pytest.mark.parametrize(
    "line",
    [
        "import time: garbage",
        "import time: 12 | abc | mod",
        "import time: 12 | 34 |",
        "import time: 12 | 34 | two words",
        "import time: cached | 34 | mod",
        "import time:       123 |",
        "import time: self [us] | cumulative",
        "Import time: 1 | 1 | x",
    ],
)
def test_malformed_lines_go_to_other_lines(line: str) -> None:
    assert not is_importtime_line(line)
    [log] = parse(f"{HEADER}\n{fresh_line(1, 1, 0, 'a')}\n{line}")
    assert [e.name for e in log.entries] == ["a"]
    assert log.other_lines == [line]


def test_truncated_last_line() -> None:
    text = "\n".join(SIMPLE[:3]) + "\nimport time:       4 |    "
    [log] = parse(text)
    assert [e.name for e in log.entries] == ["c", "b"]
    assert log.other_lines == ["import time:       4 |    "]
    assert all(e.parent is None for e in log.entries[1:])


def test_is_importtime_line() -> None:
    assert is_importtime_line(HEADER)
    assert is_importtime_line(fresh_line(1, 2, 3, "x.y") + "\r\n")
    assert is_importtime_line(cached_line_314(2, "os"))
    assert is_importtime_line(cached_line_indented(2, "os"))
    assert not is_importtime_line("Traceback (most recent call last):")
    assert not is_importtime_line("loading " + fresh_line(1, 1, 0, "x"))


def test_importtime_line_after_unterminated_program_output() -> None:
    [log] = parse(HEADER + "\nloading..." + fresh_line(3, 3, 1, "x") + "\n" + fresh_line(5, 8, 0, "y"))
    assert log.other_lines == ["loading..."]
    assert [(e.name, e.parent) for e in log.entries] == [("x", 1), ("y", None)]


def test_cached_lines_cpython_314_format() -> None:
    lines = [
        HEADER,
        cached_line_314(0, "sys"),  # "sys": level <= 1, after nothing: 0 or 1
        cached_line_314(2, "os"),  # "  os": padded, exactly level 2
        fresh_line(4, 4, 2, "leaf"),
        cached_line_314(2, "collections"),  # level <= 5, >= 2 (after leaf), <= 2 (before mid): 2
        fresh_line(6, 10, 1, "mid"),
        fresh_line(2, 12, 0, "top"),
        cached_line_314(0, "top"),  # after a depth-0 line and nothing follows: level 0
    ]
    [log] = parse("\n".join(lines))
    assert log.dialect == "importtime=2"
    got = [(e.name, e.cached, e.depth, e.parent) for e in log.entries]
    assert got == [
        ("sys", True, 0, None),
        ("os", True, 2, 4),
        ("leaf", False, 2, 4),
        ("collections", True, 2, 4),
        ("mid", False, 1, 5),
        ("top", False, 0, None),
        ("top", True, 0, None),
    ]
    assert [e.name for e in log.fresh()] == ["leaf", "mid", "top"]
    assert log.self_times() == {"leaf": 4, "mid": 6, "top": 2}


def test_cached_lines_indented_format() -> None:
    lines = [
        HEADER,
        cached_line_indented(2, "collections"),
        fresh_line(4, 4, 2, "leaf"),
        cached_line_indented(1, "os"),
        fresh_line(6, 10, 1, "mid"),
        fresh_line(2, 12, 0, "top"),
        cached_line_indented(0, "os"),
    ]
    [log] = parse("\n".join(lines))
    got = [(e.name, e.cached, e.self_us, e.depth, e.parent) for e in log.entries]
    assert got == [
        ("collections", True, None, 2, 3),
        ("leaf", False, 4, 2, 3),
        ("os", True, None, 1, 4),
        ("mid", False, 6, 1, 4),
        ("top", False, 2, 0, None),
        ("os", True, None, 0, None),
    ]


def test_inconsistent_depths_do_not_crash() -> None:
    depths = [3, 0, 5, 1, 1, 4, 0, 2, 0, 7]
    lines = [HEADER] + [fresh_line(i, i, d, f"m{i}") for i, d in enumerate(depths)]
    lines += [cached_line_314(9, "c"), cached_line_314(0, "deep.module.name"), fresh_line(1, 1, 6, "z")]
    [log] = parse("\n".join(lines))
    assert [e.depth for e in log.entries[: len(depths)]] == depths
    assert_parent_links_are_post_order(log)
    assert log.entries[0].parent == 7  # m0 (depth 3) goes to the next line at depth 2, m7
    assert log.entries[9].parent == 12  # m9 (depth 7) goes to z (depth 6)
    c, deep = log.entries[10:12]
    assert (c.depth, c.parent) == (9, None)  # nothing at depth 8 follows
    # Bounds that contradict each other (level >= 9 after c, <= 7 before z) give no parent.
    assert deep.parent is None


def test_long_log_is_linear() -> None:
    # 2,000 nested imports printed innermost first, then 50,000 siblings under
    # one parent: a quadratic scan of pending children would take minutes.
    deep, wide = 2_000, 50_000
    lines = [fresh_line(1, deep - d, d, f"m{d}") for d in range(deep - 1, -1, -1)]
    lines += [fresh_line(1, 1, 1, f"s{i}") for i in range(wide)] + [fresh_line(1, 1, 0, "root")]
    [log] = parse("\n".join(lines))
    assert log.entries[0].parent == 1 and log.entries[deep - 1].parent is None
    assert all(e.parent == deep + wide for e in log.entries[deep : deep + wide])
