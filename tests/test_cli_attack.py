"""Every subcommand attacked with bad input, through the real CLI in subprocesses.

Bad input gets exactly one line `hotstart: error: ...` on stderr (exit 2), never a traceback,
a hang, a half-written file or raw terminal escapes; a target that fails is exit 1.
"""

from __future__ import annotations

import os
import pathlib
import pty
import subprocess
import sys
import time

import pytest
from conftest import run_hotstart, write_tree

ESC = "\x1b[31m"


def assert_bad_input(result, fragment: str, code: int = 2) -> None:
    """Exactly one stderr line, `hotstart: error: ...` holding `fragment`, and no escape."""
    assert result.returncode == code, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if not line.startswith("hotstart: [")]
    assert len(lines) == 1 and lines[0].startswith("hotstart: error: "), result.stderr
    assert fragment in lines[0], result.stderr
    assert "\x1b" not in result.stderr


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> pathlib.Path:
    """A small real profile (one process), saved once."""
    out = tmp_path_factory.mktemp("attack") / "p.json"
    result = run_hotstart("profile", "-q", "-n", "1", "--no-calls", "-o", str(out), "-c",
                          "import json")
    assert result.returncode == 0, result.stderr
    return out


# -- option values ----------------------------------------------------------------------------

@pytest.mark.parametrize("option, value, fragment", [
    ("--runs", "0", "--runs"), ("--runs", "99999999999999999999", "at most"),
    ("--warmup", "-1", "--warmup"), ("--warmup", "99999999999999", "at most"),
    ("--timeout", "0", "--timeout"), ("--timeout", "-1", "--timeout"),
    ("--timeout", "nan", "--timeout"), ("--timeout", "inf", "--timeout"),
    ("--timeout", "1e308", "give at most"), ("--timeout", "1e12", "give at most"),
    ("--threshold", "nan", "--threshold"), ("--depth", "-1", "--depth"),
    ("--top", "0", "--top"), ("--process", "-1", "--process"), ("--runs", "x", "--runs"),
])
def test_profile_option_values_are_checked_before_running(tmp_path, option, value, fragment):
    marker = tmp_path / "ran"
    result = run_hotstart("profile", "-q", "-n", "1", option, value, "-c",
                          f"open({str(marker)!r}, 'w')", cwd=tmp_path, timeout=120)
    assert_bad_input(result, fragment)
    assert not marker.exists()  # refused before the target ran once


@pytest.mark.parametrize("args, fragment", [
    (["--threshold", "nan"], "--threshold"), (["--depth", "0"], "--depth"),
    (["--top", "-5", "--format", "table"], "--top"), (["--top", "0", "--format", "table"], "--top"),
    (["--why-limit", "0", "--why", "json"], "--why-limit"),
])
def test_show_option_values(saved, args, fragment):
    assert_bad_input(run_hotstart("show", str(saved), *args), fragment)


@pytest.mark.parametrize("args, fragment", [
    (["--top", "0"], "--top"), (["--top", "-1"], "--top"), (["--threshold", "nan"], "--threshold"),
])
def test_diff_option_values(saved, args, fragment):
    assert_bad_input(run_hotstart("diff", str(saved), str(saved), *args), fragment)


@pytest.mark.parametrize("args, fragment", [
    (["--bogus", "PROFILE"], "unrecognized arguments: --bogus"),
    ([], "required: PROFILE.json"), (["PROFILE", "extra"], "unrecognized arguments: extra"),
])
def test_usage_errors_are_one_line(saved, args, fragment):
    result = run_hotstart("show", *(str(saved) if arg == "PROFILE" else arg for arg in args))
    assert_bad_input(result, fragment)
    assert result.stderr.rstrip().endswith("see 'hotstart show --help'")
    assert "usage:" not in result.stderr


def test_unknown_profile_option_is_one_line(tmp_path):
    result = run_hotstart("profile", "--bogus", "x.py", cwd=tmp_path)
    assert_bad_input(result, "unrecognized arguments: --bogus")


# -- profile targets --------------------------------------------------------------------------

def test_directory_without_main_is_bad_input(tmp_path):
    (tmp_path / "adir").mkdir()
    result = run_hotstart("profile", "-q", "-n", "1", "adir", cwd=tmp_path)
    assert_bad_input(result, "__main__.py")


