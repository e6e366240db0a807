"""The audit renderers (text, Markdown, SARIF) on a report built by hand: no scan, no profile."""

from __future__ import annotations

import copy
import json

import hotstart
from hotstart.audit.model import (
    AuditReport,
    BoundName,
    Entry,
    HotSpot,
    ImportSite,
    Link,
    Reach,
    Saving,
    Use,
)
from hotstart.render.audit import render_audit
from hotstart.render.audit_markdown import render_audit_markdown
from hotstart.render.sarif import render_sarif

MIB = 1 << 20
ENTRY = "-m app run"
LONG = ("from app.a_rather_long_module_name_for_testing import (alpha, beta, gamma, delta, "
        "epsilon, zeta, eta, theta, iota)")


def site(file: str, line: int, statement: str, klass: str, *names: str,
         saving: Saving | None = None, **extra) -> ImportSite:
    module = "app." + file.rsplit("/", 1)[-1].removesuffix(".py")
    imported = statement.split()[1]
    bound = [BoundName(name, f"{imported}.{name}", [Use("function", line + 10, "main", line + 9)])
             for name in names]
    return ImportSite(file=f"proj/src/app/{file}", module=module, line=line, end_line=line,
                      statement=statement, imported=imported, names=bound, klass=klass,
                      savings=[saving] if saving else [], **extra)


def nothing(*also: str) -> Saving:
    return Saving(ENTRY, 0.0, 0, 0, [], list(also))


def make_report() -> AuditReport:
    pandas = Saving(ENTRY, 230_400.0, 52 * MIB, 470, ["pandas", "numpy", "pytz", "dateutil"])
    stay = "the same statement imports names that stay"
    sites = [
        # b.py, a.py: no savings at all (ranked after the files with savings, alphabetically)
        site("b.py", 2, "import logging", "needed", "logging",
             reason="a decorator (line 8)", pins=["a decorator (line 8)",
                                                 "called at import (line 12)"]),
        site("a.py", 1, LONG, "deferrable", "alpha", reason="used only inside run()",
             fix="move it into run() | or keep it"),
        # util.py: best saving 12 ms
        site("util.py", 2, "import numpy as np", "deferrable", "np",
             saving=Saving(ENTRY, 500.0, 64 * 1024, 1, ["numpy"], used_at_run=["stats()"]),
             reason="used only inside stats()", fix="move it into stats()"),
        site("util.py", 3, "from typing import Any", "typing-only", "Any",
             reason="used only in annotations", fix="move it under `if TYPE_CHECKING:`"),
        site("util.py", 4, "import app.plugins", "side-effect", "app",
             saving=Saving(ENTRY, 12_000.0, 2 * MIB, 3, ["app.plugins"]),
             reason="unused; importing it registers plugins",
             effects=["registers 3 plugins", "sets the logging level", "patches json",
                      "writes a cache file"]),
        # cli.py: best saving 230.4 ms; split statement on line 5
        site("cli.py", 6, "import os", "dead", "os", reason="never used", fix="remove it"),
        site("cli.py", 5, "from app.log import configure, get_logger", "deferrable",
             "configure", saving=nothing(stay), reason="used only inside main()",
             fix="move it into main()"),
        site("cli.py", 5, "from app.log import configure, get_logger", "needed", "get_logger",
             saving=nothing(stay), reason="called at import (line 9)",
             pins=["called at import (line 9)"]),
        site("cli.py", 4, "import json", "deferrable", "json",
             saving=nothing("app.spec", "logging.config"), reason="used only inside dump()",
             fix="move it into dump()"),
        site("cli.py", 3, "import pandas as pd", "deferrable", "pd", saving=pandas,
             reason="used only inside main()", fix="move it into main()"),
    ]
    stack = {"call": "inspect.stack", "kind": "frames", "why": "builds a FrameInfo for every frame",
                 "advice": "use sys._getframe(1)", "via": ["app.log.get_logger"]}
    hotspots = [HotSpot(file=f"proj/src/app/m{n}.py", module=f"app.m{n}", line=10 + n, **stack)
                for n in range(1, 9)]
    hotspots[2].measured_us, hotspots[2].measured_calls = 58_500.0, 5
    hotspots[2].measured_entry = ENTRY
    hotspots.append(HotSpot(file="proj/src/app/cli.py", module="app.cli", line=20,
                            call="re.compile", kind="regex", why="compiles a pattern",
                            advice="compile it on first use"))
    entry = Entry(name=ENTRY, roots=["app.__main__"], first_party=4, measured=True,
                  import_us=400_000.0, peak_rss=80 * MIB, fix_us=250_000.0, fix_rss=55 * MIB,
                  fix_sites=5, bytecode="pyc",
                  reach=[Reach("pandas", [Link("app.__main__", "proj/src/app/__main__.py", 3),
                                          Link("app.cli", "proj/src/app/cli.py", 3),
                                          Link("app.util", "proj/src/app/util/__init__.py", 3,
                                               "package __init__"),
                                          Link("pandas")], us=232_500.0, rss=int(53.1 * MIB))])
    static = Entry(name="app.worker:main", roots=["app.worker"], first_party=2)
    return AuditReport(root="proj", package="app", files=6, sites=sites, hotspots=hotspots,
                       entries=[entry, static], target_version="3.12", seconds=1.25,
                       notes=["2 imports are already inside functions"],
                       errors=["proj/src/app/broken.py: invalid syntax (line 3)"])


