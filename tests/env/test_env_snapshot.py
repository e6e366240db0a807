"""`hotstart env snapshot`: what it records equals what a live activation does.

Each test builds a real prefix (a venv; for conda, a venv plus conda's layout, see
envhelpers), snapshots it with the real CLI, runs ``env -0`` through ``hotstart exec`` and
compares the bytes with the same caller activated live in ``sh`` the way conda does.
"""

from __future__ import annotations

import json
import os
import time

import pytest
from envhelpers import (
    DEACTIVATE,
    GDAL,
    LIBS,
    PROJ,
    caller_env,
    comparable,
    hotstart,
    live_conda,
    live_venv,
    make_conda,
    make_venv,
    snapshot,
    via_exec,
)

CALLERS = {
    "clean": caller_env(),
    "job": caller_env(JOB_ID="1234", JOB_ARGS="--rows 30", LD_LIBRARY_PATH="/usr/local/nvidia",
                      MANPATH="/usr/share/man", PROJ_NETWORK="ON"),
}


@pytest.fixture(scope="module")
def conda(tmp_path_factory):
    """A conda-style prefix under envs/ with the usual kinds of activation."""
    prefix = tmp_path_factory.mktemp("conda") / "envs" / "worker"
    prefix.parent.mkdir()
    make_conda(prefix, scripts={"gdal-activate.sh": GDAL, "proj4-activate.sh": PROJ,
                                "libs.sh": LIBS},
               env_vars={"my_setting": "from state", "SHARED": "state wins",
                         "DROPPED": "***unset***"},
               package_vars={"10-pkg.json": {"PKG_HOME": "/opt/pkg", "SHARED": "package"}},
               deactivate={"gdal-deactivate.sh": DEACTIVATE})
    snap = snapshot(prefix, prefix.parent.parent / "snap.json")
    return prefix, snap


@pytest.mark.parametrize("caller", CALLERS)
def test_conda_snapshot_equals_live_activation(conda, caller):
    prefix, snap = conda
    live = comparable(live_conda(prefix, CALLERS[caller]))
    assert comparable(via_exec(str(snap), CALLERS[caller])) == live
    # the case-4 variables the hand-written entrypoint had lost are there
    assert live[b"GDAL_DATA"] == f"{prefix}/share/gdal".encode()
    assert live[b"PROJ_DATA"] == f"{prefix}/share/proj".encode()


def test_conda_snapshot_records_what_conda_does(conda):
    prefix, snap = conda
    data = json.loads(snap.read_text())
    assert data["format"] == "hotstart-env-snapshot" and data["version"] == 1
    assert data["path"] == {"prepend": [f"{prefix}/opt/tools/bin", f"{prefix}/bin"],
                            "append": [f"{prefix}/fallback/bin"]}
    values = data["set"]
    assert values["CONDA_PREFIX"] == str(prefix)
    assert values["CONDA_DEFAULT_ENV"] == "worker"       # an environment under envs/
    assert values["CONDA_PROMPT_MODIFIER"] == "(worker) "
    assert values["CONDA_SHLVL"] == "1"
    assert values["MY_SETTING"] == "from state"         # conda upper-cases env_vars
    assert values["SHARED"] == "state wins"              # state after env_vars.d
    assert values["PKG_HOME"] == "/opt/pkg"
    assert "DROPPED" not in values and "DEACTIVATED" not in values  # ***unset***; deactivate.d
    assert "PATH" not in values                          # never a frozen PATH
    assert data["with_caller"] == {
        "LD_LIBRARY_PATH": [f"{prefix}/lib:", ""],
        "MANPATH": [f"{prefix}/man:", ""],
        "PROJ_NETWORK": ["", ""],                        # a default that keeps the caller's
    }
    scripts = [f["path"] for f in data["depends"]["files"] if f["path"].endswith(".sh")]
    assert scripts == [f"{prefix}/etc/conda/activate.d/{n}"
                       for n in ("gdal-activate.sh", "libs.sh", "proj4-activate.sh")]
    assert all(len(f["sha256"]) == 64 and f["mtime_ns"] > 0 for f in data["depends"]["files"])