def test_fifo_script_is_refused_not_waited_on(tmp_path):
    os.mkfifo(tmp_path / "pipe.py")
    result = run_hotstart("profile", "-q", "-n", "1", "--timeout", "60", "pipe.py",
                          cwd=tmp_path, timeout=120)
    assert_bad_input(result, "not a regular file")


def test_python_that_hangs_is_given_up_and_its_children_end(tmp_path):
    pidfile = tmp_path / "pid"
    fake = tmp_path / "fakepython"
    fake.write_text(f"#!/bin/sh\nsleep 1000 &\necho $! > {pidfile}\nwait\n")
    fake.chmod(0o755)
    result = run_hotstart("profile", "-q", "-n", "1", "--python", str(fake), "-c", "pass",
                          cwd=tmp_path, timeout=120)
    assert_bad_input(result, "did not print its version")
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 10  # the kill is sent before hotstart exits; allow reaping
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        if pathlib.Path(f"/proc/{pid}/stat").read_text().split(") ")[1].startswith("Z"):
            break
        time.sleep(0.05)
    else:
        os.kill(pid, 9)
        pytest.fail("the --python probe's child outlived hotstart")


def test_output_that_cannot_be_written_fails_before_running(tmp_path):
    marker = tmp_path / "ran"
    result = run_hotstart("profile", "-q", "-n", "1", "-o", "/proc/hotstart-x.json", "-c",
                          f"open({str(marker)!r}, 'w')", cwd=tmp_path)
    assert_bad_input(result, "cannot write '/proc/hotstart-x.json'")
    assert not marker.exists()


# -- terminal escapes ---------------------------------------------------------------------------

def test_escapes_in_error_lines_are_shown_escaped(tmp_path):
    empty = tmp_path / f"e{ESC}.json"
    empty.write_text("{")
    result = run_hotstart("show", str(empty))
    assert_bad_input(result, "not valid JSON")
    assert "\\x1b[31m" in result.stderr

    result = run_hotstart("profile", "-q", "-n", "1", "--no-calls", "-c",
                          f"import sys; sys.stderr.write({ESC + 'red'!r}); sys.exit(3)")
    assert_bad_input(result, "status 3", code=1)
    assert "\x1b" not in result.stdout


def test_escapes_in_audit_and_fix_output(tmp_path):
    write_tree(tmp_path, {"pkg/__init__.py": "", f"pkg/m{ESC}x.py":
                          "import json\n\ndef f():\n    return json.dumps(1)\n"})
    for args in (["audit", "pkg"], ["audit", "pkg", "--format", "markdown"],
                 ["fix", "pkg", "--all"]):
        result = run_hotstart(*args, "-q", cwd=tmp_path)
        assert result.returncode == 0, result.stderr
        assert "m\\x1b[31mx.py" in result.stdout, args
        assert "\x1b" not in result.stdout + result.stderr, args


def test_fix_diff_quotes_an_unusual_file_name_as_git_does(tmp_path):

    write_tree(tmp_path, {"pkg/__init__.py": "", f"pkg/m{ESC}x.py":
                          "import json\n\ndef f():\n    return json.dumps(1)\n"})
    result = run_hotstart("fix", "pkg", "--all", "-q", cwd=tmp_path)
    assert '--- "a/pkg/m\\033[31mx.py"' in result.stdout, result.stdout
    patch = result.stdout[:result.stdout.index("hotstart fix:")]
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    applied = subprocess.run(["git", "apply", "-"], input=patch, text=True, cwd=tmp_path,
                             capture_output=True)
    assert applied.returncode == 0, applied.stderr
    assert "import json" in (tmp_path / f"pkg/m{ESC}x.py").read_text().split("def f")[1]


# -- index and preload ------------------------------------------------------------------------

@pytest.fixture
def registry_pkg(tmp_path) -> pathlib.Path:
    write_tree(tmp_path, {"pkg/__init__.py": "", "pkg/mod.py":
                          'from reg import register\n\n@register("a")\nclass A:\n    pass\n'})
    (tmp_path / "s.json").write_text('{"@type": "a"}')
    return tmp_path


