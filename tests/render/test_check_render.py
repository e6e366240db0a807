"""The `hotstart check` renderers (text, GitHub, Markdown, JUnit) on reports built by hand."""

from __future__ import annotations

import json
import math
import re
import xml.etree.ElementTree as ET

import pytest

from hotstart.check.model import (
    CheckReport,
    EntryResult,
    Judgement,
    ModuleFinding,
    Step,
)
from hotstart.render.check import render_check_text, summary_line
from hotstart.render.check_github import (
    escape_data,
    escape_property,
    render_check_github,
)
from hotstart.render.check_junit import render_check_junit
from hotstart.render.check_markdown import render_check_markdown

RENDERERS = [render_check_text, render_check_github, render_check_markdown, render_check_junit]
HOSTILE = "a|b`c<d>&e,f:g%h\ni\x1bj\x00k\u202el\ud800"


def judgement(name: str, median: float, low: float, high: float, limit: float, verdict: str,
              unit: str = "ms", **extra) -> Judgement:
    return Judgement(name=name, unit=unit, median=median, low=low, high=high, limit=limit,
                     verdict=verdict, rounds=20, confidence=0.95, **extra)


def chain(*steps: tuple[str, str | None]) -> list[Step]:
    return [Step(module, site) for module, site in steps]


PANDAS = ModuleFinding("pandas", chain(("pkg.cli", None), ("pkg.data", "src/pkg/cli.py:5"),
                                       ("pandas", "src/pkg/data.py:3")),
                       rule="pandas", covers=250)
YAML = ModuleFinding("yaml", chain(("pkg.cli", None), ("pkg.conf", "src/pkg/cli.py:7"),
                                   ("yaml", "src/pkg/conf.py:1")))
SIX = ModuleFinding("six", chain(("pkg.cli", None), ("dateutil", "/venv/dateutil/__init__.py:2"),
                                 ("six", "<frozen importlib._bootstrap>:1")))


def passing() -> EntryResult:
    return EntryResult(name="import", run="-c 'import pkg'", python="3.11", modules=312,
                       lock="ok", judgements=[judgement("time", 41.2, 39.8, 43.0, 150, "pass")],
                       notes=["a note"])


def failing() -> EntryResult:
    return EntryResult(
        name="cli-help", run="-m pkg.cli --help", python="3.11", verdict="fail", modules=700,
        max_modules=600, lock="changed", forbidden=[PANDAS], added=[YAML, SIX],
        removed=[f"old{i}" for i in range(13)], baseline_modules=650,
        judgements=[judgement("time", 212.0, 205.1, 219.3, 150, "fail"),
                    judgement("rss", 58.0, 50.0, 66.0, 60, "inconclusive", unit="MB"),
                    judgement("time vs baseline", 30.0, 25.0, 35.0, 10.0, "fail",
                              baseline=182.0, value=212.0)],
        notes=["first round was cold"])


def report(*entries: EntryResult, **extra) -> CheckReport:
    return CheckReport(config="pyproject.toml", root="/proj", python="3.11.7",
                       entries=list(entries), **extra)


def full() -> CheckReport:
    return report(
        passing(), failing(),
        EntryResult(name="worker", run="-m pkg.worker", python="3.11", verdict="inconclusive",
                    modules=100, judgements=[judgement("time", 148.0, 140.0, 160.0, 150,
                                                       "inconclusive")]),
        EntryResult(name="legacy", run="-m pkg.legacy", python="3.11", verdict="skipped",
                    reason="python-versions <3.11"),
        EntryResult(name="broken", run="-m pkg.broken", python="3.11", verdict="error",
                    reason="exit status 1: No module named 'pkg.broken'"),
        baseline="main")


