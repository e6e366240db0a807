"""How `hotstart fix` writes: never through a planted link, all or nothing (a real SIGINT in
the write phase leaves every file as it was, and no temporary file), and each file keeps its
identity (symlinks, hard links, mode, encoding); a file it must not write is refused with one
line and the others are still written."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time

import pytest
from conftest import run_hotstart

from hotstart.audit import audit
from hotstart.fix import fix
from hotstart.measure.io import write_atomic
from hotstart.render.fix import render_fix

from ._helpers import make, snapshot, top_level_imports

SOURCE = '''\
"""Doc."""
import yaml


def load(text):
    return yaml.safe_load(text)
'''


def fixed(text: str) -> bool:
    """`text` is SOURCE (or a variant) as `fix` rewrites it: yaml imported in the function."""
    return "yaml" not in top_level_imports(text) and "import yaml" in text


def unchanged(path) -> bool:
    return path.read_text() == SOURCE


def _temporaries(root) -> list[str]:
    return sorted(str(p) for p in root.rglob("*") if "hotstart-tmp" in p.name)


def test_a_link_planted_at_the_old_temporary_name_is_not_written_through(tmp_path):
    root = make(tmp_path / "proj", {"mod.py": SOURCE})
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    planted = root / ".mod.py.hotstart-tmp"
    planted.symlink_to(victim)

    done = run_hotstart("fix", str(root), "-q", "--write")

    assert done.returncode == 0, done.stderr
    assert victim.read_text() == "precious\n"
    assert planted.is_symlink() and os.readlink(planted) == str(victim)
    assert not (root / "mod.py").is_symlink()
    assert fixed((root / "mod.py").read_text())


def test_write_atomic_never_writes_through_a_planted_link(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n")
    out = tmp_path / "out" / "profile.json"
    out.parent.mkdir()
    for name in (".hotstart-profile.json.tmp", ".profile.json.hotstart-tmp"):
        (out.parent / name).symlink_to(victim)
    write_atomic(out, "{}\n")
    assert out.read_text() == "{}\n" and victim.read_text() == "precious\n"
    assert sorted(p.name for p in out.parent.iterdir()) == [
        ".hotstart-profile.json.tmp", ".profile.json.hotstart-tmp", "profile.json"]


# -- all or nothing ------------------------------------------------------------------------------

MODULES = 40


@pytest.fixture
def many(tmp_path):
    """A project of many files, each with one import `fix` moves."""
    files = {f"mod{i:03d}.py": SOURCE.replace("def load", f"def load{i}")
             for i in range(MODULES)}
    return make(tmp_path / "proj", files)


def _fix_write(root, **env) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hotstart", "fix", str(root), "-q",
                             "--write"], env={**os.environ, **env}, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            stdin=subprocess.DEVNULL)


def _assert_untouched_or_fixed(root, original) -> str:
    assert _temporaries(root) == []
    now = snapshot(root)
    if now == original:
        return "original"
    assert sorted(now) == sorted(original)
    assert all(fixed(text.decode()) for text in now.values())
    return "fixed"


@pytest.mark.parametrize("point", ["prepare:1", f"prepare:{MODULES // 2}", "commit:1",
                                   f"commit:{MODULES // 2}", f"commit:{MODULES}"])
def test_sigint_in_the_write_phase_leaves_every_file_as_it_was(many, point):
    """A real SIGINT at a known point of the write (a private test hook sends it)."""
    original = snapshot(many)
    process = _fix_write(many, _HOTSTART_TEST_SIGINT_AT=point)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    assert err.strip() == "hotstart: interrupted"
    assert _assert_untouched_or_fixed(many, original) == "original"


def test_sigint_from_outside_when_the_first_temporary_file_appears(many):
    """The user's Ctrl-C, sent as soon as the write has begun: nothing may be half done."""
    original = snapshot(many)
    process = _fix_write(many)
    seen = False
    while process.poll() is None and not seen:
        seen = bool([n for n in os.listdir(many) if n.endswith(".hotstart-tmp")])
        if seen:
            process.send_signal(signal.SIGINT)
        else:
            time.sleep(0.0005)
    _, err = process.communicate(timeout=300)
    outcome = _assert_untouched_or_fixed(many, original)
    if seen:  # the signal came while temporary files existed, so within the write
        assert outcome == "original" and process.returncode == 130, err
    else:
        assert outcome == "fixed" and process.returncode == 0, err


