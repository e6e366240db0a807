"""`hotstart report` attacked: inputs that broke a promise of the report, each kept here once
fixed. The command line (an -o that is the audit, an empty -o, --title without HTML), work
that grew with the square of the input (hot calls times modules, processes times tracks, the
memory samples and folded stacks of a deep tree, a module name of many dots in the page's
chain finder), a page whose DOM grew without bound with hostile data, audit classes named
like `Object.prototype`'s properties, and a diff that hid how its before profile failed.

No test measures time: each counts the work, the output or the elements instead.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from conftest import run_hotstart
from formats_readback import read_folded, rec, synthetic, validator

from hotstart.audit.model import AuditReport, HotSpot, ImportSite, Saving
from hotstart.errors import BadInput
from hotstart.measure.model import (
    HotCall,
    ImportEdge,
    ImportTree,
    ModuleRecord,
    ProcessProfile,
    Profile,
    Stat,
)
from hotstart.render import _timeline, folded, speedscope
from hotstart.render.html import render_html
from hotstart.render.json import render_json
from hotstart.render.why import find_chains


def module(name: str, importer: str | None, order: int, us: float = 10.0,
           **fields: Any) -> ModuleRecord:
    values: dict[str, Any] = {"thread": "main", **fields}
    return ModuleRecord(name=name, importer=importer, depth=0, order=order,
                        start_us=float(order), self_us=Stat.exact(us),
                        cumulative_us=Stat.exact(us), **values)


def profile_of(*processes: list[ModuleRecord], **fields: Any) -> Profile:
    made = [ProcessProfile(argv=["python", f"p{i}.py"], python="3.12", executable="python",
                           wall_us=None, modules=modules, pid=100 + i)
            for i, modules in enumerate(processes)]
    return Profile(target=["python", "app.py"], python="3.12", engine="tracer", runs=1,
                   warmup=0, wall_us=None, floor_us=None, processes=made, **fields)


def chain(depth: int, rss: float | None = None) -> Profile:
    """One process whose modules form a single chain `depth` long."""
    return profile_of([module(f"level{i}", f"level{i - 1}" if i else None, i,
                              self_rss=None if rss is None else Stat.exact(rss))
                       for i in range(depth)])


def one_line_error(result) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert result.stderr.startswith("hotstart: error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.stderr
    return result.stderr


# -- the command line ------------------------------------------------------------------------

@pytest.fixture
def files(tmp_path):
    """A profile and an audit report in tmp_path: (profile, audit)."""
    profile = tmp_path / "profile.json"
    profile.write_text(render_json(profile_of([module("app", None, 0)])))
    audit = tmp_path / "audit.json"
    audit.write_text(json.dumps(AuditReport(root="proj", package=None, files=1,
                                            sites=[]).to_dict()))
    return profile, audit


@pytest.mark.parametrize("target", ["audit.json", "link.json"])
def test_o_naming_the_audit_is_refused_and_the_audit_kept(files, tmp_path, target):
    """It was overwritten by the page (the check covered the profiles only), also through a
    link to it."""
    profile, audit = files
    (tmp_path / "link.json").symlink_to(audit)
    before = audit.read_bytes()
    result = run_hotstart("report", str(profile), "--audit", str(audit), "-o",
                          str(tmp_path / target), cwd=tmp_path)
    assert "is the audit report being read" in one_line_error(result)
    assert audit.read_bytes() == before and (tmp_path / "link.json").is_symlink()


@pytest.mark.parametrize("target", [["app.py"], ["--", "python3", "app.py"]])
def test_o_naming_the_targets_script_is_refused_before_profiling(tmp_path, target):
    """The script was profiled, then replaced by its report (`hotstart profile` refuses)."""
    script = tmp_path / "app.py"
    script.write_text("import json\n")
    result = run_hotstart("report", "-q", "-n", "1", "-o", "app.py", *target, cwd=tmp_path)
    assert "is a file of the target being profiled" in one_line_error(result)
    assert script.read_text() == "import json\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app.py"]


def test_an_empty_o_is_refused(files, tmp_path):
    """`-o ''` wrote the page to standard output, as if no -o was given."""
    profile, _ = files
    result = run_hotstart("report", str(profile), "--format", "folded", "-o", "", cwd=tmp_path)
    assert "cannot write '': give a file name" in one_line_error(result)
    assert result.stdout == ""


def test_title_without_html_is_refused_like_audit_and_metric(files, tmp_path):
    """--title was dropped without a word by the formats that have no title."""
    profile, _ = files
    result = run_hotstart("report", str(profile), "--format", "trace", "--title", "x",
                          cwd=tmp_path)
    assert "--title names the HTML report" in one_line_error(result)


# -- linear work ----------------------------------------------------------------------------

def test_the_pages_hot_calls_sum_the_import_time_once(monkeypatch):
    """Each hot call's estimate summed every module again: hot calls times modules (10,000
    modules and 2,500 calls took 4 s, 40,000 and 10,000 took 90 s)."""
    sums = []
    original = ProcessProfile.import_us

    def counted(self: ProcessProfile) -> float:
        sums.append(1)
        return original.fget(self)
    monkeypatch.setattr(ProcessProfile, "import_us", property(counted))
    profile = profile_of([module(f"m{i}", None, i) for i in range(50)])
    process = profile.main
    process.profiling_import_us = 250.0
    process.hot_calls = [HotCall(f"f{i}", "f.py", i, 1, 1.0, 2.0 + i) for i in range(40)]
    page = render_html(profile)
    assert len(sums) == 1
    data = json.loads(page.split('id="data">', 1)[1].split("</script>", 1)[0])
    hot = data["processes"][0]["hot"]
    total = original.fget(process)
    assert [call["estimate"] for call in hot] == [
        pytest.approx(round(c.own_us / 250.0 * total, 1)) for c in process.hot_calls]


def test_speedscope_walks_the_tracks_a_few_times_not_once_per_process(monkeypatch):
    """The tracks of each process were filtered out of all tracks: processes times tracks
    (10,000 one-module processes took 3 s, 4 times as many 13 times as long)."""
    walks = []

    class Counted(list):
        def __iter__(self):
            walks.append(1)
            return super().__iter__()
    real = _timeline.layout
    monkeypatch.setattr(speedscope, "layout", lambda profile: Counted(real(profile)))
    profile = profile_of(*[[module("m", None, 0, self_rss=Stat.exact(8.0))]
                           for _ in range(60)])
    document = json.loads(speedscope.render_speedscope(profile))
    assert len(walks) <= 3
    assert len(document["profiles"]) == 2 * 60  # a time and a memory profile per process
    validator("speedscope-file-format-schema.json").validate(document)


def replay_bytes(profile: dict) -> dict[int, tuple[int, int]]:
    """An evented profile in bytes replayed: frame -> (self, total)."""
    spans, opened, last = {}, [], profile["startValue"]
    for event in profile["events"]:
        assert event["at"] >= last
        last = event["at"]
        if event["type"] == "O":
            opened.append([event["frame"], event["at"], 0])
            continue
        frame, start, inner = opened.pop()
        assert frame == event["frame"]
        spans[frame] = (event["at"] - start - inner, event["at"] - start)
        if opened:
            opened[-1][2] += event["at"] - start
    assert not opened and last == profile["endValue"]
    return spans


def test_the_memory_of_a_deep_tree_is_evented_not_quadratic_samples():
    """Each memory sample held its whole chain: a chain of 10,000 modules that all grew the
    RSS made 50 million frame references (240 MB), 20,000 a gigabyte."""
    depth = 5_000  # 12.5 million frame references as samples: over MAX_SAMPLE_FRAMES
    assert depth * (depth + 1) // 2 > speedscope.MAX_SAMPLE_FRAMES
    text = speedscope.render_speedscope(chain(depth, rss=4096.4))
    assert len(text) < 200 * depth  # linear: about 70 bytes a module
    document = json.loads(text)
    validator("speedscope-file-format-schema.json").validate(document)
    (memory,) = [p for p in document["profiles"] if p["unit"] == "bytes"]
    assert memory["type"] == "evented" and memory["name"] == "pid 100: import memory (self RSS)"
    names = [frame["name"] for frame in document["shared"]["frames"]]
    spans = {names[frame]: figures for frame, figures in replay_bytes(memory).items()}
    assert spans == {f"level{i}": (4096, 4096 * (depth - i)) for i in range(depth)}


def test_evented_memory_keeps_each_modules_self_and_total(monkeypatch):
    """The fallback, forced on a small profile: threads one after the other, negative growth
    counts 0, medians rounded to the byte, processes without growth get no memory profile."""
    monkeypatch.setattr(speedscope, "MAX_SAMPLE_FRAMES", 0)
    profile = synthetic([rec("a", rss=100.4), rec("b", "a", order=1, rss=-50),
                         rec("c", "b", order=2, rss=7.5), rec("d", "a", order=3, rss=3.0,
                                                              thread="9"),
                         rec("e", order=4, rss=0.0)], [rec("x", rss=5.0)], [rec("y")])
    document = json.loads(speedscope.render_speedscope(profile))
    validator("speedscope-file-format-schema.json").validate(document)
    names = [frame["name"] for frame in document["shared"]["frames"]]
    memory = {p["name"]: {names[f]: v for f, v in replay_bytes(p).items()}
              for p in document["profiles"] if p["unit"] == "bytes"}
    assert memory == {
        "pid 100: import memory (self RSS)": {"a": (100, 108), "b": (0, 8), "c": (8, 8),
                                              "e": (0, 0), "d": (3, 3)},
        "pid 101: import memory (self RSS)": {"x": (5, 5)}}


def test_folded_stacks_of_a_deep_tree_are_refused_in_one_line(tmp_path):
    """Each folded line holds its module's whole chain: a chain of 20,000 modules made 2 GB
    in 140 s and 5 GB of memory. The size is now known first, and too much is an error."""
    path = tmp_path / "deep.json"
    path.write_text(render_json(chain(12_000)))
    out = tmp_path / "deep.folded"
    message = one_line_error(run_hotstart("report", str(path), "--format", "folded", "-o",
                                          str(out)))
    assert "12,000 levels deep" in message and "--format speedscope" in message
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["deep.json"]


def test_the_folded_size_check_is_exact(monkeypatch):
    """The size computed up front is the output's length to the character: at the limit the
    output is written, one character below it refused."""
    profile = synthetic([rec("a"), rec("b", "a", order=1), rec("c", "b", order=2, thread="7"),
                         rec("x 12", "a", order=3, rss=9.0), rec("z", order=4, self_us=0)],
                        [rec("n;%\n", rss=5.0)])
    for metric in ("time", "memory"):
        text = folded.render_folded(profile, metric=metric)
        assert read_folded(text)
        monkeypatch.setattr(folded, "MAX_FOLDED_CHARS", len(text))
        assert folded.render_folded(profile, metric=metric) == text
        monkeypatch.setattr(folded, "MAX_FOLDED_CHARS", len(text) - 1)
        with pytest.raises(BadInput, match="would take"):
            folded.render_folded(profile, metric=metric)
        monkeypatch.setattr(folded, "MAX_FOLDED_CHARS", 256 << 20)


# -- the page in a browser ------------------------------------------------------------------

class Page:
    """A report open in Chromium, with what it did: errors, dialogs, requests."""

    def __init__(self, browser, path, init_script: str | None = None) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.problems: list[str] = []
        self.requests: list[str] = []
        self.url = path.as_uri()
        page = self.page
        page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: self.problems.append(str(error)))
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("dialog", lambda dialog: (self.problems.append(dialog.message),
                                          dialog.dismiss()))
        if init_script:
            page.add_init_script(init_script)
        page.goto(self.url)
        page.wait_for_selector("body[data-ready='1']", timeout=30_000)

    def js(self, script: str, arg: Any = None) -> Any:
        return self.page.evaluate(script, arg)

    def elements(self, selector: str = "*") -> int:
        return self.js("s => document.querySelectorAll(s).length", selector)

    def assert_clean(self) -> None:
        assert self.problems == [] and self.requests == [self.url]
        assert self.js("window.pwned || null") is None


@pytest.fixture
def open_page(browser, tmp_path):
    opened: list[Page] = []

    def open_(text: str, init_script: str | None = None) -> Page:
        path = tmp_path / f"report{len(opened)}.html"
        path.write_text(text, encoding="utf-8")
        opened.append(Page(browser, path, init_script))
        return opened[-1]

    yield open_
    for page in opened:
        page.context.close()


#: What each field of profile and audit holds in the hostile page: markup, script, URLs,
#: template syntax, and the names of Object.prototype's properties.
PAYLOADS = ['<img src=x onerror="window.pwned=1">', "</script><script>window.pwned=2</script>",
            "javascript:window.pwned=3", '"><svg onload=window.pwned=4>', "${window.pwned=5}",
            "{{constructor.constructor('window.pwned=6')()}}", "__proto__", "constructor",
            "toString", "hasOwnProperty", "<!--<script>",
            'x"] {background:url(http://127.0.0.1:9/)}', "@import url(http://127.0.0.1:9/x.css);",
            '<meta http-equiv=refresh content="0;url=/x">', "<base href=http://127.0.0.1:9/>",
            "a\u2028b\u2029c", "nul\x00x", "\u202eevil", ""]


def display(text: str) -> str:
    """`text` as the page shows it: control and bidi characters as \\u escapes."""
    return re.sub("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]",
                  lambda m: f"\\u{ord(m.group()):04x}", text)


def hostile_everywhere() -> tuple[Profile, Profile, AuditReport]:
    """Every string a page shows is a payload: names, files, sites, kinds, statuses,
    distributions, threads, argv, python, notes, stderr, hot calls, the audit's fields."""
    def process(tag: str, pid: int) -> ProcessProfile:
        modules = [module("root", None, 0, 500.0, self_rss=Stat.exact(4096.0))]
        for i, text in enumerate(PAYLOADS, 1):
            modules.append(module(text + tag, "root" if i % 3 else "nowhere" + text, i,
                                  thread=text if i % 5 == 0 else "main", file=text,
                                  kind=text if i % 2 else "stdlib", distribution=text,
                                  site=f"{text}:{i}", status=text if i % 6 == 0 else "ok",
                                  bytecode=text, self_rss=Stat.exact(1000.0 * i)))
        calls = [HotCall(text, text, 1, 1, 1.0, 50.0) for text in PAYLOADS]
        edges = [ImportEdge(text, m.name, text + ":1") for text in PAYLOADS for m in modules[:3]]
        return ProcessProfile(argv=PAYLOADS, python=PAYLOADS[0], executable=PAYLOADS[1],
                              wall_us=Stat.exact(9e3), modules=modules, pid=pid,
                              hot_calls=calls, profiling_import_us=9e3, edges=edges,
                              complete=pid != 11)
    after = Profile(target=PAYLOADS, python=PAYLOADS[1], engine=PAYLOADS[2], runs=1, warmup=0,
                    wall_us=None, floor_us=None, processes=[process("", 10), process("-b", 11)],
                    exit_code=-9, stderr_tail=PAYLOADS, notes=PAYLOADS, created=PAYLOADS[3])
    before = Profile(target=PAYLOADS[::-1], python="3", engine="tracer", runs=1, warmup=0,
                     wall_us=None, floor_us=None, processes=[process("-old", 12)],
                     created=PAYLOADS[0])
    sites = [ImportSite(file=text, module=text, line=i, end_line=i, statement=text,
                        imported=PAYLOADS[(i + 1) % len(PAYLOADS)] if i % 2 else "ghost" + text,
                        names=[], kind=text, guard=text, klass=text, reason=text, fix=text,
                        savings=[Saving(text, 10.0 * i, 4096, 1, PAYLOADS)])
             for i, text in enumerate(PAYLOADS)]
    audit = AuditReport(root=PAYLOADS[0], package=PAYLOADS[1], files=1, sites=sites,
                        hotspots=[HotSpot(t, t, 1, t, t, t, t, PAYLOADS) for t in PAYLOADS],
                        errors=PAYLOADS, notes=PAYLOADS)
    return after, before, audit