@pytest.mark.parametrize("args, fragment", [
    (["--key", "-1"], "--key '-1'"), (["--key", ""], "--key ''"), (["--key", "a b"], "--key"),
    (["--callable", ""], "--callable ''"), (["--callable", ".."], "--callable"),
    (["--keep", ""], "--keep ''"),
])
def test_index_matcher_options(registry_pkg, args, fragment):
    assert_bad_input(run_hotstart("index", "pkg", *args, cwd=registry_pkg), fragment)


def test_index_of_a_file_that_is_not_python_or_not_regular(registry_pkg):
    result = run_hotstart("index", "s.json", cwd=registry_pkg)
    assert_bad_input(result, "not a Python source file")
    os.mkfifo(registry_pkg / "pipe.py")
    result = run_hotstart("index", "pipe.py", cwd=registry_pkg, timeout=60)
    assert_bad_input(result, "not a regular file")


@pytest.mark.parametrize("args, fragment", [
    (["--always", ""], "--always ''"), (["--always", "a b"], "--always 'a b'"),
    (["--type-key", ""], "--type-key ''"),
])
def test_preload_options(registry_pkg, args, fragment):
    result = run_hotstart("preload", "s.json", "--package", "pkg", *args, cwd=registry_pkg)
    assert_bad_input(result, fragment)


def test_preload_spec_that_is_a_directory_or_undecodable_yaml(registry_pkg):
    (registry_pkg / "specs").mkdir()
    result = run_hotstart("preload", "specs", "--package", "pkg", cwd=registry_pkg)
    assert_bad_input(result, "is a directory")
    (registry_pkg / "bad.yaml").write_bytes(b"\xff\xfe@type: a\n")
    result = run_hotstart("preload", "bad.yaml", "--package", "pkg", cwd=registry_pkg)
    assert_bad_input(result, "not valid YAML")


# -- audit and fix ----------------------------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["--select", ""], "--select"), (["--select", ",,"], "--select"),
    (["--verify", ""], "--verify ''"),
    (["--verify", "true", "--verify-timeout", "nan"], "--verify-timeout"),
    (["--verify", "true", "--verify-timeout", "0"], "--verify-timeout"),
    (["--verify", "true", "--verify-timeout", "1e308"], "--verify-timeout"),
    (["--min-saving", "nan"], "--min-saving"), (["--runs", "0"], "--runs"),
])
def test_fix_option_values(tmp_path, args, fragment):
    write_tree(tmp_path, {"pkg/__init__.py": "import json\n\ndef f():\n    return json\n"})
    before = (tmp_path / "pkg/__init__.py").read_text()
    result = run_hotstart("fix", "pkg", "--all", "--write", "-q", *args, cwd=tmp_path)
    assert_bad_input(result, fragment)
    assert (tmp_path / "pkg/__init__.py").read_text() == before


def test_audit_option_values(tmp_path):
    write_tree(tmp_path, {"pkg/__init__.py": "import json\n"})
    assert_bad_input(run_hotstart("audit", "pkg", "--min-saving", "nan", cwd=tmp_path),
                     "--min-saving")
    assert_bad_input(run_hotstart("audit", "pkg", "--runs", "-3", "--entry", "-c pass",
                                  cwd=tmp_path), "--runs")


def test_progress_on_a_terminal_shows_brackets_and_escapes_as_text(tmp_path):
    """On a terminal the live bar renders the title: "[/x]" is not rich markup to parse."""

    pid, fd = pty.fork()
    if pid == 0:  # the child: hotstart on a terminal
        os.chdir(tmp_path)
        os.execv(sys.executable, [sys.executable, "-m", "hotstart", "profile", "-n", "1",
                                  "--no-calls", "-c", "pass  # [/x] \x1b]0;title\x07"])
    output = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
    _, status = os.waitpid(pid, 0)
    text = output.decode("utf-8", "replace")
    assert os.waitstatus_to_exitcode(status) == 0, text
    assert "Traceback" not in text and "[/x]" in text
    assert "\\x1b]0;title\\x07" in text and "\x1b]0;title" not in text


# -- diff of profiles with different process counts; audit output; verify; aliases -------------