def section(text: str, title: str) -> list[str]:
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = next((i for i in range(start + 1, len(lines))
                if lines[i] and not lines[i].startswith(" ")), len(lines))
    while not lines[end - 1]:
        end -= 1
    return lines[start:end]


def site_lines(text: str, path: str) -> list[str]:
    """The `  L<n>` lines of one file's block in the text report."""
    return [line for line in section(text, path) if line.startswith("  L")]


# -- text ---------------------------------------------------------------------------------------

def test_text_header_entries_and_footer():
    text = render_audit(make_report())
    lines = text.splitlines()
    assert lines[0] == "hotstart audit: proj (package app)"
    assert "6 files scanned in 1.2 s; target Python 3.12; 10 import sites" in lines[1]
    counts = {line.split()[0]: int(line.split()[1]) for line in lines[2:7]}
    assert counts == {"dead": 1, "side-effect": 1, "deferrable": 5, "typing-only": 1,
                      "needed": 2}

    entry = section(text, f"Entry: {ENTRY}")
    assert "  measured: imports in 400.0 ms; peak RSS 80.0 MiB" in entry
    assert "  bytecode: pyc" in entry
    assert "  reaches 4 project modules at module level" in entry
    chain = " ".join(" ".join(line.split()) for line in entry if "via" in line or "->" in line)
    assert chain.startswith("pandas 232.5 ms 53.1 MiB via app.__main__ (__main__.py:3) -> "
                            "app.cli (cli.py:3) -> app.util (package __init__, __init__.py:3)"
                            " -> pandas")
    assert "  fixing all 5 fixable sites saves 250.0 ms, 55.0 MiB" in entry

    static = section(text, "Entry: app.worker:main")
    assert "  not measured (what it reaches is static)" in static
    assert not any("fixing all" in line for line in static)

    assert section(text, "Notes")[1:] == ["  - 2 imports are already inside functions"]
    assert section(text, "Errors")[1:] == ["  - proj/src/app/broken.py: invalid syntax (line 3)"]