def test_snapshot_to_stdout_is_the_same_json(conda, tmp_path):
    prefix, snap = conda
    result = hotstart("env", "snapshot", str(prefix))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == json.loads(snap.read_text())


@pytest.mark.parametrize("caller", CALLERS)
def test_venv_snapshot_equals_bin_activate(tmp_path, caller):
    prefix = make_venv(tmp_path / "venv")
    snap = snapshot(prefix, tmp_path / "snap.json")
    env = CALLERS[caller]
    assert comparable(via_exec(str(snap), env)) == comparable(live_venv(prefix, env))
    # PYTHONHOME would break hotstart's own interpreter before it could remove it: the API
    # here, the shim (pure sh) in test_env_shim.py
    from hotstart.env import environment, load

    assert "PYTHONHOME" not in environment(load(str(snap)), dict(env, PYTHONHOME="/x"))
    data = json.loads(snap.read_text())
    assert data["set"] == {"VIRTUAL_ENV": str(prefix)} and data["unset"] == ["PYTHONHOME"]
    assert data["path"]["prepend"] == [str(prefix / "bin")]


ODD = (b"export QUOTES=\"it's \\\"quoted\\\" \\\\ back\"\n"
       b"export NEWLINES='line one\nline two\n\n'\n"
       b"export SHELLISH='$(touch pwned) `touch pwned` ${HOME} ; rm -rf /'\n"
       b"export LATIN1=\"caf\xe9 \xff\xfe\"\n"
       b"export UNICODE='\xe2\x80\xae right-to-left \xf0\x9f\x90\x8d'\n"
       b"export EMPTY=\n"
       b"export CONTROL=\"$(printf 'a\\033[31mb\\tc')\"\n")


def test_odd_values_round_trip_exactly(tmp_path):
    prefix = make_conda(tmp_path / "odd", scripts={"odd.sh": ODD})
    snap = snapshot(prefix, tmp_path / "snap.json")
    assert snap.read_bytes().isascii()                   # escapes, whatever the bytes
    env = caller_env()
    got = via_exec(str(snap), env)
    assert comparable(got) == comparable(live_conda(prefix, env))
    assert got[b"LATIN1"] == b"caf\xe9 \xff\xfe"
    assert got[b"NEWLINES"] == b"line one\nline two\n\n"
    assert got[b"SHELLISH"] == b"$(touch pwned) `touch pwned` ${HOME} ; rm -rf /"
    assert not (tmp_path / "pwned").exists()


def test_scripts_that_fail_print_or_read_stdin_still_give_the_live_environment(tmp_path):
    prefix = make_conda(tmp_path / "p", scripts={
        "a-status.sh": "export A=1\nfalse\n",            # last status 1: conda ignores it
        "b-guard.sh": '[ -n "${NOT_SET:-}" ] && export B=no\n',
        "c-print.sh": "echo 'activating c'; echo oops >&2; export C=3\n",
        "d-stdin.sh": "read line; export D=\"read:$line\"\n",
        "f-cd.sh": "cd /; export F=6\n",
    })
    result = hotstart("env", "snapshot", str(prefix), "-o", str(tmp_path / "s.json"))
    assert result.returncode == 0, result.stderr
    notes = result.stderr.decode()
    assert "c-print.sh wrote to stdout" in notes and "activating c" in notes
    assert "c-print.sh wrote to stderr" in notes
    env = caller_env()
    live = comparable(live_conda(prefix, env))
    got = comparable(via_exec(str(tmp_path / "s.json"), env))
    assert got == live
    assert got[b"A"] == b"1" and got[b"D"] == b"read:" and b"B" not in got


@pytest.mark.parametrize("script, words", [
    ("export X=1\nexit 3\n", "ended the shell (exit status 3)"),
    ("exec true\n", "ended the shell (exit status 0)"),
    ("set -e\nfalse\nexport X=1\n", "ended the shell (exit status 1)"),
    ("export PATH=/opt/only/bin\n", "replaces PATH"),
    ("unset PATH\n", "replaces PATH"),
])
def test_scripts_that_end_the_shell_or_replace_path_are_one_error_naming_them(
        tmp_path, script, words):
    prefix = make_conda(tmp_path / "p", scripts={"00-fine.sh": "export OK=1\n",
                                                 "10-bad.sh": script,
                                                 "20-after.sh": "export AFTER=1\n"})
    out = tmp_path / "s.json"
    result = hotstart("env", "snapshot", str(prefix), "-o", str(out))
    assert result.returncode == 1
    message = result.stderr.decode()
    assert message.count("\n") == 1 and message.startswith("hotstart: error: ")
    assert "10-bad.sh" in message and words in message, message
    assert not out.exists()                              # nothing half-written