def hostile() -> CheckReport:
    finding = ModuleFinding(HOSTILE, chain(("pkg" + HOSTILE, None), (HOSTILE, "src/we,ird:d/m.py:9")),
                            rule=HOSTILE)
    entry = EntryResult(name=HOSTILE, run=HOSTILE, python="3.11", verdict="fail", modules=3,
                        lock="changed", forbidden=[finding], added=[finding], removed=[HOSTILE],
                        judgements=[judgement(HOSTILE, 1.0, 0.5, 1.5, 0.1, "fail"),
                                    judgement(HOSTILE, 1.0, 0.5, 1.5, 1.2, "inconclusive")],
                        reason=HOSTILE, notes=[HOSTILE, "<script>alert(1)</script> @team"])
    skipped = EntryResult(name="s" + HOSTILE, run="x", python="3.11", verdict="skipped",
                          reason=HOSTILE)
    error = EntryResult(name="e" + HOSTILE, run="x", python="3.11", verdict="error",
                        reason=HOSTILE, notes=[HOSTILE])
    return CheckReport(config=HOSTILE, root="/p", python=HOSTILE, entries=[entry, skipped, error],
                       baseline=HOSTILE)


# --- text --------------------------------------------------------------------------------

def test_text_passing_report():
    out = render_check_text(report(passing()))
    lines = out.splitlines()
    assert lines[0] == "hotstart check: pyproject.toml · Python 3.11.7 · 1 entry"
    assert lines[1] == "PASS  import  312 modules, lock ok, time 41.2 ms [39.8, 43.0] <= 150 ms"
    assert lines[-1] == "pass: 1 passed, 0 failed, 0 inconclusive, 0 skipped"
    assert "a note" not in out and "above the floor" not in out  # only with verbose

    verbose = render_check_text(report(passing()), verbose=True)
    assert "      time: 41.2 ms above the floor [39.8, 43.0], budget 150 ms: pass" in verbose
    assert "      note: a note" in verbose.splitlines()


def test_text_header_baseline_and_no_timing():
    first = render_check_text(report(passing(), passing(), baseline="main", timing=False))
    assert first.splitlines()[0] == ("hotstart check: pyproject.toml · Python 3.11.7 · 2 entries "
                                     "· baseline main · no timing")


def test_text_failing_report():
    out = render_check_text(full())
    lines = out.splitlines()
    assert lines[0].endswith("· 5 entries · baseline main")
    assert lines[2] == ("FAIL  cli-help  forbidden pandas; 2 modules not in the lock; "
                        "700 modules > 600; time over its limit; time vs baseline over its limit")
    start = lines.index(lines[2]) + 1
    assert lines[start:start + 5] == [
        "      forbidden pandas (rule 'pandas', +250 loaded with it): pkg.cli -> pkg.data -> pandas",
        "        imported at src/pkg/data.py:3",
        "      added yaml: pkg.cli -> pkg.conf -> yaml",
        "        imported at src/pkg/conf.py:1",
        "      added six: pkg.cli -> dateutil -> six",  # no project site: no origin line
    ]
    at = next(i for i, line in enumerate(lines) if "old0" in line)
    removed = "\n".join(lines[at:at + 2])
    assert removed.startswith("      removed (an improvement; hotstart check --update accepts): "
                              "old0, old1,")
    assert removed.endswith("old9 and 3 more") and "old10" not in removed
    assert "      time: 212.0 ms above the floor [205.1, 219.3], budget 150 ms: fail" in lines
    assert "      rss: 58.0 MB above the floor [50.0, 66.0], budget 60 MB: inconclusive" in lines
    assert "      note: first round was cold" in lines
    assert "WARN  worker    inconclusive: time 148.0 ms [140.0, 160.0] vs 150 ms" in lines
    assert "SKIP  legacy    python-versions <3.11" in lines
    assert "ERROR broken    exit status 1: No module named 'pkg.broken'" in lines
    assert lines[-1] == "fail: 1 passed, 1 failed, 1 inconclusive, 1 skipped, 1 error"
    assert lines[-1] == summary_line(full())
    # one summary line per entry
    labels = [line.split()[0] for line in lines[1:-1] if line and not line.startswith(" ")]
    assert labels == ["PASS", "FAIL", "WARN", "SKIP", "ERROR"]