def test_text_hot_spots_grouped_by_call_and_via():
    text = render_audit(make_report())
    block = section(text, "Hot spots")
    assert block[0].endswith("9 in 2 groups")
    body = "\n".join(block)
    assert body.count("inspect.stack()") == 1  # eight hot spots, one block
    stack = " ".join(line.strip() for line in block if line.strip())
    assert ("inspect.stack() via app.log.get_logger, called at import by 8 modules (m1.py:11, "
            "m2.py:12, m3.py:13, m4.py:14, m5.py:15, m6.py:16, +2 more)") in stack
    assert "measured 58.5 ms over 5 calls on -m app run" in body
    assert "builds a FrameInfo for every frame" in body
    assert "fix: use sys._getframe(1)" in body
    # the measured group comes first
    assert body.index("inspect.stack()") < body.index("re.compile() called at import by 1 module "
                                                      "(cli.py:20)")
    assert "fix: compile it on first use" in body


def test_text_files_ranked_by_biggest_saving_then_alphabetical():
    text = render_audit(make_report())
    headers = [line.split("  (")[0] for line in text.splitlines() if line.startswith("src/app/")]
    assert headers == ["src/app/cli.py", "src/app/util.py", "src/app/a.py", "src/app/b.py"]


def test_text_sites_ranked_by_saving_then_line():
    text = render_audit(make_report())
    cli = site_lines(text, "src/app/cli.py")
    assert [line.split()[0] for line in cli] == ["L3", "L4", "L5", "L5", "L6"]
    assert cli[0].startswith("  L3    deferrable   import pandas as pd")
    block = section(text, "src/app/cli.py")
    # too long for the site's line: on the next, with as many module names as fit
    assert ("        saves 230.4 ms, 52.0 MiB (470 modules: pandas, numpy, pytz, dateutil, ...) "
            "on -m app run") in block
    # a split statement names the part of it each line is about
    assert "  L5    deferrable   from app.log import configure, get_logger  [configure]" in cli
    assert any(line.startswith("  L5    needed       from app.log import configure, get_logger"
                               "  [get_logger]") for line in cli)
    util = site_lines(text, "src/app/util.py")
    assert [line.split()[0] for line in util] == ["L4", "L2", "L3"]


def test_text_saves_nothing_pins_and_effects():
    text = render_audit(make_report())
    cli = section(text, "src/app/cli.py")
    assert any(line.startswith("  L4    deferrable   import json") and
               line.endswith("saves nothing: also imported by app.spec, logging.config")
               for line in cli)
    assert "saves nothing: the same statement imports names that stay" in "\n".join(cli)
    assert "        pinned by: called at import (line 9)" in cli
    assert "        fix: remove it" in cli
    b = section(text, "src/app/b.py")
    assert "        pinned by: a decorator (line 8); called at import (line 12)" in b
    util = section(text, "src/app/util.py")
    assert ("        effects: registers 3 plugins; sets the logging level; patches json (+1 more)"
            in util)
    # the entry runs the function that uses it: deferring it only delays the import
    assert "        but -m app run runs stats(): deferring only delays the import" in util


def test_text_long_statements_are_clipped_to_the_width():
    text = render_audit(make_report())
    assert all(len(line) <= 100 for line in text.splitlines()), \
        [line for line in text.splitlines() if len(line) > 100]
    (line,) = site_lines(text, "src/app/a.py")
    assert line.startswith("  L1    deferrable   from app.a_rather_long_module_name_for_testing")
    assert line.endswith("...")


def test_text_hides_needed_sites_and_counts_small_savings():
    report = make_report()
    full = render_audit(report)
    assert "src/app/b.py  (app.b)" in full
    text = render_audit(report, show_needed=False)
    assert "src/app/b.py" not in text  # its only site is needed
    assert not any(" needed " in line for line in site_lines(text, "src/app/cli.py"))
    assert "Import sites, by file (biggest saving first); 2 needed sites not shown" in text

    small = render_audit(report, min_saving_ms=1)
    cli = section(small, "src/app/cli.py")
    assert [line.split()[0] for line in site_lines(small, "src/app/cli.py")] == ["L3"]
    assert "  +4 sites saving < 1 ms" in cli
    util = section(small, "src/app/util.py")
    assert [line.split()[0] for line in site_lines(small, "src/app/util.py")] == ["L4"]
    assert "  +2 sites saving < 1 ms" in util
    assert "  +1 site saving < 1 ms" in section(small, "src/app/a.py")

    # without a measured entry, a minimum saving cannot hide anything
    static = copy.deepcopy(report)
    for entry in static.entries:
        entry.measured = False
    text = render_audit(static, min_saving_ms=1)
    assert "saving <" not in text
    assert len(site_lines(text, "src/app/cli.py")) == 5


