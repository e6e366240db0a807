"""`hotstart fix` and `hotstart audit` on the command line, in real subprocesses: diff or
write, every audit format, and one-line errors with exit status 2 for bad input."""

from __future__ import annotations

import json

import pytest
from conftest import run_hotstart

from hotstart.fix.codemods import MARK

from ._helpers import make, snapshot

SOURCE = '''\
"""Doc."""
import yaml
from yaml import dump


def load(text):
    return yaml.safe_load(text)
'''


@pytest.fixture
def proj(tmp_path):
    return make(tmp_path / "proj", {"mod.py": SOURCE})


@pytest.mark.parametrize("flags", [["--diff"], []], ids=["diff", "default"])
def test_fix_prints_a_diff_and_changes_nothing(proj, flags):
    before = snapshot(proj)
    done = run_hotstart("fix", str(proj), "-q", *flags)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    shown = str(proj / "mod.py").lstrip("/")
    assert f"--- a/{shown}\n+++ b/{shown}\n@@ " in out
    assert "\n-import yaml\n" in out and "\n-from yaml import dump\n" in out
    assert f"\n+    {MARK}\n+    import yaml\n" in out
    assert snapshot(proj) == before


def test_fix_write_changes_the_files(proj):
    done = run_hotstart("fix", str(proj), "-q", "--write")
    assert done.returncode == 0, done.stderr
    after = (proj / "mod.py").read_text()
    assert after == f'"""Doc."""\n\n\ndef load(text):\n    {MARK}\n    import yaml\n' \
                    f'    return yaml.safe_load(text)\n'
    assert "+++ b/" not in done.stdout
    # and a second run has nothing left to do
    before = snapshot(proj)
    again = run_hotstart("fix", str(proj), "-q", "--diff")
    assert again.returncode == 0, again.stderr
    assert "+++ b/" not in again.stdout
    assert snapshot(proj) == before


@pytest.mark.parametrize("fmt", ["json", "sarif", "markdown", "text"])
def test_audit_formats(proj, fmt):
    done = run_hotstart("audit", str(proj), "-q", "--format", fmt)
    assert done.returncode == 0, done.stderr
    out = done.stdout
    if fmt == "json":
        data = json.loads(out)
        assert data["schema"] == "hotstart.audit/1"
        classes = {(s["statement"], s["klass"]) for s in data["sites"]}
        assert classes == {("import yaml", "deferrable"), ("from yaml import dump", "dead")}
    elif fmt == "sarif":
        data = json.loads(out)
        assert data["version"] == "2.1.0"
        rules = {r["ruleId"] for r in data["runs"][0]["results"]}
        assert {"hotstart/dead", "hotstart/deferrable"} <= rules
    else:
        assert "import yaml" in out and "dead" in out.lower()


@pytest.mark.parametrize("args, message", [
    (["fix", "{missing}"], "is neither a file, a directory nor an importable package"),
    (["audit", "{missing}"], "is neither a file, a directory nor an importable package"),
    (["fix", "{proj}", "--target-version", "2.7"], "--target-version '2.7'"),
    (["audit", "{proj}", "--target-version", "2.7"], "--target-version '2.7'"),
    (["fix", "{proj}", "--select", "bogus"], "--select bogus"),
], ids=["fix-missing", "audit-missing", "fix-version", "audit-version", "fix-select"])
def test_bad_input_is_one_line_and_exit_2(proj, tmp_path, args, message):
    before = snapshot(proj)
    argv = [a.format(missing=tmp_path / "no-such-dir", proj=proj) for a in args]
    done = run_hotstart(*argv, "-q")
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hotstart: error: "), done.stderr
    assert message in lines[0]
    assert "Traceback" not in done.stderr
    assert snapshot(proj) == before