def test_fix_write_without_interrupt_rewrites_every_file(many):
    original = snapshot(many)
    process = _fix_write(many)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert _assert_untouched_or_fixed(many, original) == "fixed"


# -- identity ------------------------------------------------------------------------------------

def test_symlink_inside_the_project_stays_a_link_and_its_target_is_written(tmp_path):
    root = make(tmp_path / "proj", {".shared/real.py": SOURCE, "other.py": SOURCE})
    (root / "mod.py").symlink_to(os.path.join(".shared", "real.py"))

    result = fix(str(root), write=True)

    assert (root / "mod.py").is_symlink() and os.readlink(root / "mod.py") == ".shared/real.py"
    assert fixed((root / ".shared/real.py").read_text())
    assert fixed((root / "other.py").read_text())
    assert result.refused == [] and len(result.changes) == 2


# The audit itself skips links it will not follow; a file can still become one between the
# audit and the write, and `fix` checks again: the report is taken first, then the file swapped.

def _audited_then(root, path, swap):
    """The audit of `root`, after which `swap(path)` replaces `path`."""
    report = audit(str(root), run=False)
    os.unlink(path)
    swap(path)
    return report


def test_symlink_to_a_file_fixed_under_its_own_name_is_written_once(tmp_path):
    root = make(tmp_path / "proj", {"real.py": SOURCE, "alias.py": SOURCE})
    report = _audited_then(root, root / "alias.py", lambda p: p.symlink_to("real.py"))

    result = fix(str(root), write=True, report=report)

    assert (root / "alias.py").is_symlink() and fixed((root / "real.py").read_text())
    assert [(r.file, r.changes) for r in result.refused] == [(str(root / "alias.py"), 1)]
    assert "fixed under its own name" in result.refused[0].why


def test_symlink_out_of_the_project_is_refused(tmp_path):
    outside = make(tmp_path / "elsewhere", {"lib.py": SOURCE})
    root = make(tmp_path / "proj", {"other.py": SOURCE, "mod.py": SOURCE})
    report = _audited_then(root, root / "mod.py", lambda p: p.symlink_to(outside / "lib.py"))

    result = fix(str(root), write=True, report=report)

    assert unchanged(outside / "lib.py")
    assert (root / "mod.py").is_symlink()
    assert fixed((root / "other.py").read_text())
    assert [f.path for f in result.files] == [str(root / "other.py")]
    refused = [line for line in render_fix(result).splitlines() if line.startswith("refused ")]
    assert refused == [(f"refused {root / 'mod.py'}: a symlink to {outside / 'lib.py'}, "
                        f"outside the project; 1 change(s) not made")]


def test_hard_linked_file_is_refused_and_both_names_stay_one_file(tmp_path):
    outside = make(tmp_path / "cache", {"lib.py": SOURCE})
    root = make(tmp_path / "proj", {"other.py": SOURCE})
    os.link(outside / "lib.py", root / "mod.py")

    result = fix(str(root), write=True)

    assert os.path.samefile(outside / "lib.py", root / "mod.py")
    assert unchanged(root / "mod.py")
    assert fixed((root / "other.py").read_text())
    assert [r.file for r in result.refused] == [str(root / "mod.py")]
    assert result.refused[0].why.startswith("has 2 hard links")