def test_what_a_script_leaves_running_is_stopped(tmp_path):
    token = f"299.{os.getpid()}{len(str(tmp_path))}"   # a sleep no one else runs
    prefix = make_conda(tmp_path / "p", scripts={"bg.sh": f"sleep {token} & export E=5\n"})
    result = hotstart("env", "snapshot", str(prefix), "-o", str(tmp_path / "s.json"))
    assert result.returncode == 0, result.stderr
    assert json.loads((tmp_path / "s.json").read_text())["set"]["E"] == "5"
    deadline = time.monotonic() + 10
    while _running(token) and time.monotonic() < deadline:  # SIGKILL is not instant
        time.sleep(0.05)
    assert not _running(token)


def _running(token: str) -> bool:
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as handle:
                if token.encode() in handle.read():
                    return True
        except OSError:
            pass
    return False


def test_a_script_that_loops_times_out_naming_it(tmp_path):
    prefix = make_conda(tmp_path / "p", scripts={"loop.sh": "while :; do :; done\n"})
    result = hotstart("env", "snapshot", str(prefix), "--timeout", "1", timeout=30)
    assert result.returncode == 1
    message = result.stderr.decode()
    assert "loop.sh did not finish within 1 s" in message and message.count("\n") == 1


def test_a_missing_script_is_one_error(tmp_path):
    prefix = make_conda(tmp_path / "p")
    scripts = prefix / "etc/conda/activate.d"
    scripts.mkdir(parents=True)
    (scripts / "gone.sh").symlink_to(tmp_path / "deleted.sh")  # listed, cannot be read
    result = hotstart("env", "snapshot", str(prefix))
    assert result.returncode == 1
    assert "gone.sh ended the shell" in result.stderr.decode()


@pytest.mark.parametrize("setup, words", [
    (lambda p: None, "is not a directory"),
    (lambda p: p.mkdir(), "neither a conda environment"),
    (lambda p: make_conda(p) and (p / "conda-meta/state").write_text("{nope"),
     "not valid JSON"),
    (lambda p: make_conda(p, env_vars={"PATH": "/x"}), "env_vars sets PATH"),
    (lambda p: make_conda(p, env_vars={"bad name": "x"}), "is not a variable name"),
])
def test_bad_prefixes_are_one_line(tmp_path, setup, words):
    prefix = tmp_path / "p"
    setup(prefix)
    result = hotstart("env", "snapshot", str(prefix))
    assert result.returncode == 2
    message = result.stderr.decode()
    assert message.count("\n") == 1 and words in message, message


@pytest.mark.parametrize("args, words", [
    ([], "the following arguments are required: ACTION"),
    (["snapshot"], "the following arguments are required: PREFIX"),
    (["shim", "x.json"], "the following arguments are required: -o/--output"),
    (["snapshot", "/tmp", "--timeout", "0"], "--timeout 0: give a number of seconds above 0"),
    (["bogus"], "invalid choice: 'bogus'"),
])
def test_usage_errors_are_one_line(args, words):
    result = hotstart("env", *args)
    message = result.stderr.decode()
    assert result.returncode == 2 and message.count("\n") == 1 and words in message, message
    assert "see 'hotstart env --help'" in message or "--timeout" in args


def test_help_lists_the_actions():
    result = hotstart("env", "--help")
    assert result.returncode == 0
    for action in (b"snapshot", b"shim", b"verify"):
        assert action in result.stdout


def test_a_prefix_with_a_colon_cannot_go_in_path(tmp_path):
    prefix = tmp_path / "a:b"                            # (venv refuses such a path too)
    (prefix / "conda-meta").mkdir(parents=True)
    result = hotstart("env", "snapshot", str(prefix))
    assert result.returncode == 2 and b"contains ':'" in result.stderr
