"""`render_html` without a browser: one self-contained file, data that no value can break out
of, a policy that forbids every request, the embedded data faithful to the profile, a small
page. (test_html_report.py opens the pages in Chromium.)"""

from __future__ import annotations

import base64
import hashlib
import html
import json
import math
import re
from importlib import resources

import pytest
from helpers import full_profile, make_process, make_profile, module
from html_profiles import HOSTILE, hostile_profile, large_profile

from hotstart.measure.diff import diff_profiles
from hotstart.measure.model import CrossCheck, Profile
from hotstart.render._html_data import report_data
from hotstart.render.html import render_html

ASSETS = resources.files("hotstart.render").joinpath("_html")


def embedded(page: str) -> dict:
    """The JSON of the page's data element, as the page's script reads it."""
    match = re.search(r'<script type="application/json" id="data">(.*?)</script>', page, re.DOTALL)
    assert match is not None
    return json.loads(match.group(1))


def scripts(page: str) -> list[str]:
    return re.findall(r"<script[^>]*>(.*?)</script>", page, re.DOTALL)


def test_the_page_inlines_everything_and_fetches_nothing():
    page = render_html(full_profile())
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    # No attribute points anywhere but at the page itself or inline data.
    targets = re.findall(r'\b(?:src|href|action|srcset)\s*=\s*["\']?([^"\' >]*)', page)
    assert targets == ["data:,"]  # the empty icon, so no browser asks the network for one
    script = ASSETS.joinpath("report.js").read_text()
    style = ASSETS.joinpath("report.css").read_text()
    assert f"<script>{script}</script>" in page and f"<style>{style}</style>" in page
    for asset in (script, style):
        assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}/|@import|url\(", asset,
                             re.IGNORECASE)


def test_the_policy_forbids_requests_and_admits_only_the_inlined_code():
    page = render_html(full_profile())
    policy = html.unescape(re.search(r'http-equiv="Content-Security-Policy" content="([^"]*)"',
                                     page).group(1))
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'none'"
    assert directives["img-src"] == "data:" and directives["base-uri"] == "'none'"
    code = scripts(page)[1]
    style = re.search(r"<style>(.*?)</style>", page, re.DOTALL).group(1)

    def digest(text: str) -> str:
        return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"
    assert directives["script-src"] == digest(code)
    assert directives["style-src"] == digest(style)
    assert "unsafe" not in policy


def test_the_script_never_builds_html_from_strings():
    script = ASSETS.joinpath("report.js").read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(",
                 "new Function", "setAttribute(\"on", "fetch(", "XMLHttpRequest", "import("):
        assert sink not in script, sink


def test_the_script_and_style_stay_small():
    total = sum(len(ASSETS.joinpath(name).read_bytes()) for name in ("report.js", "report.css"))
    assert total < 48_000  # the page's own code only (about 44 KB): no library, no build step


def test_no_value_can_break_out_of_the_data():
    profile, audit = hostile_profile()
    surrogate = "bad\ud800name"
    profile.processes[0].modules[1].file = surrogate
    page = render_html(profile, audit=audit, before=profile, title="</title><b>" + surrogate)
    # Only the page's own two scripts open and close; no comment or CDATA begins.
    assert page.lower().count("<script") == 2 and page.lower().count("</script") == 2
    assert "<!--" not in page and "]]>" not in page
    assert "\u2028" not in page and "\u2029" not in page
    page.encode("utf-8")  # no lone surrogate left: the file can be written
    assert "<title>&lt;/title&gt;&lt;b&gt;bad\\ud800name</title>" in page
    data = embedded(page)
    names = [data["s"][i] for i in data["processes"][0]["m"]["name"]]
    assert set(HOSTILE) <= set(names)
    assert surrogate in data["s"]  # read back exactly, from its \\ud800 escape
    assert data["title"] == "</title><b>" + surrogate


def test_the_embedded_data_round_trips():
    profile = full_profile()
    page = render_html(profile, title="t")
    assert embedded(page) == json.loads(json.dumps(report_data(profile, title="t")))