def test_text_wraps_a_long_chain_within_100_columns():
    steps = [(f"pkg.layer{i:02d}.module", f"src/pkg/layer{i:02d}.py:{i + 1}") for i in range(60)]
    entry = EntryResult(name="deep", run="x", python="3.11", verdict="fail",
                        forbidden=[ModuleFinding("pkg.layer59.module", chain(*steps))])
    lines = render_check_text(report(entry)).splitlines()
    detail = [line for line in lines if line.startswith("      ")]
    assert all(len(line) <= 100 for line in detail), detail
    joined = " ".join(line.strip() for line in detail[:-1])
    assert joined.split(": ", 1)[1].split(" -> ") == [module for module, _ in steps]
    assert detail[-1] == "        imported at src/pkg/layer59.py:60"


def test_text_escapes_hostile_strings_one_line_each():
    out = render_check_text(hostile(), verbose=True)
    for char in "\x1b\x00\u202e\ud800":
        assert char not in out
    assert "\\x1b" in out and "\\u202e" in out
    lines = out.splitlines()
    assert lines[0].startswith("hotstart check: a|b`c<d>&e,f:g%h\\ni\\x1bj\\x00k\\u202el\\ud800 ·")
    assert sum(1 for line in lines if line.startswith(("FAIL ", "SKIP ", "ERROR "))) == 3
    out.encode("utf-8")  # no lone surrogate left


# --- GitHub ------------------------------------------------------------------------------

def test_github_commands():
    lines = render_check_github(full()).splitlines()
    assert lines[0] == (
        "::error file=src/pkg/data.py,line=3,title=hotstart check cli-help::cli-help: forbidden "
        "module pandas (rule 'pandas', +250 loaded with it)%0Aimport chain: pkg.cli -> pkg.data -> "
        "pandas")
    assert lines[1].startswith("::error file=src/pkg/conf.py,line=1,title=hotstart check "
                               "cli-help::cli-help: yaml added")
    assert lines[2].startswith("::error title=hotstart check cli-help::cli-help: six added")
    assert lines[2].endswith("%0Aimport chain: pkg.cli -> dateutil -> six")
    assert ("::error title=hotstart check cli-help::cli-help: time: 212.0 ms above the floor "
            "[205.1, 219.3], budget 150 ms: fail") in lines
    # the % of the baseline sentence is escaped
    assert any("(+16.5%25) [+25.0, +35.0] over the baseline's 182.0 ms" in line for line in lines)
    assert ("::warning title=hotstart check cli-help::cli-help: rss: 58.0 MB above the floor "
            "[50.0, 66.0], budget 60 MB: inconclusive") in lines
    assert ("::warning title=hotstart check worker::worker: time: 148.0 ms above the floor "
            "[140.0, 160.0], budget 150 ms: inconclusive") in lines
    notice = [line for line in lines if line.startswith("::notice")]
    assert notice == [("::notice title=hotstart check cli-help::cli-help: 13 modules fewer than "
                       "the lock: old0, old1, old2, old3, old4, old5, old6, old7, old8, old9 and 3 "
                       "more (hotstart check --update accepts)")]
    # `:` is escaped in property values only, not in the message
    assert ("::error title=hotstart check broken::broken: did not run: exit status 1: No module "
            "named 'pkg.broken'") in lines
    assert not any("legacy" in line for line in lines)  # skipped: no annotation
    assert lines[-1] == summary_line(full())


def test_github_escaping():
    assert escape_data("50% a,b:c\r\nd") == "50%25 a,b:c%0D%0Ad"
    assert escape_property("50% a,b:c\r\nd") == "50%25 a%2Cb%3Ac%0D%0Ad"

    lines = render_check_github(hostile()).splitlines()
    # every line is a command but the summary: nothing in the data broke a line
    assert all(line.startswith("::") for line in lines[:-1])
    assert lines[-1].startswith("fail: 0 passed, 1 failed")
    escaped_name = "a|b`c<d>&e%2Cf%3Ag%25h\\ni\\x1bj\\x00k\\u202el\\ud800"
    first = lines[0]
    props, message = first.split("::", 2)[1:]
    assert props == ("error file=src/we%2Cird%3Ad/m.py,line=9,"
                     f"title=hotstart check {escaped_name}")
    assert props.count(",") == 2  # file, line, title: no comma of the data left unescaped
    assert message.startswith("a|b`c<d>&e,f:g%25h\\ni\\x1bj\\x00k\\u202el\\ud800: forbidden module")
    assert "%0Aimport chain: " in message
    text = "\n".join(lines)
    for char in "\x1b\x00\r\u202e":
        assert char not in text
    assert any(line.startswith("::warning ") for line in lines)
    assert any(line.startswith("::notice ") for line in lines)
    assert sum(line.startswith(f"::error title=hotstart check e{escaped_name}::") for line in lines) == 1