# -- Markdown -----------------------------------------------------------------------------------

def test_markdown_tables():
    md = render_audit_markdown(make_report())
    lines = md.splitlines()
    assert lines[0] == "### hotstart audit: `app`"
    assert "| dead | 1 | imported but never used |" in lines
    assert "| deferrable | 5 | used only inside functions: can move into them |" in lines
    assert "| `-m app run` | 400.0 ms | 80.0 MiB | 250.0 ms, 55.0 MiB (5 sites) |" in lines
    assert "| `app.worker:main` | not measured | - | - |" in lines
    hot = [line for line in lines if line.startswith("- **")]
    assert hot[0].startswith("- **`inspect.stack()`** via `app.log.get_logger`, called at import "
                             "by 8 modules (m1.py:11,")
    assert "+2 more); measured 58.5 ms over 5 calls on -m app run" in hot[0]
    assert hot[1].startswith("- **`re.compile()`** called at import by 1 module (cli.py:20)")

    header = lines.index("| site | class | statement | saving | fix |")
    rows = []
    for line in lines[header + 2:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    # measured: only the sites that save something, biggest first; never a needed site
    assert rows == [
        ("| `src/app/cli.py:3` | deferrable | `import pandas as pd` | 230.4 ms, 52.0 MiB | "
        "move it into main() |"),
        "| `src/app/util.py:4` | side-effect | `import app.plugins` | 12.0 ms, 2.0 MiB | - |",
        ("| `src/app/util.py:2` | deferrable | `import numpy as np` | 0.5 ms, 64 KiB "
         "(only delayed: `stats()` runs) | "
         "move it into stats() |"),
    ]
    assert "… and 5 more fixable sites that save nothing measurable" in md


def test_markdown_static_report_lists_fixable_sites_and_escapes_pipes():
    report = make_report()
    report.entries = []
    for item in report.sites:
        item.savings = []
    md = render_audit_markdown(report)
    assert "#### Entrypoints" not in md
    assert "#### Fixable sites" in md
    rows = [line for line in md.splitlines() if line.startswith("| `src/app/")]
    assert [row.split(" | ")[1] for row in rows] == [
        "dead", "side-effect", "deferrable", "deferrable", "deferrable", "deferrable",
        "deferrable", "typing-only"]
    long_row = next(row for row in rows if "a.py:1" in row)
    assert long_row.endswith("| move it into run() \\| or keep it |")
    assert long_row.count(" | ") == 4  # the escaped pipe does not make a sixth cell
    assert "(`configure`)" in md  # a split statement names its part
    assert "`if TYPE_CHECKING:`" in md  # code spans in the fix text survive escaping


# -- SARIF --------------------------------------------------------------------------------------

def sarif(report: AuditReport) -> dict:
    return json.loads(render_sarif(report))


def test_sarif_document():
    doc = sarif(make_report())
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert doc["version"] == "2.1.0"
    (run,) = doc["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "hotstart"
    assert driver["version"] == hotstart.__version__
    assert driver["informationUri"] == "https://github.com/hotstart/hotstart"
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert rule_ids == ["hotstart/dead", "hotstart/side-effect", "hotstart/deferrable",
                        "hotstart/typing-only", "hotstart/hot-spot"]
    for rule in driver["rules"]:
        assert rule["shortDescription"]["text"] and rule["fullDescription"]["text"]
        assert rule["help"]["text"]
    for result in run["results"]:
        assert rule_ids[result["ruleIndex"]] == result["ruleId"]
        assert result["message"]["text"]


def test_sarif_results():
    report = make_report()
    results = sarif(report)["runs"][0]["results"]
    sites = [r for r in results if r["ruleId"] != "hotstart/hot-spot"]
    spots = [r for r in results if r["ruleId"] == "hotstart/hot-spot"]
    assert len(sites) == 8  # ten sites, two needed
    assert len(spots) == 9
    assert all(r["properties"]["class"] != "needed" for r in sites)
    located = {(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in sites}
    assert ("proj/src/app/b.py", 2) not in located  # the needed site

    def result(uri: str, line: int, rule: str = "") -> dict:
        return next(r for r in results
                    if r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == uri
                    and r["locations"][0]["physicalLocation"]["region"]["startLine"] == line
                    and (not rule or r["ruleId"] == rule))

    pandas = result("proj/src/app/cli.py", 3)
    assert pandas["ruleId"] == "hotstart/deferrable"
    assert pandas["level"] == "warning"  # saves >= 1 ms
    assert pandas["locations"][0]["physicalLocation"]["region"] == {"startLine": 3,
                                                                    "endLine": 3}
    assert pandas["properties"]["saving_ms"] == 230.4
    assert pandas["properties"]["saving_bytes"] == 52 * MIB
    assert "import pandas as pd" in pandas["message"]["text"]
    assert "move it into main()" in pandas["message"]["text"]
    assert "230.4 ms" in pandas["message"]["text"]
    assert pandas["partialFingerprints"] == {
        "hotstart/v1": "proj/src/app/cli.py:import pandas as pd"}

    assert result("proj/src/app/cli.py", 6)["level"] == "warning"  # dead
    numpy = result("proj/src/app/util.py", 2)
    assert numpy["level"] == "note"  # 0.5 ms
    assert numpy["properties"]["used_at_run"] == ["stats()"]
    assert "deferring only delays the import" in numpy["message"]["text"]
    assert result("proj/src/app/util.py", 3)["level"] == "note"  # not measured
    assert "saving_ms" not in result("proj/src/app/util.py", 3)["properties"]
    assert result("proj/src/app/util.py", 4)["ruleId"] == "hotstart/side-effect"
    assert result("proj/src/app/cli.py", 20, "hotstart/hot-spot")["level"] == "warning"
    measured = result("proj/src/app/m3.py", 13, "hotstart/hot-spot")
    assert "inspect.stack()" in measured["message"]["text"]
    assert "app.log.get_logger" in measured["message"]["text"]
    assert "use sys._getframe(1)" in measured["message"]["text"]
    assert measured["properties"]["measured_ms"] == 58.5

    prints = [r["partialFingerprints"]["hotstart/v1"] for r in results]
    assert len(set(prints)) == len(prints)


def test_sarif_fingerprints_survive_line_moves():
    report = make_report()
    before = [r["partialFingerprints"] for r in sarif(report)["runs"][0]["results"]]
    for item in report.sites:
        item.line += 7
        item.end_line += 7
    after = sarif(report)["runs"][0]["results"]
    assert [r["partialFingerprints"] for r in after] == before
    assert after[0]["locations"][0]["physicalLocation"]["region"]["startLine"] > 7


# -- round trip ---------------------------------------------------------------------------------

def test_round_trip_renders_the_same():
    report = make_report()
    again = AuditReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert render_audit(again) == render_audit(report)
    assert render_audit(again, min_saving_ms=1, show_needed=False) == \
        render_audit(report, min_saving_ms=1, show_needed=False)
    assert render_audit_markdown(again) == render_audit_markdown(report)
    assert render_sarif(again) == render_sarif(report)
