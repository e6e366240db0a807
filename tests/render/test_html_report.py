"""The HTML report, opened for real in headless Chromium (Debian's, driven by playwright).

Each test writes a report with `render_html`, loads it from a file:// URL, waits for the
chart, and works the page as a person would: clicks a module to zoom, searches, switches
the metric, sorts and filters the table, asks why pandas is loaded, reads the hot calls, the
audit's classes, the diff of two profiles, the processes of a multi-process profile. Every
test also asserts that the page raised nothing (no page error, no console error: a Content
Security Policy violation is one), opened no dialog, and requested nothing but its own file.
The profiles are real ones (the bundled example, `-c` snippets, a script that starts a
thread and a second process), plus two made by hand: a hostile one (names that are HTML and
script) and a large one (12,000 modules in each of 3 processes).

A screenshot of the example's report is saved to build/report-screenshot.png for people to
look at.
"""

from __future__ import annotations

import json
import pathlib
import re
import shutil
from typing import Any

import pytest
from conftest import EXAMPLE, ROOT, run_hotstart
from html_profiles import HOSTILE, deep_profile, hostile_profile, large_profile, record

from hotstart.audit.model import AuditReport
from hotstart.measure.model import ImportTree, ProcessProfile, Profile
from hotstart.render.html import render_html
from hotstart.render.why import find_chains

if shutil.which("chromium") is None and shutil.which("chromium-browser") is None:
    pytest.skip("chromium is not installed: 'make test' installs Debian's chromium package "
                "where it can (apt-get install chromium, as root)", allow_module_level=True)
try:
    import playwright.sync_api  # noqa: F401
except ImportError:
    pytest.skip("playwright is not installed: pip install -e '.[dev]' (its own browser "
                "download is not needed: Debian's chromium is used)", allow_module_level=True)

SCREENSHOT = ROOT / "build" / "report-screenshot.png"
#: The most chart nodes the page draws at once (MAX_NODES in report.js).
MAX_NODES = 2500
#: Table rows shown before "show more" (PAGE in report.js).
PAGE = 200


def display(text: str) -> str:
    """`text` as the page shows it: control and bidi characters as \\u escapes."""
    return re.sub("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]",
                  lambda m: f"\\u{ord(m.group()):04x}", text)


class Report:
    """A report open in a browser tab, and what the tab did: problems (page errors,
    console errors, dialogs) and the URLs it requested."""

    def __init__(self, context: Any, url: str) -> None:
        self.context, self.url = context, url
        self.page = context.new_page()
        self.problems: list[str] = []
        self.requests: list[str] = []
        page = self.page
        page.on("console", lambda message: self.problems.append(f"console: {message.text}")
                if message.type == "error" else None)
        page.on("pageerror", lambda error: self.problems.append(f"page error: {error}"))
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("dialog", self._dialog)
        page.goto(url)
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)

    def _dialog(self, dialog: Any) -> None:
        self.problems.append(f"dialog: {dialog.type} {dialog.message!r}")
        dialog.dismiss()

    def assert_clean(self) -> None:
        assert self.problems == []
        assert self.requests == [self.url]

    # -- reading the page ------------------------------------------------------------------
    def js(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)

    def node(self, name: str) -> Any:
        return self.page.locator(f'#chart .node[data-module="{name}"]')

    def chart_modules(self) -> list[str]:
        return self.js("[...document.querySelectorAll('#chart .node')]"
                       ".filter(e => e.dataset.module != null).map(e => e.dataset.module)")

    def table_modules(self) -> list[str]:
        return self.js("[...document.querySelectorAll('#module-table tbody tr')]"
                       ".map(e => e.dataset.module)")

    def box(self, selector: str) -> dict[str, float]:
        box = self.page.locator(selector).first.bounding_box()
        assert box is not None, selector
        return box