def test_a_page_hostile_in_every_field_runs_nothing_and_counts_classes_right(open_page):
    """Nothing from the data runs or loads (this held); but the audit's class buttons counted
    with a plain object: a class "constructor" read "constructor (function Object() { [native
    code] }1)" and a class "__proto__" had no button. And a class "" was the "all" button."""
    after, before, audit = hostile_everywhere()
    page = open_page(render_html(after, audit=audit, before=before, title="".join(PAYLOADS)))
    assert page.elements("img, iframe, object, embed, svg, base, meta[http-equiv=refresh]") == 0
    assert page.js("document.scripts.length") == 2
    buttons = page.js("[...document.querySelectorAll('#audit-classes button')]"
                      ".map(b => b.textContent)")
    assert buttons[0] == f"all ({len(PAYLOADS)})"
    assert sorted(buttons[1:]) == sorted(f"{display(text)} (1)" for text in PAYLOADS)
    for text in ("constructor", "__proto__", ""):
        page.js("text => [...document.querySelectorAll('#audit-classes button')]"
                ".find(b => b.textContent === `${text} (1)`).click()", text)
        assert page.js("[...document.querySelectorAll('#audit-table tbody tr')]"
                       ".map(r => r.dataset.klass)") == [text]
    # Click through the page with every payload on it: processes, rows, chains, the diff.
    page.page.locator('#diff-changes button[data-change="removed"]').click()
    page.page.locator("#diff-table tbody tr").first.click()
    page.page.locator("#processes button.proc").nth(1).click()  # the before has no process 1
    assert "The before profile has no process 1." in page.page.locator("#diff").inner_text()
    for row in range(5):
        page.page.locator("#module-table tbody tr").nth(row).click()
        page.page.locator("#chain-list button.modlink").first.click()
    page.page.fill("#chart-search", "<")
    page.page.press("#chart-search", "Enter")
    page.assert_clean()


