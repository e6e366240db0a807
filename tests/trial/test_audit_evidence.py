"""`audit --trial`: the lazy trial as run-time evidence beside the static rules."""

from __future__ import annotations

import pytest
from conftest import run_hotstart, write_tree

from hotstart.audit import audit
from hotstart.audit.model import AuditReport

#: `app.cli` imports `app.hooks` for its side effect (it registers an exit hook) and
#: `app.report` (used only by a command the entry does not run); it uses `app.config`.
PROJECT = {
    "app/__init__.py": "",
    "app/hooks.py": "import atexit\natexit.register(lambda: None)\n",
    "app/config.py": "NAME = 'demo'\n",
    "app/report.py": "import json\ndef render(x):\n    return json.dumps(x)\n",
    "app/cli.py": """
        import sys
        import app.hooks
        from app import config
        from app.report import render

        def main(argv):
            if argv[:1] == ["report"]:
                print(render({"name": config.NAME}))
            else:
                print(config.NAME)

        if __name__ == "__main__":
            main(sys.argv[1:])
    """,
}


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> AuditReport:
    base = write_tree(tmp_path_factory.mktemp("evidence"), PROJECT)
    return audit(str(base), entries=["-m app.cli"], runs=1, trial=True, timeout=120)


def _site(report: AuditReport, imported: str):
    found = [s for s in report.sites if s.module == "app.cli" and s.imported == imported]
    assert len(found) == 1, [(s.imported, s.klass) for s in report.sites]
    return found[0]


def test_a_side_effect_import_the_path_never_touched_is_a_candidate_not_a_change(report):
    hooks = _site(report, "app.hooks")
    assert hooks.klass == "side-effect"  # the static rule decides, and stays
    [evidence] = hooks.trial
    assert (evidence.entry, evidence.status, evidence.candidate) == ("-m app.cli", "untouched",
                                                                     True)
    assert evidence.where == "app/cli.py:2"


def test_used_and_unused_sites_say_what_the_path_did(report):
    [config] = _site(report, "app").trial  # from app import config
    assert config.status == "used" and "app/cli.py:10 in main" in config.where
    [render] = _site(report, "app.report").trial
    assert render.status == "untouched" and not render.candidate
    assert _site(report, "app.report").klass == "deferrable"
    entry = next(e for e in report.entries if e.name == "-m app.cli")
    assert entry.trial is not None and entry.trial.bound_ms is not None
    # The project bound too, with the audited files as the project (what fix rewrites).
    assert entry.trial.project_bound_ms is not None
    assert entry.trial.project_predicted_ms is not None
    assert any(note.startswith("lazy trial on -m app.cli") and "1 site" in note
               and "project bound" in note for note in report.notes)


def test_the_evidence_survives_the_json_round_trip(report):
    again = AuditReport.from_dict(report.to_dict())
    assert [s.trial for s in again.sites] == [s.trial for s in report.sites]
    assert [e.trial for e in again.entries] == [e.trial for e in report.entries]


def test_the_text_report_shows_the_evidence_and_a_saved_trial_gives_the_same(tmp_path):
    base = write_tree(tmp_path, PROJECT)
    saved = run_hotstart("trial", "-q", "-n", "1", "-o", "t.json", "-m", "app.cli", cwd=base)
    assert saved.returncode == 0, saved.stderr
    result = run_hotstart("audit", str(base), "--static", "--trial-from", "t.json", "-q",
                          cwd=base)
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    assert ("run-time (trial on -m app.cli): never used on the path (import deferred at "
            "app/cli.py:2): a candidate; its class (side-effect) is the static rule's, and "
            "the trial changes nothing (report only)") in text
    assert "run-time (trial on -m app.cli): used on the path, first at app/cli.py:10 in main" \
        in text


def test_trial_without_an_entry_or_with_static_is_refused(tmp_path):
    base = write_tree(tmp_path, PROJECT)
    for args in (["--trial"], ["--trial", "--static", "--entry", "-m app.cli"]):
        result = run_hotstart("audit", str(base), "-q", *args)
        assert result.returncode != 0 and result.stderr.startswith("hotstart: error: --trial")