def test_github_caps_annotations_per_entry():
    added = [ModuleFinding(f"dep{i}", chain(("pkg", None), (f"dep{i}", f"src/pkg/m.py:{i + 1}")))
             for i in range(25)]
    entry = EntryResult(name="big", run="x", python="3.11", verdict="fail", lock="changed",
                        added=added)
    lines = render_check_github(report(entry)).splitlines()
    assert sum(line.startswith("::error file=src/pkg/m.py") for line in lines) == 10
    assert any("15 more modules not in the lock: dep10, dep11" in line for line in lines)


# --- Markdown ----------------------------------------------------------------------------

def split_row(row: str, github: bool) -> list[str]:
    """Cells of a table row, as GitHub reads them (a pipe after any backslash is text) or as
    the GFM spec does (a backslash escapes the next character)."""
    cells, cell, index = [], "", 0
    while index < len(row):
        char = row[index]
        if char == "\\" and index + 1 < len(row) and not github:
            cell += row[index:index + 2]
            index += 2
            continue
        if char == "|" and not (github and cell.endswith("\\")):
            cells.append(cell)
            cell = ""
        else:
            cell += char
        index += 1
    cells.append(cell)
    return cells[1:-1]  # the leading and trailing pipes


def table_rows(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.startswith("|")]


def test_markdown_report():
    out = render_check_markdown(full())
    lines = out.splitlines()
    assert lines[0] == "### hotstart check: fail"
    assert "`pyproject.toml` · Python 3.11.7 · baseline `main`" in out
    rows = table_rows(out)
    assert rows[0] == ("| entry | verdict | modules (before → after) | start-up above floor "
                       "(before → after) | RSS | notes |")
    assert len(rows) == 2 + 5
    for row in rows:
        assert len(split_row(row, github=True)) == 6
        assert len(split_row(row, github=False)) == 6
    cli = split_row(rows[3], github=True)
    assert cli[0].strip() == "`cli-help`"
    assert cli[2].strip() == "650 → 700 **> 600**"
    assert "182.0 → 212.0 ms (+30.0 [+25.0, +35.0], limit +10.0) **fail**" in cli[3]
    assert "forbidden pandas" in cli[5] and "13 fewer than the lock" in cli[5]
    assert split_row(rows[2], github=True)[3].strip() == "41.2 ms [39.8, 43.0], budget 150"
    assert split_row(rows[5], github=True)[5].strip() == "python-versions &lt;3.11"

    assert "<details open><summary><code>cli-help</code>: forbidden pandas;" in out
    assert ("- forbidden `pandas` (rule `pandas`, +250 loaded with it), imported at "
            "`src/pkg/data.py:3`: `pkg.cli -> pkg.data -> pandas`") in lines
    assert "- added `yaml`, imported at `src/pkg/conf.py:1`: `pkg.cli -> pkg.conf -> yaml`" in lines
    assert "- added `six`: `pkg.cli -> dateutil -> six`" in lines
    assert any(line.startswith("- removed (an improvement; `hotstart check --update` accepts)")
               for line in lines)
    assert "<details><summary><code>worker</code>: inconclusive: time</summary>" in lines
    assert out.count("<details") == out.count("</details>") == 2  # not the passing entry


def test_markdown_hostile_strings_do_not_break_the_table():
    out = render_check_markdown(hostile())
    rows = table_rows(out)
    assert len(rows) == 2 + 3
    for row in rows:
        assert len(split_row(row, github=True)) == 6, row
        assert len(split_row(row, github=False)) == 6, row
    for char in "\x1b\x00\u202e\ud800\r":
        assert char not in out
    assert "<script>" not in out and "&lt;script&gt;" in out
    # outside code spans, the only HTML is the renderer's own
    prose = re.sub(r"(?<![\\`])(`+)(?!`).+?(?<!`)\1(?!`)", "", out)  # \` opens no span
    for tag in ("<details open>", "<details>", "</details>", "<summary>", "</summary>", "<code>",
                "</code>"):
        prose = prose.replace(tag, "")
    assert "<" not in prose and ">" not in prose.replace("→", "")
    # a name with a backtick becomes a code span with a longer fence
    assert "``" in out
    # details: the HTML summary escapes the name
    assert "<summary><code>a|b`c&lt;d&gt;&amp;e,f:g%h\\ni" in out