def test_the_diff_says_how_its_before_profile_failed(open_page):
    """The page warned of a failed, timed-out or partial profile only for the after one: a
    diff against a crashed before run, with another number of processes, said nothing."""
    after = profile_of([module("app", None, 0), module("json", "app", 1)])
    before = profile_of([module("app", None, 0, status="error:ImportError")], [], exit_code=3)
    before.processes[1].complete = False
    page = open_page(render_html(after, before=before))
    text = page.page.locator("#diff-before").inner_text()
    assert "its target exited with code 3" in text
    assert "1 process ended before reporting" in text
    assert "it has 2 processes, the after 1" in text
    page.assert_clean()
    timed_out = open_page(render_html(after, before=profile_of([module("app", None, 0)],
                                                               timed_out=True)))
    assert "its target timed out" in timed_out.page.locator("#diff-before").inner_text()
    same = open_page(render_html(after, before=after))
    assert same.elements("#diff-before") == 0


def huge_lists() -> tuple[Profile, AuditReport]:
    """Each list the page shows, longer than it shows at once: kinds, hot calls, notes,
    processes, threads, audit classes and hot spots, sites of one module, a dotted name of
    20,000 parts."""
    dotted = ".".join(["a"] * 20_000)
    modules = [module("root", None, 0, 9e3), module(dotted, "root", 1, 5e3)]
    modules += [module(f"m{i}", "root", i + 2, kind=f"kind{i}") for i in range(300)]
    modules += [module(f"t{i}", None, 400 + i, thread=f"thread{i}") for i in range(300)]
    profile = profile_of(modules, *[[module("x", None, 0)] for _ in range(700)],
                         notes=[f"note {i}" for i in range(1000)])
    for process in profile.processes[1:]:
        process.complete = False
    profile.main.hot_calls = [HotCall(f"f{i}", "f.py", i, 1, 1.0, 2.0) for i in range(1000)]
    profile.main.edges = [ImportEdge("root", dotted, "/app.py:1")]
    sites = [ImportSite(file="a.py", module="a", line=i, end_line=i, statement="import root",
                        imported="root", names=[], klass=f"class{i % 500}") for i in range(1500)]
    audit = AuditReport(root="/", package=None, files=1, sites=sites,
                        hotspots=[HotSpot("a.py", "a", i, "c", "k", "w", "a") for i in range(900)],
                        notes=[f"n{i}" for i in range(500)])
    return profile, audit


