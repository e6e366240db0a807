"""Reading the tracer's trace files: parsing, tree depth, self/cumulative time and memory.

The files are written here by hand in the tracer's line format (see `tracer.py` and the
docstring of `_records.py`):

    H  {header}
    S  seq parent name entered rss blocks thread site_file site_line
    E  seq start end overhead rss blocks status origin
    X  {report}
"""

from __future__ import annotations

import pytest

from hotstart.measure._records import read_trace_dir, read_trace_file

T0 = 5_000_000_000  # the tracer's perf_counter_ns at start: clocks below are offsets from it
PAGE = 4096


def header(**extra) -> str:
    values = {
        "pid": 4242, "ppid": 1, "argv": ["/usr/bin/python3", "-m", "app"],
        "executable": "/usr/bin/python3", "version": "3.11.7", "cache_tag": "cpython-311",
        "stdlib": "/usr/lib/python3.11", "path": ["/srv/app", "/usr/lib/python3.11"],
        "dont_write_bytecode": False, "preloaded": ["builtins", "sys"], "t0": T0,
        "page_size": PAGE, "calls": False, "tracer": "/tmp/inject/sitecustomize.py",
    }
    values.update(extra)
    return "H\t%r\n" % (values,)


def S(seq, parent, name, entered, rss, blocks, thread="main", site_file="/srv/app/x.py",
      site_line=1) -> str:
    return f"S\t{seq}\t{parent}\t{name}\t{entered}\t{rss}\t{blocks}\t{thread}\t{site_file}\t{site_line}\n"


def E(seq, start, end, overhead, rss, blocks, status="ok", origin="") -> str:
    return f"E\t{seq}\t{start}\t{end}\t{overhead}\t{rss}\t{blocks}\t{status}\t{origin}\n"


def X(**report) -> str:
    return "X\t%r\n" % (report,)


