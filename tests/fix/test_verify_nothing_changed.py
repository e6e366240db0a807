"""With no change to make, `--verify` does not run the tests (the benchmark's second fix
runs spent 5-47 s per package re-running suites on byte-identical files)."""

from __future__ import annotations

from conftest import run_hotstart


def test_verify_is_not_run_when_nothing_changes(tmp_path):
    (tmp_path / "mod.py").write_text("import json\n\nprint(json.dumps(1))\n")
    marker = tmp_path / "ran"
    result = run_hotstart("fix", str(tmp_path / "mod.py"), "-q", "--write", "--verify",
                          f"touch {marker}", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert not marker.exists()
    assert "verify: 'touch" in result.stdout and "not run: nothing changed" in result.stdout
    assert "made 0 change(s)" in result.stdout
