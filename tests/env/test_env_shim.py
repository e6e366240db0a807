"""`hotstart env shim`: the sh entrypoint gives a command exactly what `hotstart exec` gives
it (byte for byte), quotes every value safely, leaves secrets out, and execs."""

from __future__ import annotations

import os
import subprocess

import pytest
from envhelpers import (
    GDAL,
    LIBS,
    PROJ,
    TIMEOUT,
    caller_env,
    comparable,
    hotstart,
    live_venv,
    make_conda,
    make_venv,
    snapshot,
    via_exec,
    via_shim,
)

ODD = (b"export LATIN1=\"caf\xe9 \xff\"\n"
       b"export TRAILING='two newlines\n\n'\n"
       b"export QUOTES=\"it's \\\"x\\\" \\\\\"\n"
       b"export INJECT=\"'; touch pwned; echo '\"\n"
       b"export SUBST='$(touch pwned) `touch pwned`'\n"
       b"export BIDI='\xe2\x80\xae evil'\n"
       b"export CONTROL=\"$(printf 'a\\033[31mb\\tc\\001')\"\n"
       b"export PERCENT='100% \\\\n'\n"
       b"export EMPTY=\n"
       b"export API_TOKEN=tok-123\n"
       b"export DB_PASSWORD='hunter2'\n")


@pytest.fixture(scope="module")
def conda(tmp_path_factory):
    base = tmp_path_factory.mktemp("shim")
    prefix = make_conda(base / "p", scripts={"gdal.sh": GDAL, "libs.sh": LIBS,
                                             "proj.sh": PROJ, "odd.sh": ODD},
                        env_vars={"SETTING": "from state", "SERVICE_KEY": "k-999"})
    snap = snapshot(prefix, base / "snap.json")
    shim = base / "entrypoint.sh"
    result = hotstart("env", "shim", str(snap), "-o", str(shim))
    assert result.returncode == 0, result.stderr
    return prefix, snap, shim, result.stdout.decode()


CALLERS = {
    "clean": caller_env(),
    "job": caller_env(JOB_ID="7", LD_LIBRARY_PATH="/opt/cuda/lib", MANPATH="/m",
                      PROJ_NETWORK="ON", GDAL_DATA="/caller/gdal"),
    "no PATH": caller_env(PATH=None),
    "empty PATH": caller_env(PATH=""),
    "empty values": caller_env(LD_LIBRARY_PATH="", MANPATH=""),
}


@pytest.mark.parametrize("caller", CALLERS)
def test_the_shim_gives_what_hotstart_exec_gives(conda, caller):
    _, snap, shim, _ = conda
    env = CALLERS[caller]
    by_exec = comparable(via_exec(str(snap), env))
    for secret in (b"API_TOKEN", b"DB_PASSWORD", b"SERVICE_KEY"):  # left out of the shim
        by_exec.pop(secret)
    got = comparable(via_shim(shim, env))
    if caller == "no PATH":  # sh gives itself a default PATH first (dash: /usr/local/sbin:...)
        theirs, ours = got.pop(b"PATH").split(b":"), by_exec.pop(b"PATH").split(b":")
        assert theirs[:2] == ours[:2] and theirs[-1] == ours[-1]  # the environment's dirs
    assert got == by_exec


def test_odd_values_are_exact_and_never_run(conda):
    prefix, _, shim, _ = conda
    got = via_shim(shim, caller_env())
    assert got[b"LATIN1"] == b"caf\xe9 \xff" and got[b"TRAILING"] == b"two newlines\n\n"
    assert got[b"INJECT"] == b"'; touch pwned; echo '"
    assert got[b"SUBST"] == b"$(touch pwned) `touch pwned`"
    assert got[b"CONTROL"] == b"a\x1b[31mb\tc\x01" and got[b"PERCENT"] == b"100% \\\\n"
    assert got[b"BIDI"] == "\u202e evil".encode() and got[b"EMPTY"] == b""
    assert not (prefix / "pwned").exists() and not (shim.parent / "pwned").exists()
    text = shim.read_bytes()
    text.decode("utf-8")                                 # the file is UTF-8, whatever the values
    assert not any(b < 0x20 and b not in b"\n\t" for b in text)  # no raw control bytes
    assert "\u202e".encode() not in text                 # nor a bidi override