@pytest.fixture
def open_report(browser, tmp_path):
    """open_report(html) -> Report: the page written to a file and opened in a new tab
    (1400x900), closed after the test."""
    opened: list[Report] = []

    def open_(html: str, name: str = "report.html") -> Report:
        path = tmp_path / name
        path.write_text(html, encoding="utf-8")
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        report = Report(context, path.as_uri())
        opened.append(report)
        return report

    yield open_
    for report in opened:
        report.context.close()


# -- the profiles ----------------------------------------------------------------------------

def load(path: pathlib.Path) -> Profile:
    return Profile.from_json(path.read_text())


@pytest.fixture(scope="module")
def example(jobrunner_profile) -> Profile:
    return load(jobrunner_profile)


@pytest.fixture(scope="module")
def example_audit(jobrunner_profile, tmp_path_factory) -> AuditReport:
    """The example's audit, its savings taken from the same profile (as `make demo` does)."""
    out = tmp_path_factory.mktemp("audit") / "audit.json"
    made = run_hotstart("audit", str(EXAMPLE), "--profile", str(jobrunner_profile), "-q",
                        "--format", "json", "-o", str(out))
    assert made.returncode == 0, made.stderr
    return AuditReport.from_dict(json.loads(out.read_text()))


@pytest.fixture(scope="module")
def example_html(example, example_audit) -> str:
    return render_html(example, audit=example_audit, title="jobrunner interface")


def profile_code(directory: pathlib.Path, name: str, code: str) -> Profile:
    out = directory / f"{name}.json"
    made = run_hotstart("profile", "-q", "-n", "1", "-o", str(out), "-c", code, cwd=directory)
    assert made.returncode == 0, made.stderr
    return load(out)


@pytest.fixture(scope="module")
def diff_pair(tmp_path_factory) -> tuple[Profile, Profile]:
    """Before imports csv, after imports decimal instead: modules added and removed."""
    directory = tmp_path_factory.mktemp("diff")
    return (profile_code(directory, "before", "import json, csv"),
            profile_code(directory, "after", "import json, decimal"))


# -- the example: chart, table, zoom, search, metrics ------------------------------------------

