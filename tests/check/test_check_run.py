"""`hotstart check` and `hotstart lock` on real projects in fresh interpreters: forbidden
modules with their chains, the lock, budgets, baselines, exit codes and outputs."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from conftest import run_hotstart, write_tree

from hotstart.check.lockfile import comparable
from hotstart.check.stats import judge, median_interval

CONFIG = """
[project]
name = "pkg"
version = "0"

[tool.hotstart]
pythonpath = ["src"]

[tool.hotstart.entries]
import = "-c 'import pkg'"

[tool.hotstart.entries.cli-help]
run = "-m pkg.cli --help"
forbid = ["email"]
lock = true
max-modules = 400
"""

FILES = {
    "src/pkg/__init__.py": "",
    "src/pkg/cli.py": """
        import argparse
        from pkg import data

        if __name__ == "__main__":
            argparse.ArgumentParser(prog="pkg").parse_args()
    """,
    "src/pkg/data.py": "import json\n",
}


def make_project(root: pathlib.Path, config: str = CONFIG, files: dict | None = None,
                 git: bool = False) -> pathlib.Path:
    write_tree(root, {"pyproject.toml": config, **(files or FILES)})
    if git:
        for command in (["init", "-q", "-b", "main"], ["add", "-A"],
                        ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one"]):
            subprocess.run(["git", *command], cwd=root, check=True, capture_output=True)
    return root


def check(root: pathlib.Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_hotstart("check", *args, cwd=root)


def report_of(result: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(result.stdout)


def entry(report: dict, name: str) -> dict:
    return next(e for e in report["entries"] if e["name"] == name)


def test_forbidden_module_fails_with_its_chain_and_line(tmp_path):
    root = make_project(tmp_path)
    (root / "src/pkg/data.py").write_text("import json\nimport email.parser\n")
    result = check(root, "--no-timing", "--entry", "cli-help", "--format", "json")
    assert result.returncode == 1, result.stderr
    found = entry(report_of(result), "cli-help")
    assert found["verdict"] == "fail"
    [hit] = found["forbidden"]
    assert hit["module"] == "email" and hit["rule"] == "email" and hit["covers"] > 3
    modules = [step["module"] for step in hit["chain"]]
    assert modules[:2] == ["pkg.cli", "pkg.data"] and modules[-1] == "email"
    assert hit["origin"] == {"path": "src/pkg/data.py", "line": 2}
    text = check(root, "--no-timing", "--entry", "cli-help")
    assert text.returncode == 1
    assert "FAIL  cli-help" in text.stdout and "pkg.data" in text.stdout
    assert "src/pkg/data.py:2" in text.stdout


def test_glob_rules_match_submodules_only_where_asked(tmp_path):
    config = CONFIG.replace('forbid = ["email"]', 'forbid = ["json.*", "xml*"]')
    root = make_project(tmp_path, config)
    result = check(root, "--no-timing", "--entry", "cli-help", "--format", "json")
    hits = {h["module"]: h["rule"] for h in entry(report_of(result), "cli-help")["forbidden"]}
    assert hits == {"json.decoder": "json.*"} or set(hits) <= {"json.decoder", "json.scanner",
                                                               "json.encoder"}
    assert "json" not in hits  # "json.*" forbids the submodules, not the package


def test_lock_round_trip_added_removed_update(tmp_path):
    root = make_project(tmp_path)
    locked = run_hotstart("lock", cwd=root)
    assert locked.returncode == 0, locked.stderr
    minor = "%d.%d" % sys.version_info[:2]
    assert f"locked cli-help on Python {minor}" in locked.stdout
    text = (root / "hotstart.lock").read_text()
    assert f'[entries."cli-help"."{minor}"]' in text and '"pkg.data",' in text
    assert '"posix"' not in text and '"encodings.' not in text  # platform-specific: left out
    lines = [ln.strip() for ln in text.splitlines() if ln.startswith("    ")]
    assert lines == sorted(lines)
    assert run_hotstart("lock", cwd=root).returncode == 0
    assert (root / "hotstart.lock").read_text() == text  # deterministic
    assert check(root, "--no-timing").returncode == 0

    (root / "src/pkg/data.py").write_text("import json\nimport csv\n")
    result = check(root, "--no-timing", "--format", "json")
    assert result.returncode == 1
    found = entry(report_of(result), "cli-help")
    assert found["lock"] == "changed"
    added = {a["module"]: [s["module"] for s in a["chain"]] for a in found["added"]}
    assert "csv" in added and added["csv"][-2:] == ["pkg.data", "csv"]

    (root / "src/pkg/data.py").write_text("")
    result = check(root, "--no-timing", "--format", "json")
    assert result.returncode == 0  # removals are improvements
    found = entry(report_of(result), "cli-help")
    assert "json" in found["removed"] and found["verdict"] == "pass"
    assert check(root, "--no-timing", "--update").returncode == 0
    assert '"json",' not in (root / "hotstart.lock").read_text()
    assert check(root, "--no-timing", "--format", "json").returncode == 0
    assert entry(report_of(check(root, "--no-timing", "--format", "json")),
                 "cli-help")["removed"] == []


def test_missing_lock_for_this_python_fails_and_says_what_to_do(tmp_path):
    root = make_project(tmp_path)
    result = check(root, "--no-timing")
    assert result.returncode == 1
    assert "no lock for Python %d.%d" % sys.version_info[:2] in result.stdout


def test_lock_leaves_out_platform_and_installation_modules():
    kept = comparable({"posix", "nt", "encodings.cp1252", "_sysconfigdata__linux_x86_64-linux-gnu",
                       "__editable___pkg_finder", "_virtualenv", "json", "pkg.cli"})
    assert kept == {"json", "pkg.cli"}
    assert comparable({"pandas.core.frame", "pandas", "json.decoder"}, "packages") == {
        "pandas", "json"}


def test_python_versions_skip_an_entry(tmp_path):
    config = CONFIG.replace('max-modules = 400', 'max-modules = 400\npython-versions = ["3.9"]')
    root = make_project(tmp_path, config)
    result = check(root, "--no-timing", "--entry", "cli-help", "--format", "json")
    assert result.returncode == 0
    found = entry(report_of(result), "cli-help")
    assert found["verdict"] == "skipped" and "excludes" in found["reason"]


def test_entry_that_fails_to_run_is_an_error_with_its_reason(tmp_path):
    root = make_project(tmp_path)
    (root / "src/pkg/data.py").write_text("raise RuntimeError('boom at import')\n")
    result = check(root, "--no-timing", "--entry", "cli-help")
    assert result.returncode == 1
    assert "ERROR" in result.stdout and "boom at import" in result.stdout
    assert "Traceback" not in result.stderr


def test_max_modules_is_deterministic(tmp_path):
    config = CONFIG.replace("max-modules = 400", "max-modules = 3")
    root = make_project(tmp_path, config)
    result = check(root, "--no-timing", "--entry", "cli-help", "--format", "json")
    assert result.returncode == 1
    found = entry(report_of(result), "cli-help")
    assert found["modules"] > 3 and found["max_modules"] == 3


def test_time_budget_pass_and_fail(tmp_path):
    files = dict(FILES)
    files["src/pkg/slow.py"] = "import time\ntime.sleep(0.25)\n"
    config = CONFIG + """