def test_modules_are_stored_column_by_column_with_each_string_once():
    profile = full_profile()
    data = report_data(profile)
    strings = data["s"]
    assert len(strings) == len(set(strings))
    for process, stored in zip(profile.processes, data["processes"]):
        columns = stored["m"]
        assert {len(column) for column in columns.values()} == {len(process.modules)}
        for index, record in enumerate(process.modules):
            assert strings[columns["name"][index]] == record.name
            kind = data["kinds"][columns["kind"][index]]
            assert kind == record.kind
            path, line = columns["site_path"][index], columns["site_line"][index]
            site = None if path < 0 else strings[path] if line < 0 else f"{strings[path]}:{line}"
            assert site == record.site
            assert columns["self"][index] == pytest.approx(record.self_us.median, abs=0.05)
            assert columns["cum_hi"][index] == pytest.approx(record.cumulative_us.max, abs=0.05)
        # Edges: importer, imported, site path, line; four numbers each.
        assert len(stored["edges"]) == 4 * len(process.edges)
    assert data["processes"][1]["wall"] is None  # a child with no wall time


def test_memory_columns_only_when_measured():
    with_memory = report_data(make_profile())
    assert "self_rss" in with_memory["processes"][0]["m"]
    plain = make_process([module("a", None, 0, self_ms=1, cum_ms=1)])
    without = report_data(make_profile([plain]))
    assert "self_rss" not in without["processes"][0]["m"]


def test_hot_calls_carry_their_estimate_and_share():
    profile = full_profile()
    process = profile.main
    call = report_data(profile)["processes"][0]["hot"][0]
    estimate = process.estimate_us(process.hot_calls[0])
    assert call["function"] == "app.log:get_logger"
    assert call["estimate"] == pytest.approx(estimate, abs=0.05)
    assert call["share"] == pytest.approx(estimate / process.import_us)
    assert [c[0] for c in call["callers"]] == ["app.config", "app.jobs"]


def test_the_diff_lists_what_diff_profiles_finds():
    before = make_profile()
    after = make_profile()
    after.processes[0].modules = [m for m in after.main.modules if m.name != "json.scanner"]
    after.processes[0].modules.append(module("yaml", None, 11, self_ms=4, cum_ms=4,
                                             kind="third-party"))
    data = report_data(after, before=before)
    rows = data["diff"]["processes"][0]["rows"]
    changes = {data["s"][n]: ("added", "removed", "changed")[c]
               for n, c in zip(rows["name"], rows["change"])}
    diff = diff_profiles(before, after)
    assert {n for n, c in changes.items() if c == "added"} == {c.name for c in diff.added} == {
        "yaml"}
    assert {n for n, c in changes.items() if c == "removed"} == {"json.scanner"}
    assert len(changes) == len(diff.added) + len(diff.removed) + len(diff.changed)
    labels = [row[0] for row in data["diff"]["processes"][0]["totals"]]
    assert labels == [row[0] for row in diff.totals()]


def test_figures_json_cannot_hold_are_left_out():
    profile = make_profile(cross_check=CrossCheck(3, 9, math.nan, math.inf))
    data = embedded(render_html(profile))
    assert data["profile"]["cross_check"]["pearson"] is None
    assert data["profile"]["cross_check"]["spearman"] is None


def test_a_profile_with_no_process_renders():
    profile = make_profile([], exit_code=2)
    data = embedded(render_html(profile))
    assert data["processes"] == [] and data["profile"]["failed"]


def test_rendering_is_pure():
    profile, audit = hostile_profile()
    assert render_html(profile, audit=audit) == render_html(profile, audit=audit)


def test_the_example_report_is_small(jobrunner_profile):
    profile = Profile.from_json(jobrunner_profile.read_text())
    page = render_html(profile)
    assert len(page.encode()) < 600_000
    # Much smaller than the profile it draws: columns and a string table.
    assert len(page.encode()) < jobrunner_profile.stat().st_size / 2


def test_a_large_profile_stays_compact():
    profile = large_profile()
    page = render_html(profile)
    modules = sum(len(p.modules) for p in profile.processes)
    assert modules == 36_000
    assert len(page.encode()) / modules < 250  # bytes per module, edges included