def test_huge_lists_open_with_a_bounded_dom(open_page):
    """Every list was drawn whole when the page opened: 100,000 distinct kinds took 12 s (and
    `includes` per kind was quadratic), 100,000 hot calls did not load in 30 s, 100,000 audit
    classes not in 120 s, a module name of a million dots hung it (two million elements)."""
    profile, audit = huge_lists()
    page = open_page(render_html(profile, audit=audit))
    assert page.elements() < 12_000  # the hot calls alone made 15,000 elements
    assert page.elements("#legend .kind") == 40 and page.elements("#module-kind option") == 42
    assert page.elements("#hot-table tr.hot-call") == 200
    assert page.elements("#notes li") == 200 and page.elements("#processes button.proc") == 200
    assert page.elements("#audit-classes button") == 1 + 40
    assert page.elements("#audit-table tbody tr") == 200
    assert page.elements(".hotspots li") == 200
    assert page.elements("#module-table .n wbr") < 1_000  # the dotted name is one text
    assert "… 261 more" in page.page.locator("#facts").inner_text()  # of 301 threads
    assert "Process 1 (pid 101), " in page.page.locator("#failed").inner_text()
    # Each "more" button shows the next page.
    for button, selector, shown in [("#hot-more", "#hot-table tr.hot-call", 400),
                                    ("#notes-more", "#notes li", 400),
                                    ("#processes-more", "#processes button.proc", 400),
                                    ("#hotspots-more", ".hotspots li", 400)]:
        page.page.click(button)
        assert page.elements(selector) == shown, button
    # The module of 1,500 import sites lists the first 40 in its details.
    page.js("name => window.hotstart.select(name)", "root")
    assert page.elements("#details-body .sites li") == 40
    assert "1460 more in the audit below" in page.page.locator("#details-body").inner_text()
    page.assert_clean()