[tool.hotstart.entries.slow]
run = "-c 'import pkg.slow'"
budget-ms = 5
max-rss-mb = 4000
[tool.hotstart.entries.quick]
run = "-c 'import pkg'"
budget-ms = 5000
"""
    root = make_project(tmp_path, config.replace("rounds", "rounds"), files)
    (root / "pyproject.toml").write_text(
        (root / "pyproject.toml").read_text().replace(
            'pythonpath = ["src"]', 'pythonpath = ["src"]\nrounds = 12\nmax-rounds = 24'))
    result = check(root, "--entry", "slow", "--entry", "quick", "--format", "json")
    assert result.returncode == 1, result.stderr
    report = report_of(result)
    slow = entry(report, "slow")
    [time_judgement, rss] = slow["judgements"]
    assert time_judgement["name"] == "time" and time_judgement["verdict"] == "fail"
    assert time_judgement["low"] > 200  # the sleep, above the floor, in every round
    assert time_judgement["rounds"] == 12
    assert rss["name"] == "rss" and rss["verdict"] == "pass"
    quick = entry(report, "quick")
    assert quick["verdict"] == "pass" and quick["judgements"][0]["verdict"] == "pass"
    no_timing = check(root, "--entry", "slow", "--no-timing", "--format", "json")
    assert no_timing.returncode == 0 and entry(report_of(no_timing), "slow")["judgements"] == []


def test_baseline_ref_catches_a_regression_and_passes_unchanged(tmp_path):
    files = dict(FILES)
    files["src/pkg/work.py"] = "X = 1\n"
    config = CONFIG.replace('pythonpath = ["src"]',
                            'pythonpath = ["src"]\nrounds = 12\nmax-rounds = 24') + """