def test_diff_process_choice_and_range(saved, tmp_path):

    two = tmp_path / "two.json"
    command = f"{sys.executable} -c pass; {sys.executable} -c 'import json'"
    result = run_hotstart("profile", "-q", "-n", "1", "--no-calls", "-o", str(two), "--",
                          "sh", "-c", command)
    assert result.returncode == 0, result.stderr
    assert_bad_input(run_hotstart("diff", str(saved), str(two), "--process", "1"),
                     f"--process 1: {saved} has 1 process(es)")
    assert_bad_input(run_hotstart("diff", str(saved), str(two), "--process", "-1"), "--process")
    result = run_hotstart("diff", str(saved), str(two))
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith("hotstart: warning: ") and "--process N" in result.stderr
    result = run_hotstart("diff", str(two), str(two), "--process", "1")
    assert result.returncode == 0 and "process 1 of each: " in result.stdout, result.stderr


def test_audit_output_that_cannot_be_written_fails_before_the_entries_run(tmp_path):
    marker = tmp_path / "ran"
    write_tree(tmp_path, {"pkg/__init__.py": "import json\n"})
    result = run_hotstart("audit", "pkg", "-q", "-o", "/proc/hotstart-audit.txt", "--entry",
                          f"-c open({str(marker)!r}, 'w')", cwd=tmp_path)
    assert_bad_input(result, "cannot write '/proc/hotstart-audit.txt'")
    assert not marker.exists()


def test_verify_that_times_out_before_any_change_says_so_once(tmp_path):
    write_tree(tmp_path, {"pkg/__init__.py": "import json\n\ndef f():\n    return json\n"})
    result = run_hotstart("fix", "pkg", "--all", "-q", "--verify", "sleep 30",
                          "--verify-timeout", "0.5", cwd=tmp_path)
    assert_bad_input(result, "fails before any change (timed out after 0.5 s); make it pass",
                     code=1)


@pytest.mark.parametrize("alias", ["=numpy", "np=", "n p=numpy", "np"])
def test_preload_alias_names_the_bad_option(registry_pkg, alias):
    result = run_hotstart("preload", "s.json", "--package", "pkg", "--alias", alias,
                          cwd=registry_pkg)
    assert_bad_input(result, f"--alias {alias!r}: expected NAME=MODULE")


# -- the process hotstart runs in: its output streams and its directory -------------------------

def test_output_encoding_without_the_characters_gets_escapes(saved):

    done = subprocess.run([sys.executable, "-m", "hotstart", "show", str(saved)],
                          capture_output=True, env={**os.environ, "PYTHONIOENCODING": "ascii"})
    assert done.returncode == 0 and b"Traceback" not in done.stderr, done.stderr
    assert b"\\xb7" in done.stdout  # the "·" separators, escaped


def test_closed_streams_and_a_full_disk(saved, tmp_path):

    def run(*args: str, **streams) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hotstart", *args], **streams,
                              stdin=subprocess.DEVNULL, timeout=120)

    # the shell's `>&-` and `2>&-`: the descriptor is closed, sys.stdout/stderr are None
    closed = subprocess.run(["sh", "-c", '"$0" -m hotstart show "$1" >&-', sys.executable,
                             str(saved)], capture_output=True, timeout=120)
    assert closed.returncode == 0 and b"Traceback" not in closed.stderr, closed.stderr
    closed = subprocess.run(["sh", "-c", '"$0" -m hotstart show "$1" 2>&-', sys.executable,
                             str(tmp_path / "none.json")], capture_output=True, timeout=120)
    assert closed.returncode == 2, closed
    with open("/dev/full", "w") as full:
        done = run("show", str(saved), stdout=full, stderr=subprocess.PIPE)
    assert done.returncode == 1, done.stderr
    assert done.stderr == b"hotstart: error: cannot write the output: No space left on device\n"


def test_removed_current_directory(tmp_path, saved):
    gone = tmp_path / "gone"
    gone.mkdir()

    done = subprocess.run(["sh", "-c", 'cd "$1" && rmdir "$1" && exec "$0" -m hotstart show "$2"',
                           sys.executable, str(gone), str(saved)], capture_output=True,
                          text=True, timeout=120)
    assert_bad_input(done, "the current directory cannot be read")