@pytest.mark.parametrize("make", [full, hostile], ids=lambda f: f.__name__)
def test_markdown_as_a_markdown_parser_reads_it(make):
    markdown_it = pytest.importorskip("markdown_it")
    html = markdown_it.MarkdownIt("commonmark", {"html": True}).enable("table").render(
        render_check_markdown(make()))
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.DOTALL)
    assert len(rows) == 1 + len(make().entries)
    assert all(len(re.findall(r"<t[dh][ >]", row)) == 6 for row in rows)
    assert "<script" not in html and "<d>" not in html
    if make is hostile:
        shown = "a|b`c&lt;d&gt;&amp;e,f:g%h\\ni\\x1bj\\x00k\\u202el\\ud800"
        assert f"<td><code>{shown}</code></td>" in html  # the name, exactly as printable shows it
        assert "@\u200bteam" in html  # no @mention


def test_markdown_passing_and_empty_reports():
    out = render_check_markdown(report(passing()))
    assert out.startswith("### hotstart check: pass\n")
    assert "<details" not in out
    empty = render_check_markdown(report())
    assert "No entries were checked." in empty and "| entry |" not in empty


def test_markdown_stays_under_githubs_comment_limit():
    long = "m" * 400
    entries = [EntryResult(name=f"e{i}", run="x", python="3.11", verdict="fail",
                           forbidden=[ModuleFinding(f"{long}{j}", chain((long, "src/a.py:1")))
                                      for j in range(30)])
               for i in range(40)]
    out = render_check_markdown(report(*entries))
    assert len(out) < 65_536
    assert "do not fit in a comment" in out
    assert out.count("<details") == out.count("</details>") >= 1


def test_markdown_elides_the_middle_of_a_very_long_chain():
    steps = [(f"m{i}", None) for i in range(500)]
    entry = EntryResult(name="deep", run="x", python="3.11", verdict="fail",
                        forbidden=[ModuleFinding("m499", chain(*steps))])
    out = render_check_markdown(report(entry))
    assert "`m0 -> m1 -> m2 -> m3 -> … 488 more … -> m492" in out and "m499`" in out


# --- JUnit -------------------------------------------------------------------------------

def junit(report_: CheckReport) -> ET.Element:
    return ET.fromstring(render_check_junit(report_))


def test_junit_counts_and_cases():
    root = junit(full())
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    names = [(case.get("classname"), case.get("name")) for case in cases]
    assert names == [
        ("hotstart.check.import", "forbidden"), ("hotstart.check.import", "lock"),
        ("hotstart.check.import", "time"),
        ("hotstart.check.cli-help", "forbidden"), ("hotstart.check.cli-help", "lock"),
        ("hotstart.check.cli-help", "max-modules"), ("hotstart.check.cli-help", "time"),
        ("hotstart.check.cli-help", "rss"), ("hotstart.check.cli-help", "time vs baseline"),
        ("hotstart.check.worker", "forbidden"), ("hotstart.check.worker", "time"),
        ("hotstart.check.legacy", "run"), ("hotstart.check.broken", "run"),
    ]
    failures = [case for case in cases if case.find("failure") is not None]
    assert [case.get("name") for case in failures] == ["forbidden", "lock", "max-modules", "time",
                                                       "time vs baseline"]
    for element in (root, suite):
        assert element.get("tests") == str(len(cases)) == "13"
        assert element.get("failures") == "5"
        assert element.get("errors") == "1"
        assert element.get("skipped") == "1"
    forbidden = failures[0].find("failure")
    assert forbidden.get("message") == "forbidden pandas"
    assert "pkg.cli -> pkg.data -> pandas" in forbidden.text
    assert "imported at src/pkg/data.py:3" in forbidden.text
    lock = failures[1].find("failure")
    assert lock.get("message") == "2 modules not in the lock"
    assert "yaml: pkg.cli -> pkg.conf -> yaml\n  imported at src/pkg/conf.py:1" in lock.text
    assert "old12" in failures[1].find("system-out").text
    assert cases[-2].find("skipped").get("message") == "python-versions <3.11"
    assert cases[-1].find("error").get("message") == "exit status 1: No module named 'pkg.broken'"
    assert "inconclusive" in cases[10].find("system-out").text
    assert cases[10].find("failure") is None