#: Counts the lookups of long strings in Maps, which cost their length each.
COUNT_LONG_LOOKUPS = """
window.longLookups = 0;
const has = Map.prototype.has;
Map.prototype.has = function (key) {
  if (typeof key === "string" && key.length > 1000) window.longLookups++;
  return has.call(this, key);
};
"""


def test_the_chains_of_a_name_of_many_dots_look_up_few_prefixes(open_page):
    """The chain finder looked up every prefix of an imported name at a dot, joined from its
    parts: a name of 500,000 dots took 240 s in Chromium the first time a module was picked
    (each lookup hashes the whole prefix).
    Now only prefixes as long as some module's name are looked up, once per name."""
    dotted = ".".join(["a"] * 2_000)  # (why.py is quadratic in it too: 20,000 took it 4 s)
    modules = [module("root", None, 0, 500.0), module("a", "root", 1),
               module(dotted, "a", 2, 300.0)]
    profile = profile_of(modules)
    profile.main.edges = [ImportEdge("root", dotted, "/app.py:1"), ImportEdge("a", dotted, "a:1"),
                          ImportEdge("__main__", "root", "/main.py:1")]
    page = open_page(render_html(profile), init_script=COUNT_LONG_LOOKUPS)
    found = page.js("""name => { window.longLookups = 0;
        const got = window.hotstart.chains(0, name); return [window.longLookups, got.shown
        .map(c => c.map(l => [l.importer, l.module === name ? 'dotted' : l.module]))]; }""",
                    dotted)
    lookups, chains = found
    assert lookups < 5  # was 1,500: every prefix of 1,000 characters or more
    tree = ImportTree(profile.main)
    for name in ("a", "root", dotted):  # the same chains as `--why` finds
        want = [[(link.importer, link.module) for link in c]
                for c in find_chains(tree, name, 25).shown]
        got = page.js("name => window.hotstart.chains(0, name).shown"
                      ".map(c => c.map(l => [l.importer, l.module]))", name)
        assert [[tuple(link) for link in c] for c in got] == want, name
    assert len(chains) == 2  # the first load through `a`, and the edge from root
    page.assert_clean()


def test_negative_self_times_count_zero_in_the_chart(open_page):
    """The chart summed self times as measured: a module of negative self time (noise, or a
    hostile -1e18) made its importer's width negative, so the whole tree was left undrawn and
    the negative module filled the chart. They count 0, as in the other formats."""
    profile = profile_of([module("root", None, 0, -100.0), module("a", "root", 1, 50.0),
                          module("b", "root", 2, -500.0), module("c", "b", 3, 30.0),
                          module("d", None, 4, -1e18)])
    page = open_page(render_html(profile))
    page.page.click('#chart-metric button[data-metric="self"]')
    nodes = page.js("""Object.fromEntries([...document.querySelectorAll('#chart .node')]
        .map(e => [e.dataset.module || 'all', parseFloat(e.style.width)]))""")
    assert nodes == {"all": 100, "root": 100, "a": pytest.approx(62.5),
                     "b": pytest.approx(37.5), "c": pytest.approx(37.5)}
    assert page.page.locator("#chart .node").first.inner_text() == "all 0.08 ms"
    page.assert_clean()