def test_secrets_are_left_out_unless_allowed(conda, tmp_path):
    _, snap, shim, said = conda
    text = shim.read_text()
    for value in ("tok-123", "hunter2", "k-999"):
        assert value not in text
    assert "API_TOKEN, DB_PASSWORD, SERVICE_KEY" in said and "API_TOKEN" in text
    got = via_shim(shim, caller_env(API_TOKEN="from-caller"))
    assert got[b"API_TOKEN"] == b"from-caller" and b"DB_PASSWORD" not in got
    allowed = tmp_path / "allowed.sh"
    result = hotstart("env", "shim", str(snap), "-o", str(allowed), "--allow", "API_TOKEN")
    assert result.returncode == 0, result.stderr
    assert "tok-123" in allowed.read_text() and "hunter2" not in allowed.read_text()
    result = hotstart("env", "shim", str(snap), "-o", str(allowed), "--allow", "GDAL_DATA")
    assert result.returncode == 2 and b"sets no secret-looking variable GDAL_DATA" in \
        result.stderr


def test_the_file_is_an_executable_written_atomically(conda, tmp_path):
    _, snap, shim, _ = conda
    assert shim.stat().st_mode & 0o777 == 0o755
    target = tmp_path / "entrypoint.sh"
    target.write_text("old")
    os.chmod(target, 0o600)
    assert hotstart("env", "shim", str(snap), "-o", str(target)).returncode == 0
    assert target.stat().st_mode & 0o777 == 0o755 and target.read_text().startswith("#!/bin/sh")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entrypoint.sh"]  # no temp files
    result = hotstart("env", "shim", str(snap), "-o", str(tmp_path / "missing" / "x.sh"))
    assert result.returncode == 2 and b"does not exist" in result.stderr
    result = subprocess.run([str(shim)], capture_output=True, timeout=TIMEOUT)
    assert result.returncode == 2 and b"usage:" in result.stderr


def test_python_mode_execs_the_environments_python(conda, tmp_path):
    prefix, snap, _, _ = conda
    shim = tmp_path / "py.sh"
    assert hotstart("env", "shim", str(snap), "-o", str(shim), "--python").returncode == 0
    code = "import os, sys; print(os.getpid(), sys.prefix, os.environ['PROJ_DATA'])"
    child = subprocess.Popen([str(shim), "-c", code], stdout=subprocess.PIPE,
                             env=caller_env())
    out, _ = child.communicate(timeout=TIMEOUT)
    pid, where, proj = out.decode().split()
    assert int(pid) == child.pid and where == str(prefix)   # sh exec'd python: one process
    assert proj == f"{prefix}/share/proj"
    code = "import sys; sys.exit(5)"
    assert subprocess.run([str(shim), "-c", code], timeout=TIMEOUT).returncode == 5


def test_keep_lets_the_callers_value_win(conda, tmp_path):
    _, snap, _, _ = conda
    shim = tmp_path / "keep.sh"
    result = hotstart("env", "shim", str(snap), "-o", str(shim), "--keep", "GDAL_DATA",
                      "--keep", "LD_LIBRARY_PATH")
    assert result.returncode == 0, result.stderr
    for env in (caller_env(), caller_env(GDAL_DATA="/mine", LD_LIBRARY_PATH="")):
        by_exec = via_exec(str(snap), env, "--keep", "GDAL_DATA", "--keep", "LD_LIBRARY_PATH")
        got = via_shim(shim, env)
        assert comparable(got) == {k: v for k, v in comparable(by_exec).items()
                                   if k not in (b"API_TOKEN", b"DB_PASSWORD", b"SERVICE_KEY")}
    assert got[b"GDAL_DATA"] == b"/mine" and got[b"LD_LIBRARY_PATH"] == b""


def test_venv_shim_matches_bin_activate_with_pythonhome(tmp_path):
    prefix = make_venv(tmp_path / "venv")
    snap = snapshot(prefix, tmp_path / "snap.json")
    shim = tmp_path / "venv.sh"
    assert hotstart("env", "shim", str(snap), "-o", str(shim)).returncode == 0
    env = caller_env(PYTHONHOME="/somewhere/else")
    got = via_shim(shim, env)
    assert comparable(got) == comparable(live_venv(prefix, env))
    assert b"PYTHONHOME" not in got and got[b"VIRTUAL_ENV"] == str(prefix).encode()


def test_a_stale_snapshot_is_not_baked_in(tmp_path):
    prefix = make_conda(tmp_path / "p", scripts={"a.sh": "export A=1\n"})
    snap = snapshot(prefix, tmp_path / "snap.json")
    (prefix / "etc/conda/activate.d/a.sh").write_text("export A=2\n")
    shim = tmp_path / "s.sh"
    result = hotstart("env", "shim", str(snap), "-o", str(shim))
    assert result.returncode == 2 and b"is stale" in result.stderr and not shim.exists()
    assert hotstart("env", "shim", str(snap), "-o", str(shim), "--allow-stale").returncode == 0