def test_profile_files_that_are_pipes_devices_or_empty(saved, tmp_path):
    fifo = tmp_path / "p.json"
    os.mkfifo(fifo)
    write_tree(tmp_path, {"pkg/__init__.py": "import json\n"})
    for args in (["show", str(fifo)], ["diff", str(saved), str(fifo)],
                 ["audit", str(tmp_path / "pkg"), "--profile", str(fifo)]):
        assert_bad_input(run_hotstart(*args, timeout=60), f"{fifo}: empty")  # never waits
    assert_bad_input(run_hotstart("show", "/dev/zero", timeout=120), "larger than 256 MiB")
    # a pipe with a writer is read: `hotstart show <(...)`
    done = subprocess.run(["bash", "-c", '"$0" -m hotstart show <(cat "$1")', sys.executable,
                           str(saved)], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "import json" in done.stdout, done.stderr


def test_output_onto_the_profiled_script_is_refused(tmp_path):
    script = tmp_path / "job.py"
    script.write_text("print('hi')\n")
    result = run_hotstart("profile", "-q", "-n", "1", "-o", "./job.py", "job.py", cwd=tmp_path)
    assert_bad_input(result, "is the script being profiled")
    assert script.read_text() == "print('hi')\n"


def test_undecodable_source_is_reported_without_a_none_line(tmp_path):
    write_tree(tmp_path, {"pkg/__init__.py": "import json\n"})
    (tmp_path / "pkg" / "bad.py").write_bytes(b"\xff\xfe bad\n")
    result = run_hotstart("fix", "pkg", "-q", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "hotstart: warning: pkg/bad.py: cannot parse (" in result.stderr, result.stderr
    assert ":None" not in result.stderr


@pytest.mark.parametrize("args, fragment", [
    (["--", "./plain"], "command './plain' is not executable (chmod +x it"),
    (["--", "./adir"], "command './adir' is a directory"),
    (["--", "./missing"], "command './missing' not found"),
    ([""], "the script name is empty"),
])
def test_command_and_script_paths_say_what_is_wrong(tmp_path, args, fragment):
    (tmp_path / "plain").write_text("print(1)\n")
    (tmp_path / "adir").mkdir()
    result = run_hotstart("profile", "-q", "-n", "1", *args, cwd=tmp_path)
    assert_bad_input(result, fragment)
    assert "on PATH" not in result.stderr


def test_unknown_type_line_escapes_the_spec_name(registry_pkg):
    spec = registry_pkg / f"s{ESC}.json"
    spec.write_text('{"@type": "zz"}')
    result = run_hotstart("preload", spec.name, "--package", "pkg", cwd=registry_pkg)
    assert_bad_input(result, "unknown type 'zz' at $ in s\\x1b[31m.json", code=1)
    assert "\x1b" not in result.stdout


def test_index_escapes_names_from_the_scanned_source(registry_pkg):
    (registry_pkg / "pkg" / "more.py").write_text(
        'from reg import register\n\n@register("b\\x1b[31m")\nclass B:\n    pass\n')
    result = run_hotstart("index", "pkg", "--no-cache", cwd=registry_pkg)
    assert result.returncode == 0, result.stderr
    assert "b\\x1b[31m" in result.stdout and "\x1b" not in result.stdout


def test_audit_output_onto_a_source_file_is_refused(tmp_path):
    write_tree(tmp_path, {"pkg/__init__.py": "import json\n"})
    result = run_hotstart("audit", "pkg", "-q", "-o", "pkg/__init__.py", cwd=tmp_path)
    assert_bad_input(result, "is Python source")
    assert (tmp_path / "pkg/__init__.py").read_text() == "import json\n"


def test_importtime_engine_does_not_call_the_standard_library_first_party(tmp_path):
    (tmp_path / "mine.py").write_text("import json\n")
    out = tmp_path / "it.json"
    result = run_hotstart("profile", "-q", "-n", "1", "--engine", "importtime", "-o", str(out),
                          "-c", "import mine", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    from hotstart.measure.io import load_profile

    kinds = {m.name: m.kind for m in load_profile(out).main.modules}
    assert kinds["json"] == kinds["json.decoder"] == "stdlib"
    assert kinds["mine"] == "first-party"