[tool.hotstart.entries.work]
run = "-c 'import pkg.work'"
"""
    root = make_project(tmp_path, config, files, git=True)
    unchanged = check(root, "--entry", "work", "--baseline", "HEAD", "--format", "json")
    assert unchanged.returncode == 0, unchanged.stdout + unchanged.stderr
    judged = entry(report_of(unchanged), "work")["judgements"]
    assert [j["name"] for j in judged] == ["time vs baseline", "cpu vs baseline",
                                           "rss vs baseline"]
    assert judged[0]["verdict"] in ("pass", "inconclusive")

    (root / "src/pkg/work.py").write_text("import time, csv\ntime.sleep(0.2)\nX = 1\n")
    regressed = check(root, "--entry", "work", "--baseline", "HEAD", "--format", "json")
    assert regressed.returncode == 1
    work = entry(report_of(regressed), "work")
    [time_vs] = [j for j in work["judgements"] if j["name"] == "time vs baseline"]
    assert time_vs["verdict"] == "fail" and time_vs["low"] > 150
    new = {f["module"]: [s["module"] for s in f["chain"]] for f in work["new_since_baseline"]}
    assert new["csv"][-2:] == ["pkg.work", "csv"]
    assert work["baseline_modules"] < work["modules"]
    markdown = check(root, "--entry", "work", "--baseline", "HEAD", "--format", "markdown",
                     "--no-timing")
    assert "new since the baseline `csv`" in markdown.stdout
    assert not list(pathlib.Path(os.environ.get("TMPDIR", "/tmp")).glob(
        "hotstart-check-*/checkout/src/pkg/work.py"))  # the checkout is gone

    bad = check(root, "--entry", "work", "--baseline", "no-such-ref")
    assert bad.returncode == 2 and "not a commit" in bad.stderr


def test_baseline_profile_json(tmp_path):
    root = make_project(tmp_path)
    saved = tmp_path / "base.json"
    made = run_hotstart("profile", "-q", "-n", "3", "--no-calls", "-o", str(saved), "-m",
                        "pkg.cli", "--help", cwd=root / "src")
    assert made.returncode == 0, made.stderr
    (root / "src/pkg/data.py").write_text("import json\nimport csv\n")
    result = check(root, "--entry", "cli-help", "--baseline", str(saved), "--format", "json")
    found = entry(report_of(result), "cli-help")
    assert [j["name"] for j in found["judgements"]] == ["time vs baseline"]
    assert found["judgements"][0]["baseline"] > 0
    assert "csv" in {f["module"] for f in found["new_since_baseline"]}
    broken = tmp_path / "broken.json"
    broken.write_text('{"schema": "hotstart.profile/1", "processes": 3}')
    bad = check(root, "--baseline", str(broken))
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_packages_scope_locks_top_level_names(tmp_path):
    root = make_project(tmp_path, CONFIG.replace("lock = true", 'lock = "packages"'))
    assert run_hotstart("lock", cwd=root).returncode == 0
    text = (root / "hotstart.lock").read_text()
    assert 'scope = "packages"' in text and '"pkg",' in text and '"pkg.data"' not in text
    (root / "src/pkg/data.py").write_text("import json\nimport importlib.util\n")
    assert check(root, "--no-timing").returncode == 0  # importlib was there: same packages
    (root / "src/pkg/data.py").write_text("import json\nimport csv\n")
    result = check(root, "--no-timing", "--format", "json")
    assert result.returncode == 1
    assert [a["module"] for a in entry(report_of(result), "cli-help")["added"]] == ["csv"]


def test_baseline_that_imports_the_working_tree_is_refused(tmp_path):
    files = dict(FILES)
    config = CONFIG.replace('pythonpath = ["src"]\n', "")
    root = make_project(tmp_path, config, files, git=True)
    env = dict(os.environ, PYTHONPATH=str(root / "src"))  # as an editable install would
    result = subprocess.run([sys.executable, "-m", "hotstart", "check", "--entry", "import",
                             "--baseline", "HEAD"], cwd=root, env=env, text=True,
                            capture_output=True, timeout=600)
    assert result.returncode == 2
    assert "the working tree, not the baseline's checkout" in result.stderr
    assert "pythonpath" in result.stderr


def test_outputs_files_and_formats(tmp_path):
    root = make_project(tmp_path)
    (root / "src/pkg/data.py").write_text("import json\nimport email.parser\n")
    out, junit = tmp_path / "report.md", tmp_path / "junit.xml"
    result = check(root, "--no-timing", "--entry", "cli-help", "--format", "markdown",
                   "-o", str(out), "--junit-xml", str(junit))
    assert result.returncode == 1
    assert result.stdout.strip().startswith("fail")  # the verdict line only
    assert "| cli-help |" in out.read_text() or "cli-help" in out.read_text()
    suite = ET.fromstring(junit.read_text())
    assert int(suite.find("testsuite").get("failures")) >= 1
    github = check(root, "--no-timing", "--entry", "cli-help", "--format", "github")
    assert "::error file=src/pkg/data.py,line=2," in github.stdout
    unwritable = check(root, "--no-timing", "-o", str(tmp_path / "missing" / "x.md"))
    assert unwritable.returncode == 2 and "does not exist" in unwritable.stderr


def test_configured_entries_in_profile_and_audit(tmp_path):
    root = make_project(tmp_path)
    result = run_hotstart("profile", "--entry", "cli-help", "-n", "1", "-q", "--no-calls",
                          "--format", "json", cwd=root)
    assert result.returncode == 0, result.stderr
    names = {m["name"] for m in json.loads(result.stdout)["processes"][0]["modules"]}
    assert "pkg.data" in names
    both = run_hotstart("profile", "--entry", "cli-help", "-c", "pass", cwd=root)
    assert both.returncode == 2 and "not both" in both.stderr
    unknown = run_hotstart("trial", "--entry", "nope", cwd=root)
    assert unknown.returncode == 2 and "no entry named 'nope' (entries: import, cli-help)" \
        in unknown.stderr
    trial = run_hotstart("trial", "--entry", "import", "-n", "1", "-q", "--format", "json",
                         cwd=root)
    assert trial.returncode == 0, trial.stderr
    assert json.loads(trial.stdout)["target"] == ["python", "-c", "import pkg"]
    audit = run_hotstart("audit", ".", "--entry", "cli-help", "-q", "--format", "json",
                         "--runs", "1", cwd=root)
    assert audit.returncode == 0, audit.stderr
    assert json.loads(audit.stdout)["entries"][0]["name"] == "-m pkg.cli --help"


@pytest.mark.parametrize("n, expected", [(15, (4, 12)), (21, (6, 16)), (45, (16, 30))])
def test_median_interval_uses_binomial_order_statistics(n, expected):
    values = list(range(1, n + 1))
    middle, low, high = median_interval(values, 0.95)
    assert middle == (n + 1) / 2 and (low, high) == expected


def test_judge_fails_only_when_the_whole_interval_is_above():
    assert judge(10.0, 12.0, 9.0) == "fail"
    assert judge(7.0, 9.0, 9.0) == "pass"
    assert judge(8.0, 10.0, 9.0) == "inconclusive"
    _, low, high = median_interval([5.0, 6.0], 0.95)  # too few for 95 %: the whole range
    assert (low, high) == (5.0, 6.0)


def test_this_repository_guards_its_own_start_up():
    """`make check` (CI) runs the timed checks; the deterministic ones run with the tests:
    hotstart's --help and runtime imports load nothing forbidden and match hotstart.lock
    for this Python."""
    from conftest import ROOT

    result = run_hotstart("check", "--no-timing", "--format", "json", cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    entries = {e["name"]: e for e in report_of(result)["entries"]}
    assert {"help", "import", "pool", "lazy"} <= set(entries)
    assert all(e["verdict"] == "pass" for e in entries.values())
    assert all(entries[name]["lock"] == "ok" for name in ("help", "import", "pool", "lazy"))


def test_baseline_from_a_monorepo_subdirectory_with_a_venv_inside(tmp_path):
    """The project lives in svc/ of a larger repository, with its virtual environment
    inside it (.venv: installed packages, not the project's files)."""
    site = tmp_path / "svc" / ".venv" / "lib" / "site-packages"
    write_tree(site, {"heavy/__init__.py": "import email.parser\n"})
    config = CONFIG.replace('forbid = ["email"]', 'forbid = ["email"]')
    files = dict(FILES)
    files["src/pkg/data.py"] = "import json\nimport heavy\n"
    make_project(tmp_path / "svc", config, files)
    write_tree(tmp_path, {"other/README": "another project\n"})
    for command in (["init", "-q", "-b", "main"], ["add", "-A"],
                    ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "one"]):
        subprocess.run(["git", *command], cwd=tmp_path, check=True, capture_output=True)
    env = dict(os.environ, PYTHONPATH=str(site))
    result = subprocess.run([sys.executable, "-m", "hotstart", "check", "--no-timing",
                             "--entry", "cli-help", "--baseline", "HEAD", "--format", "json"],
                            cwd=tmp_path / "svc", env=env, text=True, capture_output=True,
                            timeout=600)
    assert result.returncode == 1, result.stderr  # email is forbidden, on both sides
    found = entry(report_of(result), "cli-help")
    [hit] = found["forbidden"]
    assert hit["origin"] == {"path": "src/pkg/data.py", "line": 2}  # not .venv's line
    assert found["baseline_modules"] == found["modules"]
    github = subprocess.run([sys.executable, "-m", "hotstart", "check", "--no-timing",
                             "--entry", "cli-help", "--format", "github"],
                            cwd=tmp_path / "svc", env=env, text=True, capture_output=True,
                            timeout=600)
    assert "::error file=svc/src/pkg/data.py,line=2," in github.stdout  # the repository's path


