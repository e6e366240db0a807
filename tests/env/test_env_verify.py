"""`hotstart env verify`: exit 0 when a live activation agrees, 1 listing every difference."""

from __future__ import annotations

import json

import pytest
from envhelpers import GDAL, LIBS, hotstart, make_conda, make_venv, snapshot


@pytest.fixture
def conda(tmp_path):
    prefix = make_conda(tmp_path / "p", scripts={"gdal.sh": GDAL, "libs.sh": LIBS},
                        env_vars={"SETTING": "1", "API_TOKEN": "old-secret"})
    return prefix, snapshot(prefix, tmp_path / "snap.json")


def verify(snap):
    result = hotstart("env", "verify", str(snap))
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def test_agreement_is_exit_0(conda):
    prefix, snap = conda
    status, out, err = verify(snap)
    assert (status, err) == (0, "")
    assert out.startswith(f"ok: {snap} and a live activation of {prefix} agree: conda "
                          f"environment {prefix}; PATH +3 directories")


def test_venv_agreement(tmp_path):
    prefix = make_venv(tmp_path / "venv")
    status, out, _ = verify(snapshot(prefix, tmp_path / "snap.json"))
    assert status == 0 and out.startswith("ok:")


@pytest.mark.parametrize("change, lines", [
    (lambda p: (p / "etc/conda/activate.d/gdal.sh").write_text(
        GDAL.replace("share/gdal", "share/gdal3") + "export NEW=1\n"),
     ["{p}/etc/conda/activate.d/gdal.sh changed since the snapshot was taken",
      "GDAL_DATA: the snapshot sets '{p}/share/gdal', a live activation sets '{p}/share/gdal3'",
      "NEW: the snapshot sets nothing, a live activation sets '1'"]),
    (lambda p: (p / "etc/conda/activate.d/libs.sh").unlink(),
     ["{p}/etc/conda/activate.d/libs.sh was removed since the snapshot was taken",
      "PATH: the snapshot adds ['{p}/opt/tools/bin', '{p}/bin'] before the caller's PATH, a "
      "live activation adds ['{p}/bin']",
      "PATH: the snapshot adds ['{p}/fallback/bin'] after the caller's PATH, a live "
      "activation adds nothing",
      "LD_LIBRARY_PATH: the snapshot sets '{p}/lib', a live activation sets nothing",
      "MANPATH: the snapshot sets '{p}/man:', a live activation sets nothing"]),
    (lambda p: (p / "conda-meta/state").write_text(json.dumps(
        {"env_vars": {"SETTING": "2", "API_TOKEN": "new-secret"}})),
     ["{p}/conda-meta/state changed since the snapshot was taken",
      "SETTING: the snapshot sets '1', a live activation sets '2'",
      "API_TOKEN: the snapshot sets a value (hidden: the name looks secret), a live "
      "activation sets a value (hidden: the name looks secret)"]),
])
def test_drift_is_exit_1_with_every_difference(conda, change, lines):
    prefix, snap = conda
    change(prefix)
    status, out, err = verify(snap)
    assert status == 1 and err == "", err
    assert out.startswith(f"drift: {len(lines)} differences between {snap} and a live "
                          f"activation of {prefix}:\n")
    for line in lines:
        assert f"\n  {line.format(p=prefix)}\n" in out, out
    assert "secret" not in out.replace("looks secret", "") and "hotstart env snapshot" in out


def test_what_the_model_cannot_follow_is_listed(tmp_path):
    """A script that reads the caller's PATH: a snapshot taken in a clean shell cannot know
    what it does for a caller whose PATH differs; verify's third check says so."""
    prefix = make_conda(tmp_path / "p", scripts={
        "probe.sh": 'case "$PATH" in */usr/local/bin*) export HAS_LOCAL=1;; esac\n'})
    status, out, _ = verify(snapshot(prefix, tmp_path / "snap.json"))
    assert status == 1
    assert ("for a caller with values of its own in PATH: HAS_LOCAL: the snapshot gives "
            "nothing, a live activation gives '1'") in out


def test_a_prefix_that_is_gone(conda):
    prefix, snap = conda
    prefix.rename(prefix.with_name("elsewhere"))
    status, out, _ = verify(snap)
    assert status == 1 and f"the environment {prefix} no longer exists" in out


def test_an_activation_that_now_fails_is_exit_1(conda):
    prefix, snap = conda
    (prefix / "etc/conda/activate.d/zz.sh").write_text("exit 4\n")
    result = hotstart("env", "verify", str(snap))
    assert result.returncode == 1 and b"zz.sh ended the shell (exit status 4)" in result.stderr