def test_the_example_draws_its_tree_and_table(open_report, example, example_html):
    report = open_report(example_html)
    page = report.page
    drawn = report.chart_modules()
    assert {"jobrunner.cli", "jobrunner.util.frames", "pandas", "numpy"} <= set(drawn)
    # The page keeps to the modules of the profile, each drawn once.
    names = {m.name for m in example.main.modules}
    assert set(drawn) <= names and len(drawn) == len(set(drawn))
    rows = report.table_modules()
    assert len(rows) == min(PAGE, len(names))
    assert {"jobrunner.cli", "pandas"} <= set(rows)
    # The table starts sorted by cumulative time, largest first.
    by_name = {m.name: m for m in example.main.modules}
    cumulative = [round(by_name[name].cumulative_us.median, 1) for name in rows]
    assert cumulative == sorted(cumulative, reverse=True)
    assert page.locator("#summary h1").inner_text() == "jobrunner interface"
    assert "-m jobrunner interface" in page.locator("#summary .target").inner_text()
    legend = page.locator("#legend .kind").all_inner_texts()
    assert {"stdlib", "third-party", "first-party", "extension"} <= set(legend)
    assert page.locator("#processes").is_hidden()  # one process: no switcher
    # Each node's colour is its kind's.
    kinds = report.js("""['jobrunner.cli', 'pandas', 'json']
        .map(n => document.querySelector(`#chart .node[data-module="${n}"]`))
        .map(e => e && e.dataset.kind)""")
    assert kinds[:2] == ["first-party", "third-party"]
    SCREENSHOT.parent.mkdir(exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    assert SCREENSHOT.stat().st_size > 10_000
    report.assert_clean()


def test_clicking_a_module_zooms_into_it(open_report, example_html):
    report = open_report(example_html)
    page = report.page
    chart = report.box("#chart")
    before = report.box('#chart .node[data-module="pandas"]')["width"]
    assert before < chart["width"] * 0.99
    report.node("pandas").hover()  # a tooltip with its figures
    tip = page.locator("#tooltip")
    assert tip.is_visible() and "pandas" in tip.inner_text() and "cumulative" in tip.inner_text()
    report.node("pandas").click()
    zoomed = report.box('#chart .node[data-module="pandas"].zoomed')
    assert zoomed["width"] == pytest.approx(chart["width"], abs=1.5)
    assert page.locator("#chart").get_attribute("data-zoom") == "pandas"
    crumbs = page.locator("#breadcrumb button").all_inner_texts()
    assert crumbs[0] == "all" and crumbs[-1] == "pandas" and "jobrunner.util.frames" in crumbs
    # The importers of pandas stay above it, full width; its imports are wider than before.
    assert page.locator('#chart .node.above[data-module="jobrunner.util.frames"]').count() == 1
    assert "pandas" in page.locator("#details h3").inner_text()
    assert "third-party" in page.locator("#details-body").inner_text()
    # Clicking an importer above zooms out to it; "Reset zoom" back to everything.
    page.locator('#chart .node.above[data-module="jobrunner.util.paths"]').click()
    assert page.locator("#chart").get_attribute("data-zoom") == "jobrunner.util.paths"
    page.click("#chart-reset")
    assert page.locator("#chart").get_attribute("data-zoom") == "all"
    assert report.box('#chart .node[data-module="pandas"]')["width"] == pytest.approx(before,
                                                                                        abs=1)
    report.assert_clean()


def test_search_highlights_and_counts_the_matches(open_report, example, example_html):
    report = open_report(example_html)
    page = report.page
    page.fill("#chart-search", "NumPy.lib")
    expected = [m.name for m in example.main.modules if "numpy.lib" in m.name]
    assert expected
    counter = page.locator("#chart-matches")
    assert counter.get_attribute("data-count") == str(len(expected))
    assert counter.inner_text().startswith(f"{len(expected)} match")
    matches = report.js("[...document.querySelectorAll('#chart .node.match')]"
                        ".map(e => e.dataset.module)")
    assert matches and all("numpy.lib" in name for name in matches)
    others = report.js("[...document.querySelectorAll('#chart .node:not(.match)')]"
                       ".map(e => e.dataset.module || '')")
    assert not any("numpy.lib" in name for name in others)
    # Enter jumps to a match: the chart zooms to it and the details show it.
    page.press("#chart-search", "Enter")
    zoom = page.locator("#chart").get_attribute("data-zoom")
    assert zoom in expected and page.locator("#details h3").inner_text() == zoom
    page.fill("#chart-search", "")
    assert page.locator("#chart .node.match").count() == 0
    report.assert_clean()


def expected_widths(process: ProcessProfile, metric: str) -> dict[str | None, float]:
    """What report.js sizes each module (and the whole process, None) by: its own figure
    plus its imports', the measured cumulative time when that is larger."""
    tree = ImportTree(process)
    width: dict[str | None, float] = {}
    for module in reversed(list(tree.walk())):
        inner = sum(width[c.name] for c in tree.children(module.name))
        if metric == "cumulative":
            width[module.name] = max(module.cumulative_us.median, inner)
        elif metric == "self":
            width[module.name] = module.self_us.median + inner
        else:
            width[module.name] = max(0.0, module.self_rss.median if module.self_rss else 0) + inner
    width[None] = sum(width[r.name] for r in tree.roots())
    return width


@pytest.mark.parametrize("metric", ["self", "memory", "cumulative"])
def test_the_metric_switch_resizes_the_chart(open_report, example, example_html, metric):
    report = open_report(example_html)
    page = report.page
    if metric != "cumulative":
        page.click(f'#chart-metric button[data-metric="{metric}"]')
    assert page.locator(f'#chart-metric button[data-metric="{metric}"]').get_attribute(
        "aria-pressed") == "true"
    widths = expected_widths(example.main, metric)
    whole = report.box('#chart .node[data-i]:not([data-module])')["width"]
    for name in ("pandas", "numpy", "jobrunner.registry"):
        drawn = report.box(f'#chart .node[data-module="{name}"]')["width"]
        assert drawn / whole == pytest.approx(widths[name] / widths[None], abs=0.004), name
    label = page.locator("#chart .node").first.inner_text()
    assert label.startswith("all ") and label.endswith("ms" if metric != "memory" else "M")
    report.assert_clean()


# -- the table ---------------------------------------------------------------------------------

def test_the_table_sorts_filters_and_shows_more(open_report, example, example_html):
    report = open_report(example_html)
    page = report.page
    by_name = {m.name: m for m in example.main.modules}
    page.click('#module-table th[data-sort="self"]')
    own = [round(by_name[name].self_us.median, 1) for name in report.table_modules()]
    assert own == sorted(own, reverse=True)  # (the page has times to 0.1 us)
    assert own[0] == round(max(m.self_us.median for m in example.main.modules), 1)
    page.click('#module-table th[data-sort="self"]')  # again: smallest first
    own = [round(by_name[name].self_us.median, 1) for name in report.table_modules()]
    assert own == sorted(own)
    page.click('#module-table th[data-sort="name"]')
    shown = report.table_modules()
    assert shown == sorted(shown, key=lambda n: n.lower()) or shown == sorted(shown)
    # Filter by name; then by kind.
    page.fill("#module-filter", "numpy.lib")
    expected = {m.name for m in example.main.modules if "numpy.lib" in m.name}
    assert set(report.table_modules()) == expected
    assert page.locator("#module-count").get_attribute("data-count") == str(len(expected))
    page.fill("#module-filter", "")
    page.select_option("#module-kind", "extension")
    extensions = {m.name for m in example.main.modules if m.kind == "extension"}
    assert extensions and set(report.table_modules()) == extensions
    page.select_option("#module-kind", "")
    # A bounded number of rows, and more on demand.
    assert len(report.table_modules()) == PAGE
    page.click("#module-more-button")
    assert len(report.table_modules()) == min(2 * PAGE, len(by_name))
    # A click on a row selects the module and zooms the chart to it.
    page.click('#module-table tbody tr[data-module="numpy"]')
    assert page.locator("#chart").get_attribute("data-zoom") == "numpy"
    assert page.locator('#module-table tbody tr.sel').get_attribute("data-module") == "numpy"
    report.assert_clean()


# -- the chain explorer --------------------------------------------------------------------

def test_the_chain_explorer_shows_every_chain_to_pandas(open_report, example, example_html):
    report = open_report(example_html)
    page = report.page
    page.fill("#chain-input", "pandas")
    page.press("#chain-input", "Enter")
    page.wait_for_selector("#chain-list ol.chain")
    tree = ImportTree(example.main)
    expected = find_chains(tree, "pandas", 25).shown
    chains = report.js("""[...document.querySelectorAll('#chain-list ol.chain')].map(ol =>
        [...ol.querySelectorAll('li.link[data-module]')].map(li => li.dataset.module))""")
    assert chains == [[link.module for link in chain] for chain in expected]
    first = chains[0]
    assert first == [record.name for record in tree.chain("pandas")]
    assert first[-1] == "pandas" and {"jobrunner.cli", "jobrunner.commands.compute",
                                      "jobrunner.util.frames"} <= set(first)
    sites = page.locator("#chain-list ol.chain").first.locator(".site").all_inner_texts()
    assert "util/frames.py:8" in " ".join(sites)
    # A link of a chain is a module to pick in turn.
    page.locator('#chain-list ol.chain').first.locator(
        'li.link[data-module="jobrunner.util.frames"] button').click()
    assert page.locator("#chain-input").input_value() == "jobrunner.util.frames"
    assert page.locator("#details h3").inner_text() == "jobrunner.util.frames"
    report.assert_clean()


def test_the_pages_chains_are_why_py_chains_for_every_module(open_report, example,
                                                             example_html):
    """report.js finds chains by the rule of render/why.py: the same chains, in the same
    order, for every module of the example."""
    report = open_report(example_html)
    tree = ImportTree(example.main)
    names = [m.name for m in example.main.modules]
    found = report.js("names => names.map(n => window.hotstart.chains(0, n))", names)
    for name, got in zip(names, found):
        want = find_chains(tree, name, 25)
        assert [[(link["importer"], link["module"], link["named"], link["site"])
                 for link in chain] for chain in got["shown"]] == \
            [[(link.importer, link.module, link.named, link.site) for link in chain]
             for chain in want.shown], name
        assert (got["more"], got["complete"]) == (want.more, want.complete), name
    assert sum(len(got["shown"]) > 1 for got in found) > 10  # the edges give more chains
    report.assert_clean()


# -- hot calls, audit --------------------------------------------------------------------------

def test_hot_calls_name_the_loggers_inspect_stack(open_report, example, example_html):
    report = open_report(example_html)
    rows = report.page.locator("#hot-table tr.hot-call")
    assert rows.count() == len(example.main.hot_calls) > 0
    logger = report.page.locator('#hot-table tr.hot-call[data-function="jobrunner.log:get_logger"]')
    text = logger.inner_text()
    assert "inspect" in text and "stack" in text
    call = next(c for c in example.main.hot_calls if c.function == "jobrunner.log:get_logger")
    share, estimate, own, calls = logger.locator("td.num").all_inner_texts()
    assert float(estimate) == pytest.approx(example.main.estimate_us(call) / 1e3, rel=0.01)
    assert float(own) == pytest.approx(call.own_us / 1e3, rel=0.01)
    assert int(calls) == call.calls and share.endswith("%")
    assert "jobrunner.util.frames" in text  # a module that called it at import
    report.assert_clean()


def test_audit_findings_sit_beside_their_modules(open_report, example_audit, example_html):
    report = open_report(example_html)
    page = report.page
    assert page.locator('#module-table th[data-sort="audit"]').count() == 1
    badges = page.locator('#module-table tr[data-module="pandas"] .badge[data-klass]')
    classes = [s.klass for s in example_audit.sites if s.imported == "pandas"]
    assert badges.all_inner_texts() == list(dict.fromkeys(classes))  # each class once
    assert "deferrable" in badges.all_inner_texts()
    # Every site listed, most actionable class first; a class button filters them.
    rows = page.locator("#audit-table tbody tr.site")
    assert rows.count() == min(PAGE, len(example_audit.sites))
    page.click('#audit-classes button[data-klass="typing-only"]')
    classes = report.js("[...document.querySelectorAll('#audit-table tbody tr')]"
                        ".map(e => e.dataset.klass)")
    assert classes == ["typing-only"] * sum(s.klass == "typing-only" for s in example_audit.sites)
    # The module's details list its sites with their saving.
    page.click('#module-table tbody tr[data-module="pandas"]')
    details = page.locator("#details-body").inner_text()
    assert "Import sites (audit)" in details and "util/frames.py:8" in details
    assert "saves ~" in details
    report.assert_clean()


def test_without_an_audit_there_is_no_audit_column(open_report, example):
    report = open_report(render_html(example))
    page = report.page
    assert page.locator('#module-table th[data-sort="audit"]').count() == 0
    assert page.locator("#audit").is_hidden() and page.locator("#diff").is_hidden()
    assert report.page.title().startswith("hotstart report: ")
    report.assert_clean()


# -- the diff, several processes ---------------------------------------------------------------

def test_the_diff_view_shows_added_and_removed_modules(open_report, diff_pair):
    before, after = diff_pair
    report = open_report(render_html(after, before=before))
    page = report.page
    assert page.locator("#diff").is_visible()
    assert "wall" in page.locator("#diff-totals").inner_text()
    added = {m.name for m in after.main.imported()} - {m.name for m in before.main.imported()}
    removed = {m.name for m in before.main.imported()} - {m.name for m in after.main.imported()}
    assert "decimal" in added and "csv" in removed
    page.click('#diff-changes button[data-change="added"]')
    shown = report.js("[...document.querySelectorAll('#diff-table tbody tr')]"
                      ".map(e => [e.dataset.module, e.dataset.change])")
    assert {name for name, _ in shown} == added and {c for _, c in shown} == {"added"}
    page.click('#diff-changes button[data-change="removed"]')
    shown = report.js("[...document.querySelectorAll('#diff-table tbody tr')]"
                      ".map(e => e.dataset.module)")
    assert set(shown) == removed
    # The chart of the after profile marks what was added.
    assert "added" in (report.node("decimal").get_attribute("class") or "")
    assert "added" not in (report.node("json").get_attribute("class") or "")
    # Sorting by the change in cumulative time.
    page.click('#diff-changes button[data-change=""]')
    page.click('#diff-table th[data-sort="dcum"]')
    assert page.locator('#diff-table th[data-sort="dcum"]').get_attribute("aria-sort")
    report.assert_clean()


def test_a_multi_process_profile_has_a_switcher(open_report, multi_process_profile):
    profile = load(multi_process_profile)
    assert len(profile.processes) == 2
    report = open_report(render_html(profile))
    page = report.page
    buttons = page.locator("#processes button.proc")
    assert buttons.count() == 2
    threads = {m.thread for m in profile.processes[0].modules} - {"main"}
    assert len(threads) == 1  # the thread's name, or its ident when it starts before naming
    thread = threads.pop()
    assert thread in buttons.nth(0).inner_text()
    assert "import decimal, fractions" in buttons.nth(1).inner_text()
    # Two threads: the chart groups the first process's imports by thread.
    groups = report.js("[...document.querySelectorAll('#chart .node:not([data-module])')]"
                       ".map(e => e.textContent)")
    assert any(label.startswith(f"thread {thread}") for label in groups)
    assert {"argparse", "email.parser"} <= set(report.chart_modules())
    buttons.nth(1).click()
    assert buttons.nth(1).get_attribute("aria-pressed") == "true"
    second = {m.name for m in profile.processes[1].modules}
    assert {"decimal", "fractions"} <= set(report.table_modules()) <= second
    assert set(report.chart_modules()) <= second and "decimal" in report.chart_modules()
    assert f"pid {profile.processes[1].pid}" in page.locator("#facts").inner_text()
    report.assert_clean()


# -- hostile, minimal and large profiles ---------------------------------------------------

def test_a_hostile_profile_shows_its_names_as_text(open_report):
    profile, audit = hostile_profile()
    report = open_report(render_html(profile, audit=audit, before=profile,
                                     title=HOSTILE[0] + HOSTILE[7]))
    page = report.page
    assert page.title() == HOSTILE[0] + HOSTILE[7]
    assert report.js("document.querySelectorAll('img, iframe, object, embed').length") == 0
    assert report.js("document.scripts.length") == 2  # the data and the page's own script
    assert set(HOSTILE) <= set(report.table_modules())
    assert set(HOSTILE) <= set(report.chart_modules())
    cells = report.js("[...document.querySelectorAll('#module-table tbody td.name .n')]"
                      ".map(span => span.textContent)")
    assert {display(name) for name in HOSTILE} <= set(cells)
    # No character that reorders or hides the text around it reaches the page's text.
    assert not report.js(r"/[\u202a-\u202e\u2066-\u2069\u2028]/.test(document.body.innerText)")
    notes = page.locator("#notes li").all_inner_texts()
    assert display(HOSTILE[6]) in notes  # "\\u202eevil", as `printable` shows it
    assert HOSTILE[0] in notes and HOSTILE[7] in notes
    assert HOSTILE[0] in page.locator("#hot-table").inner_text()
    assert HOSTILE[7] in page.locator("#audit-table").inner_text()
    # Picking a hostile name in the chain explorer works like any other.
    report.js("name => window.hotstart.select(name)", HOSTILE[0])
    assert page.locator("#details h3").inner_text() == HOSTILE[0]
    assert page.locator("#chain-list ol.chain").count() >= 1
    report.assert_clean()


def test_a_failed_profile_without_memory_or_hot_calls_still_opens(open_report):
    modules = [record("app", None, 0, 3.0, kind="first-party", status="unfinished"),
               record("app.core", "app", 1, 2.0, kind="first-party", site="/app/__init__.py:1")]
    process = ProcessProfile(argv=["python", "-m", "app"], python="3.12", executable="python",
                             wall_us=None, modules=modules, complete=False)
    profile = Profile(target=["python", "-m", "app"], python="3.12", engine="tracer", runs=1,
                      warmup=0, wall_us=None, floor_us=None, processes=[process], exit_code=3)
    report = open_report(render_html(profile))
    page = report.page
    memory = page.locator('#chart-metric button[data-metric="memory"]')
    assert memory.is_disabled() and "no memory figures" in (memory.get_attribute("title") or "")
    assert "No hot calls recorded" in page.locator("#hot-calls").inner_text()
    assert "exited with code 3" in page.locator("#failed").inner_text()
    assert "partial" in page.locator("#failed").inner_text()
    assert set(report.chart_modules()) == {"app", "app.core"}
    assert 'unfinished' in page.locator('#module-table tr[data-module="app"]').inner_text()
    report.assert_clean()


def test_a_profile_with_no_process_still_opens(open_report):
    profile = Profile(target=["python", "gone.py"], python="3.12", engine="tracer", runs=1,
                      warmup=0, wall_us=None, floor_us=None, processes=[], timed_out=True)
    report = open_report(render_html(profile))
    assert "No Python process was traced" in report.page.locator("#failed").inner_text()
    assert "timed out" in report.page.locator("#failed").inner_text()
    report.assert_clean()


def test_a_large_profile_draws_a_bounded_chart(open_report):
    profile = large_profile()
    report = open_report(render_html(profile), "large.html")
    page = report.page
    drawn = page.locator("#chart .node").count()
    assert page.locator("#chart").get_attribute("data-max") == str(MAX_NODES)
    assert 100 < drawn <= MAX_NODES
    assert len(report.table_modules()) == PAGE
    assert page.locator("#module-count").get_attribute("data-count") == "12000"
    # Each process switches in, bounded too; search counts over all modules.
    page.locator('#processes button.proc[data-process="2"]').click()
    assert all(name.startswith("p2.") for name in report.chart_modules())
    assert page.locator("#chart .node").count() <= MAX_NODES
    page.fill("#chart-search", "top1")
    expected = sum("top1" in m.name for m in profile.processes[2].modules)
    assert page.locator("#chart-matches").get_attribute("data-count") == str(expected)
    # Zooming into a deep module draws its importers above it and stays bounded.
    deepest = max(profile.processes[2].modules, key=lambda m: m.depth)
    report.js("name => window.hotstart.select(name)", deepest.name)
    assert page.locator("#chart").get_attribute("data-zoom") == deepest.name
    # Above it: "all", its thread (the profile has two), and its importers.
    assert page.locator("#chart .node.above").count() == deepest.depth + 2
    assert page.locator("#chain-list ol.chain").count() >= 1
    page.select_option("#module-kind", "stdlib")
    assert page.locator("#module-count").get_attribute("data-count") == "4000"
    report.assert_clean()


def test_a_very_deep_tree_draws_a_bounded_chart(open_report):
    """A chain of 5,000 imports, each loading the next: every level is full width."""
    profile = deep_profile(5_000)
    report = open_report(render_html(profile), "deep.html")
    page = report.page
    assert page.locator("#chart .node").count() == MAX_NODES
    last = profile.main.modules[-1].name
    report.js("name => window.hotstart.select(name)", last)
    assert page.locator("#chart").get_attribute("data-zoom") == last
    assert page.locator("#chart .node.above").count() == 30  # the nearest importers only
    assert page.locator("#breadcrumb button").first.inner_text() == "all"
    # Its one chain runs from the top: every module of the profile, in order.
    links = page.locator("#chain-list ol.chain li.link[data-module]")
    assert links.count() == 5_000
    report.assert_clean()