def write(tmp_path, text: str, name: str = "4242.trace"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# A complete run: app imports app.config and app.jobs; app.jobs imports pandas; then a
# missing optional module at the top level.
COMPLETE = (
    header()
    + S(1, 0, "app", 1_000, 100, 5_000, site_file="/srv/app/__main__.py", site_line=3)
    + S(2, 1, "app.config", 2_000, 110, 5_100, site_file="/srv/app/app/__init__.py")
    + E(2, 2_500, 12_500, 300, 120, 5_300, "ok", "/srv/app/app/config.py")
    + S(3, 1, "app.jobs", 13_000, 120, 5_300, site_file="/srv/app/app/__init__.py", site_line=2)
    + S(4, 3, "pandas", 14_000, 125, 5_400, site_file="/srv/app/app/jobs.py")
    + E(4, 14_200, 54_200, 1_200, 300, 9_400, "ok", "/venv/site-packages/pandas/__init__.py")
    + E(3, 13_100, 60_100, 1_500, 310, 9_500, "ok", "/srv/app/app/jobs.py")
    + E(1, 1_100, 70_100, 2_000, 320, 9_600, "ok", "/srv/app/app/__init__.py")
    + S(5, 0, "tomli", 71_000, 320, 9_600, site_file="/srv/app/__main__.py", site_line=5)
    + E(5, 71_100, 71_600, 0, 320, 9_650, "missing", "")
    + X(t_exit=T0 + 80_000, module_count=321, VmHWM=50 << 20)
)


@pytest.fixture
def complete(tmp_path):
    process = read_trace_file(str(write(tmp_path, COMPLETE)))
    assert process is not None
    return process


def test_header_fields(complete):
    assert complete.pid == 4242
    assert complete.t0 == T0
    assert complete.argv == ["/usr/bin/python3", "-m", "app"]
    assert complete.header["page_size"] == PAGE


def test_records_in_start_order_with_parsed_fields(complete):
    assert [i.name for i in complete.imports] == ["app", "app.config", "app.jobs", "pandas", "tomli"]
    pandas = complete.by_seq()[4]
    assert (pandas.parent, pandas.entered_ns, pandas.start_ns, pandas.end_ns) == (3, 14_000, 14_200, 54_200)
    assert pandas.site == "/srv/app/app/jobs.py:1"
    assert pandas.thread == "main"
    assert pandas.origin == "/venv/site-packages/pandas/__init__.py"
    assert complete.by_seq()[5].status == "missing"
    assert complete.by_seq()[5].origin == ""


def test_depth_follows_parents(complete):
    assert {i.name: i.depth for i in complete.imports} == {
        "app": 0, "app.config": 1, "app.jobs": 1, "pandas": 2, "tomli": 0}


def test_cumulative_is_end_minus_start_minus_overhead(complete):
    by_name = {i.name: i for i in complete.imports}
    assert by_name["app.config"].cumulative_ns == 12_500 - 2_500 - 300
    assert by_name["pandas"].cumulative_ns == 54_200 - 14_200 - 1_200
    assert by_name["app.jobs"].cumulative_ns == 60_100 - 13_100 - 1_500
    assert by_name["app"].cumulative_ns == 70_100 - 1_100 - 2_000
    assert by_name["tomli"].cumulative_ns == 500


def test_self_is_cumulative_minus_the_childrens_cumulative(complete):
    by_name = {i.name: i for i in complete.imports}
    assert by_name["pandas"].self_ns == 38_800  # a leaf: self == cumulative
    assert by_name["app.jobs"].self_ns == 45_500 - 38_800
    assert by_name["app"].self_ns == 67_000 - (9_700 + 45_500)  # children only, not pandas
    assert by_name["tomli"].self_ns == 500


def test_rss_deltas_are_pages_times_page_size(complete):
    by_name = {i.name: i for i in complete.imports}
    assert by_name["app.config"].cumulative_rss == (120 - 110) * PAGE
    assert by_name["pandas"].cumulative_rss == (300 - 125) * PAGE
    assert by_name["app.jobs"].cumulative_rss == (310 - 120) * PAGE
    assert by_name["app.jobs"].self_rss == ((310 - 120) - (300 - 125)) * PAGE
    assert by_name["app"].self_rss == ((320 - 100) - (120 - 110) - (310 - 120)) * PAGE


def test_allocated_blocks_deltas(complete):
    by_name = {i.name: i for i in complete.imports}
    assert by_name["pandas"].cumulative_blocks == 4_000
    assert by_name["app.jobs"].cumulative_blocks == 4_200
    assert by_name["app.jobs"].self_blocks == 200
    assert by_name["tomli"].cumulative_blocks == 50


def test_page_size_from_header_is_used(tmp_path):
    text = header(page_size=16384) + S(1, 0, "m", 10, 10, 0) + E(1, 20, 30, 0, 12, 0)
    process = read_trace_file(str(write(tmp_path, text)))
    assert process.imports[0].cumulative_rss == 2 * 16384


def test_unknown_rss_gives_no_memory_figures(tmp_path):
    # rss -1: /proc/self/statm could not be read (not Linux, or a sandbox).
    text = (header() + S(1, 0, "a", 10, -1, 0) + S(2, 1, "b", 20, -1, 0)
            + E(2, 25, 35, 0, -1, 5) + E(1, 15, 50, 0, -1, 10) + X(t_exit=T0 + 60))
    by_name = {i.name: i for i in read_trace_file(str(write(tmp_path, text))).imports}
    assert by_name["a"].cumulative_rss is None and by_name["a"].self_rss is None
    assert by_name["b"].cumulative_rss is None
    assert by_name["a"].self_blocks == 5  # blocks are still known


def test_times_are_never_negative(tmp_path):
    # Overhead larger than the span (clock granularity) and a child longer than its parent.
    text = (header() + S(1, 0, "a", 10, 1, 0) + S(2, 1, "b", 20, 1, 0)
            + E(2, 20, 100, 0, 1, 0) + E(1, 15, 60, 80, 1, 0) + X(t_exit=T0 + 200))
    by_name = {i.name: i for i in read_trace_file(str(write(tmp_path, text))).imports}
    assert by_name["a"].cumulative_ns == 0
    assert by_name["a"].self_ns == 0


def test_an_x_line_sets_report_and_complete(complete, tmp_path):
    assert complete.complete
    assert complete.report == {"t_exit": T0 + 80_000, "module_count": 321, "VmHWM": 50 << 20}
    without = read_trace_file(str(write(tmp_path, COMPLETE.rsplit("X\t", 1)[0], "1.trace")))
    assert without.report is None and not without.complete


def test_import_without_end_is_unfinished_and_ends_at_the_last_timestamp(tmp_path):
    # Killed while `app.slow` was importing: neither it nor `app` got an E line.
    text = (header()
            + S(1, 0, "app", 1_000, 100, 0)
            + S(2, 1, "app.fast", 1_500, 100, 0)
            + E(2, 1_600, 5_600, 100, 104, 0, "ok", "/srv/app/app/fast.py")
            + S(3, 1, "app.slow", 6_000, 104, 0))
    process = read_trace_file(str(write(tmp_path, text)))
    by_name = {i.name: i for i in process.imports}
    assert not process.complete
    for name in ("app", "app.slow"):
        assert by_name[name].status == "unfinished"
        assert by_name[name].end_ns == 6_000  # the last timestamp in the file
        assert by_name[name].start_ns == by_name[name].entered_ns
        assert by_name[name].cumulative_rss is None
    assert by_name["app"].cumulative_ns == 5_000
    assert by_name["app"].self_ns == 5_000 - 3_900  # minus the finished child
    assert by_name["app.slow"].cumulative_ns == 0
    assert by_name["app.fast"].status == "ok"


def test_unfinished_import_in_a_finished_process_ends_at_exit(tmp_path):
    # A daemon thread was still importing when the interpreter exited normally.
    text = (header()
            + S(1, 0, "main_mod", 1_000, 100, 0)
            + E(1, 1_100, 3_100, 0, 100, 0, "ok", "/srv/app/main_mod.py")
            + S(2, 0, "worker_mod", 20_000, 100, 0, thread="140245")
            + X(t_exit=T0 + 90_000, module_count=10))
    process = read_trace_file(str(write(tmp_path, text)))
    worker = process.by_seq()[2]
    assert process.complete
    assert worker.thread == "140245"
    assert worker.status == "unfinished"
    assert worker.end_ns == 90_000
    assert worker.cumulative_ns == 70_000


@pytest.mark.parametrize("cut", [
    "E\t3\t6100\t99",          # an E line cut in the middle of its fields
    "S\t4\t1\tpartial",         # an S line cut short
    "X\t{'t_exit': 12",         # the exit report cut short
    "H\t{'pid': 1}",            # a second header is ignored
    "garbage without tabs",
])
def test_a_truncated_final_line_is_ignored_without_losing_earlier_records(tmp_path, cut):
    text = (header()
            + S(1, 0, "app", 1_000, 100, 0)
            + S(2, 1, "app.fast", 1_500, 100, 0)
            + E(2, 1_600, 5_600, 100, 104, 0, "ok", "/srv/app/app/fast.py")
            + S(3, 1, "app.slow", 6_000, 104, 0)
            + cut)
    process = read_trace_file(str(write(tmp_path, text)))
    assert [i.name for i in process.imports] == ["app", "app.fast", "app.slow"]
    assert process.by_seq()[2].cumulative_ns == 3_900
    assert process.by_seq()[3].status == "unfinished"
    assert process.report is None
    assert process.pid == 4242


def test_a_bad_line_in_the_middle_does_not_stop_reading(tmp_path):
    text = (header() + S(1, 0, "a", 10, 1, 0) + "S\tnot-a-number\n" + E(1, 20, 30, 0, 1, 0)
            + "\n" + X(t_exit=T0 + 40))
    process = read_trace_file(str(write(tmp_path, text)))
    assert process.imports[0].status == "ok" and process.imports[0].cumulative_ns == 10
    assert process.complete


def test_an_end_without_start_is_ignored(tmp_path):
    text = header() + E(9, 20, 30, 0, 1, 0) + S(1, 0, "a", 40, 1, 0) + E(1, 40, 50, 0, 1, 0)
    process = read_trace_file(str(write(tmp_path, text)))
    assert [i.seq for i in process.imports] == [1]


def test_tabs_and_invalid_utf8_are_tolerated(tmp_path):
    path = tmp_path / "7.trace"
    path.write_bytes(header(pid=7).encode() + S(1, 0, "caf\xe9", 1, 1, 0).encode("latin-1")
                     + E(1, 1, 2, 0, 1, 0).encode())
    process = read_trace_file(str(path))
    assert process.imports[0].name == "caf\ufffd"
    assert process.imports[0].status == "ok"


def test_a_file_without_header_returns_none(tmp_path):
    text = S(1, 0, "a", 10, 1, 0) + E(1, 20, 30, 0, 1, 0) + X(t_exit=40)
    assert read_trace_file(str(write(tmp_path, text))) is None
    assert read_trace_file(str(write(tmp_path, "", "empty.trace"))) is None


def test_lines_before_the_header_are_ignored(tmp_path):
    text = S(9, 0, "early", 1, 1, 0) + header() + S(1, 0, "a", 10, 1, 0) + E(1, 20, 30, 0, 1, 0)
    process = read_trace_file(str(write(tmp_path, text)))
    assert [i.name for i in process.imports] == ["a"]


def test_site_is_none_when_the_import_came_from_c(tmp_path):
    text = header() + S(1, 0, "a", 10, 1, 0, site_file="", site_line=0) + E(1, 20, 30, 0, 1, 0)
    assert read_trace_file(str(write(tmp_path, text))).imports[0].site is None


def test_read_trace_dir_orders_by_start_and_skips_other_files(tmp_path):
    write(tmp_path, header(pid=30, t0=T0 + 500) + S(1, 0, "child", 1, 1, 0), "30.trace")
    write(tmp_path, header(pid=10, t0=T0) + S(1, 0, "parent", 1, 1, 0), "10.trace")
    write(tmp_path, header(pid=20, t0=T0) + S(1, 0, "sibling", 1, 1, 0), "20.trace")
    write(tmp_path, S(1, 0, "headless", 1, 1, 0), "40.trace")  # never got its header out
    write(tmp_path, header(pid=50), "notes.txt")
    processes = read_trace_dir(str(tmp_path))
    assert [p.pid for p in processes] == [10, 20, 30]


def test_merge_survives_a_memory_run_whose_process_died_before_its_report(tmp_path):
    """A daemonizing target's forked process can be killed with its group before the memory
    run's report is written, while the profiling run's report exists: merging raised
    AttributeError ('NoneType' object has no attribute 'get') once in nine runs."""
    from hotstart.measure.merge import merge_processes

    timed = read_trace_file(str(write(tmp_path, COMPLETE, "timed.trace")))
    calls = read_trace_file(str(write(tmp_path, COMPLETE, "calls.trace")))
    memory = read_trace_file(str(write(tmp_path, COMPLETE.rsplit("X\t", 1)[0],
                                       "memory.trace")))
    assert memory is not None and not memory.report and calls.report
    (merged,) = merge_processes([[timed]], [80.0], calls_run=[calls], memory_run=[memory])
    assert merged.hot_calls == []