def test_junit_hostile_strings_parse_without_control_chars():
    text = render_check_junit(hostile())
    for char in "\x00\x1b\x0b\ud800\ufffe":
        assert char not in text
    root = ET.fromstring(text)
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == int(suite.get("tests")) == 6  # forbidden, lock, 2 judgements, skip, error
    assert int(suite.get("failures")) == len(suite.findall("testcase/failure")) == 3
    assert int(suite.get("skipped")) == len(suite.findall("testcase/skipped")) == 1
    assert int(suite.get("errors")) == len(suite.findall("testcase/error")) == 1
    assert cases[0].get("classname").startswith("hotstart.check.a|b`c<d>&e,f:g%h\\ni\\x1bj")


def test_junit_xml_text_strips_what_xml_cannot_hold():
    from hotstart.render.check_junit import xml_text
    assert xml_text("a\x00b\x08c\td\ne\rf\x1bg\ud800h\ufffei\U0001f600") == "abc\td\ne\rfgh" + "i\U0001f600"


def test_junit_empty_report():
    root = junit(report())
    assert root.find("testsuite").get("tests") == "0"


# --- every renderer ----------------------------------------------------------------------

def odd() -> CheckReport:
    """Data the engine should not produce, which still must not crash a renderer."""
    return report(
        EntryResult(name="", run="", python="", verdict="fail"),  # failed on nothing named
        EntryResult(name="nan", run="x", python="3.11", verdict="pass",
                    judgements=[judgement("time", math.nan, math.nan, math.inf, 0.0, "pass"),
                                judgement("time vs baseline", 1.0, 0.5, 1.5, 0.0, "pass",
                                          baseline=0.0),
                                Judgement("rss", "MB", None, None, None, None, "pass", 0, 0.0,
                                          baseline=None)]),  # type: ignore[arg-type]
        EntryResult(name="nosite", run="x", python="3.11", verdict="fail", lock="missing",
                    forbidden=[ModuleFinding("x"), ModuleFinding("y", [Step("y", None)]),
                               ModuleFinding("z", [Step("z", "no-line-number")])]),
        EntryResult(name="weird", run="x", python="3.11", verdict="bogus"),  # type: ignore
    )


@pytest.mark.parametrize("render", RENDERERS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("make", [full, hostile, odd, report], ids=lambda f: f.__name__)
def test_renderers_never_raise(render, make):
    out = render(make())
    assert isinstance(out, str) and out.endswith("\n")
    out.encode("utf-8")
    if render is render_check_junit:
        ET.fromstring(out)


def test_odd_data():
    text = render_check_text(odd())
    assert text.splitlines()[1] == "FAIL          failed"  # no name, padded to 'nosite'
    assert "no lock for Python 3.11" in text
    assert "      forbidden x: x" in text.splitlines()
    github = render_check_github(odd())
    assert "::error title=hotstart check ::: failed" in github.splitlines()
    root = ET.fromstring(render_check_junit(odd()))
    assert [c.get("name") for c in root.iter("testcase")][:2] == ["forbidden", "verdict"]


def test_to_dict_round_trips_through_json():
    original = full()
    data = original.to_dict()
    assert json.loads(json.dumps(data)) == data
    assert data["schema"] == "hotstart.check/1" and data["verdict"] == "fail"
    cli = data["entries"][1]
    assert cli["forbidden"][0]["origin"] == {"path": "src/pkg/data.py", "line": 3}
    assert cli["added"][1]["origin"] is None
    hostile_data = hostile().to_dict()
    assert json.loads(json.dumps(hostile_data)) == hostile_data