def test_read_only_file_is_refused_with_one_line_and_the_rest_is_written(tmp_path):
    root = make(tmp_path / "proj", {"ro.py": SOURCE, "rw.py": SOURCE})
    (root / "ro.py").chmod(0o444)

    done = run_hotstart("fix", str(root), "-q", "--write")

    assert done.returncode == 0, done.stderr
    assert unchanged(root / "ro.py")
    assert stat.S_IMODE((root / "ro.py").stat().st_mode) == 0o444
    assert fixed((root / "rw.py").read_text())
    lines = [line for line in done.stdout.splitlines() if "ro.py" in line]
    assert lines == [(f"refused {root / 'ro.py'}: read-only (chmod u+w {root / 'ro.py'} to "
                      "let fix rewrite it); 1 change(s) not made")]
    assert "1 change(s) in 1 file(s)" in done.stdout


def test_mode_bits_are_kept(tmp_path):
    root = make(tmp_path / "proj", {"tool.py": SOURCE})
    (root / "tool.py").chmod(0o750)
    fix(str(root), write=True)
    assert fixed((root / "tool.py").read_text())
    assert stat.S_IMODE((root / "tool.py").stat().st_mode) == 0o750


def test_bom_and_crlf_are_kept(tmp_path):
    root = make(tmp_path / "proj", {"mod.py": SOURCE})
    crlf = SOURCE.replace("\n", "\r\n").encode()
    report = _audited_then(root, root / "mod.py",
                           lambda p: p.write_bytes(b"\xef\xbb\xbf" + crlf))
    fix(str(root), write=True, report=report)
    written = (root / "mod.py").read_bytes()
    assert written.startswith(b"\xef\xbb\xbf\"\"\"Doc.") and written.count(b"\xef\xbb\xbf") == 1
    assert b"\n" not in written.replace(b"\r\n", b"")
    assert fixed(written[3:].decode())


def test_latin1_file_with_a_coding_cookie_stays_latin1(tmp_path):
    text = "# -*- coding: latin-1 -*-\n" + SOURCE.replace('"""Doc."""', '"""Café."""')
    root = make(tmp_path / "proj", {"mod.py": text})  # as UTF-8 for the audit
    report = _audited_then(root, root / "mod.py",
                           lambda p: p.write_bytes(text.encode("latin-1")))

    result = fix(str(root), write=True, report=report)

    written = (root / "mod.py").read_bytes()
    assert written.startswith(b"# -*- coding: latin-1 -*-\n\"\"\"Caf\xe9.\"\"\"\n")
    assert fixed(written.decode("latin-1"))
    assert len(result.changes) == 1 and result.files[0].encoding == "iso-8859-1"


def test_sigint_while_the_verify_command_runs_restores_every_file(many, tmp_path):
    """The second run of the command (every change applied) sends hotstart a real SIGINT."""
    original = snapshot(many)
    marker = tmp_path / "first-run-done"
    command = f"test -f {marker} && kill -INT $PPID && sleep 30; touch {marker}"
    process = subprocess.Popen([sys.executable, "-m", "hotstart", "fix", str(many), "-q",
                                "--write", "--verify", command], text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               stdin=subprocess.DEVNULL, cwd=tmp_path)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 130, err
    assert err.strip().splitlines()[-1] == "hotstart: interrupted"
    assert _assert_untouched_or_fixed(many, original) == "original"


def test_a_file_changed_during_verify_is_left_as_it_is_now_and_named(many, tmp_path):
    """Restoring never overwrites what someone else wrote meanwhile (here: the tests)."""
    original = snapshot(many)
    edited = many / "mod005.py"
    marker = tmp_path / "first-run-done"
    command = f"test -f {marker} && echo '# edited' >> {edited}; touch {marker}"
    done = run_hotstart("fix", str(many), "-q", "--verify", command, cwd=tmp_path)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines() == [
        f"hotstart: error: restored every file but {edited}: changed on disk while fix was "
        f"working, left as it is now (check it with `git diff`)"]
    now = snapshot(many)
    assert now.pop("mod005.py").endswith(b"# edited\n") and fixed(edited.read_text())
    assert now == {k: v for k, v in original.items() if k != "mod005.py"}
    assert _temporaries(many) == []