def test_baseline_of_an_installed_copy_is_refused(tmp_path):
    """Both sides importing the same installed copy would compare it with itself."""
    config = CONFIG.replace('pythonpath = ["src"]\n', "")
    root = make_project(tmp_path / "proj", config, git=True)
    installed = tmp_path / "site"
    write_tree(installed, {"pkg/__init__.py": "", "pkg/cli.py": "from pkg import data\n",
                           "pkg/data.py": ""})
    env = dict(os.environ, PYTHONPATH=str(installed))
    result = subprocess.run([sys.executable, "-m", "hotstart", "check", "--no-timing",
                             "--entry", "import", "--baseline", "HEAD"], cwd=root, env=env,
                            text=True, capture_output=True, timeout=600)
    assert result.returncode == 2
    assert "imported no file of" in result.stderr and "pythonpath" in result.stderr


@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_lock_or_config_that_is_not_a_file_is_refused_at_once(tmp_path, kind):
    root = make_project(tmp_path)
    lock = root / "hotstart.lock"
    if kind == "fifo":
        os.mkfifo(lock)
    else:
        lock.symlink_to("/dev/zero")
    result = check(root, "--no-timing")  # run_hotstart's timeout bounds a hang
    assert result.returncode == 2 and "not a regular file" in result.stderr
    other = check(root, "--no-timing", "--config", "/dev/zero") if kind == "device" else None
    if other is not None:
        assert other.returncode == 2 and "not a regular file" in other.stderr


