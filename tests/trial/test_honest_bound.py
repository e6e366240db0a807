"""The trial reports only a bound it earned: output that varies from run to run is not
laziness, a difference on stderr is one, a lazy run that never matched gives no bound (in the
text, the JSON and the audit), and a saving inside the runs' noise gives no ratio."""

from __future__ import annotations

import json
import os

from conftest import run_hotstart, write_tree

from hotstart.measure.runner import Target
from hotstart.render.trial import render_trial
from hotstart.trial import TrialReport, run_trial

from ._helpers import trial

#: Prints a timing (different on every run, as pytest's "1 passed in 0.01s") on stdout and on
#: stderr, and a line that laziness does not change.
VARYING = {"main.py": """
    import sys
    import time
    import json
    print("took", time.perf_counter_ns())
    print("took", time.perf_counter_ns(), file=sys.stderr)
    print(json.dumps("same"))
"""}

#: Its output shows whether the trial's hook is loaded: no eager set makes the lazy run
#: identical.
NEVER_MATCHES = {"main.py": """
    import sys
    import json
    print(json.dumps("hotstart.lazy._hook" in sys.modules))
"""}


def test_output_that_varies_between_eager_runs_is_not_bisected(tmp_path):
    report = trial(tmp_path, VARYING, "script", "main.py")
    assert report.identical and report.eager_packages == {}, report.eager_packages
    assert "json" in report.unused or "json" in report.used
    varied = [n for n in report.notes if "between two eager runs: not compared" in n]
    assert any("line 1 of the entry's stdout" in n for n in varied), report.notes
    assert any("of the entry's stderr" in n for n in varied), report.notes


def test_a_difference_on_stderr_only_is_a_difference(tmp_path):
    files = {
        "plug/__init__.py": "REGISTRY = []\n",
        "plug/a.py": "from plug import REGISTRY\nREGISTRY.append('a')\n",
        "main.py": """
            import sys
            import plug
            from plug import a  # noqa: F401  registers plugin a
            print("plugins", plug.REGISTRY, file=sys.stderr)
            print("done")
        """,
    }
    report = trial(tmp_path, files, "script", "main.py")
    assert report.identical and "plug" in report.eager_packages
    assert ("printed other stderr: line 1 is 'plugins []' where the eager run's is "
            "\"plugins ['a']\"") in report.eager_packages["plug"]


def test_no_bound_text_json_and_audit_when_the_lazy_run_never_matched(tmp_path):
    write_tree(tmp_path, NEVER_MATCHES)
    result = run_hotstart("trial", "-n", "1", "-o", "out.json", "main.py", cwd=tmp_path,
                          timeout=240)
    assert result.returncode == 0, result.stderr
    assert "bound      no bound: the lazy run never did what the eager run does" \
        in result.stdout
    assert "ratio" not in result.stdout and "not listed (no bound)" in result.stdout
    saved = TrialReport.from_json((tmp_path / "out.json").read_text())
    assert (saved.bound_ms, saved.bound_predicted_ms, saved.ratio) == (None, None, None)
    audited = run_hotstart("audit", "--format", "json", "--trial-from", "out.json", ".",
                           cwd=tmp_path, timeout=240)
    assert audited.returncode == 0, audited.stderr
    data = json.loads(audited.stdout)
    [entry] = [e for e in data["entries"] if e.get("trial")]
    assert entry["trial"]["bound_ms"] is None and entry["trial"]["project_bound_ms"] is None
    assert any("no bound: the lazy run never did" in n for n in data["notes"]), data["notes"]


def _with_walls(report: TrialReport, **ms: tuple[float, float, float]) -> TrialReport:
    """`report` with the timed runs `ms` (name -> (median, min, max) in ms); the project's
    lazy runs are those of the lazy runs."""
    ms.setdefault("project_us", ms["lazy_us"])
    data = report.to_dict()
    data.update({name: {"median": m * 1e3, "min": lo * 1e3, "max": hi * 1e3}
                 for name, (m, lo, hi) in ms.items()})
    return TrialReport.from_dict(data)


def test_a_saving_inside_the_runs_noise_has_no_ratio(tmp_path):
    files = {"main.py": "import json\nprint('x')\n"}
    report = trial(tmp_path, files, "script", "main.py")
    assert "json" in report.saved
    floors = {"floor_us": (50.0, 49.0, 51.0), "hook_floor_us": (51.0, 50.0, 52.0)}
    clear = _with_walls(report, eager_us=(90.0, 88.0, 92.0), lazy_us=(60.0, 59.0, 61.0),
                        **floors)
    assert clear.ratio is not None and clear.no_ratio is None
    overlapping = _with_walls(report, eager_us=(90.0, 70.0, 92.0),
                              lazy_us=(80.0, 60.0, 95.0), **floors)
    assert overlapping.ratio is None and "within the runs' noise" in overlapping.no_ratio
    text = render_trial(overlapping)
    assert "no measurable bound: before - bound" in text and "x   before / bound" not in text
    below = _with_walls(report, eager_us=(40.0, 40.0, 40.0), lazy_us=(60.0, 60.0, 60.0),
                        **floors)
    assert below.ratio is None and below.before_ms < 0
    assert "below the bare interpreter (noise)" in render_trial(below)
    assert "-10.0" not in render_trial(below)


def test_varying_output_after_a_traceback_is_not_bisected_either(tmp_path):
    # The all-lazy run fails (the installed library's registration is deferred: KeyError),
    # so the outputs are compared only once the library is eager; then, and in the project
    # run, only the timing line differs: pytest's "1 passed in 1.22s" was bisected there.
    write_tree(tmp_path, {
        "pyproject.toml": "[project]\nname = 'proj'\n",
        "site-packages/lib/__init__.py": """
            REGISTRY = {}
            from lib.plugins import loaded
        """,
        "site-packages/lib/plugins.py": "import lib\nlib.REGISTRY['a'] = 'A'\nloaded = True\n",
        "proj/__init__.py": "",
        "proj/__main__.py": """
            import time
            from proj import cli
            print(cli.X, time.perf_counter_ns())
        """,
        "proj/cli.py": "import lib\nimport json\nX = lib.REGISTRY['a']\n",
    })
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site-packages")}  # installed
    report = run_trial(Target("module", "proj", ()), runs=1, cwd=str(tmp_path), env=env,
                       timeout=120)
    assert report.identical and report.project_identical, (report.notes, report.eager_packages)
    # Packages are kept eager for the KeyError only, never for the timing line.
    assert report.eager_packages and all(
        "printed other" not in why for why in report.eager_packages.values())
    assert any("KeyError: 'a'" in why for why in report.eager_packages.values())
    assert any("line 1 of the entry's stdout differ" in n for n in report.notes), report.notes
    assert "json" in report.project_saved