def test_each_forbid_rule_is_named_even_when_loaded_through_another(tmp_path):
    config = CONFIG.replace('forbid = ["email"]', 'forbid = ["json*", "re"]')
    root = make_project(tmp_path, config)
    result = check(root, "--no-timing", "--entry", "cli-help", "--format", "json")
    hits = {h["module"]: h["rule"] for h in entry(report_of(result), "cli-help")["forbidden"]}
    assert hits.get("json") == "json*" and hits.get("re") == "re"


def test_a_failure_before_the_last_look_needs_the_stricter_interval():
    from hotstart.check._rounds import Rounds, judgements
    from hotstart.check.config import EntryConfig
    from hotstart.measure.runner import RunResult

    def run(ms):
        return RunResult(0, ms * 1e3, False, "", cpu_us=ms * 1e3, max_rss_kb=1000)

    rounds = Rounds()
    # The entry is 10 ms above the floor, with noise; rounds are judged two by two (the
    # best of each two), here 12 pairs whose best values are 9.5 to 10.6 ms. The budget is
    # 9.6 ms: the 95 % interval (from the 3rd value, 9.7) is above it, the 99.9 % one (from
    # the 1st, 9.5) is not.
    for offset in [-0.5, -0.4, -0.3, -0.2, -0.1, 0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6]:
        for extra in (0.05, 0.0):
            rounds.floor.append(run(20.0))
            rounds.entry.append(run(30.0 + offset + extra))
    budget = EntryConfig("x", "-c pass", budget_ms=9.6)
    [last] = judgements(budget, rounds, 0.95, interim=False)
    [interim] = judgements(budget, rounds, 0.95, interim=True)
    assert last.verdict == "fail" and interim.verdict == "inconclusive"
    clear = EntryConfig("x", "-c pass", budget_ms=5.0)
    assert judgements(clear, rounds, 0.95, interim=True)[0].verdict == "fail"
