"""The snapshot file: hostile JSON is one line naming the JSON path; staleness is detected."""

from __future__ import annotations

import json
import os

import pytest
from envhelpers import GDAL, caller_env, hotstart, make_conda, snapshot, via_exec

from hotstart.env import Snapshot, SnapshotError, load


@pytest.fixture
def conda(tmp_path):
    prefix = make_conda(tmp_path / "p", scripts={"gdal.sh": GDAL},
                        env_vars={"SETTING": "1"})
    return prefix, snapshot(prefix, tmp_path / "snap.json")


def mutate(snap, change):
    data = json.loads(snap.read_text())
    change(data)
    snap.write_text(json.dumps(data))


HOSTILE = [
    (lambda d: d.update(version=2), "$.version: snapshot version 2 is newer"),
    (lambda d: d.update(version="1"), "$.version: expected an integer, got a string"),
    (lambda d: d.update(version=True), "$.version: expected an integer, got true or false"),
    (lambda d: d.pop("format"), "not a hotstart environment snapshot"),
    (lambda d: d.pop("prefix"), "$: missing field 'prefix'"),
    (lambda d: d.update(prefix="relative/p"), "$.prefix: 'relative/p' is not an absolute"),
    (lambda d: d.update(kind="pixi"), "$.kind: 'pixi' is not 'conda' or 'venv'"),
    (lambda d: d.update(extra=1), "$: unknown field 'extra'"),
    (lambda d: d["set"].update(GDAL_DATA=3), "$.set.GDAL_DATA: expected a string, got an integer"),
    (lambda d: d["set"].update({"X; rm -rf /": "v"}), "is not a variable name a shell can set"),
    (lambda d: d["set"].update({"1X": "v"}), "$.set.1X: '1X' is not a variable name"),
    (lambda d: d["set"].update(NUL="a\0b"), "$.set.NUL: contains a NUL character"),
    (lambda d: d["set"].update(PATH="/frozen"), "$.set.PATH: PATH is $.path's"),
    (lambda d: d["path"].update(prepend="/bin"), "$.path.prepend: expected a list, got a string"),
    (lambda d: d["path"].update(prepend=["/a:/b"]), "$.path.prepend[0]: a PATH entry cannot"),
    (lambda d: d["path"].update(prepend=[None]), "$.path.prepend[0]: expected a string, got null"),
    (lambda d: d.update(with_caller={"NOPE": ["a", "b"]}), "$.with_caller.NOPE: has no value"),
    (lambda d: d.update(with_caller={"SETTING": ["a"]}), "expected [before, after], got 1"),
    (lambda d: d.update(unset=["SETTING"]), "$.set.SETTING: is also in $.unset"),
    (lambda d: d.update(unset=[1]), "$.unset[0]: expected a string, got an integer"),
    (lambda d: d["depends"]["files"][0].update(sha256="zz"), "sha256: expected 64 lower-case"),
    (lambda d: d["depends"]["files"][0].update(size=1.5), "size: expected an integer, got a num"),
    (lambda d: d["depends"].update(listings=[]), "$.depends.listings: expected an object"),
    (lambda d: d.update(set=[]), "$.set: expected an object, got a list"),
]


@pytest.mark.parametrize("change, words", HOSTILE)
def test_hostile_fields_are_one_line_naming_the_path(conda, change, words):
    _, snap = conda
    mutate(snap, change)
    for args in (["exec", str(snap), "--", "true"], ["env", "shim", str(snap), "-o",
                                                      str(snap.with_name("shim.sh"))]):
        result = hotstart(*args)
        message = result.stderr.decode()
        assert result.returncode == 2, message
        assert message.count("\n") == 1 and words in message, message
        assert message.startswith(f"hotstart: error: {snap}: ")
    assert not snap.with_name("shim.sh").exists()


@pytest.mark.parametrize("text, words", [
    ("", "not JSON (at character 0)"),
    ("{", "not JSON"),
    ('{"a": 1} trailing', "not JSON (extra data at character 9)"),
    ("[" * 100_000, "nested too deeply"),             # no RecursionError traceback
    ('{"version": NaN}', "NaN is not a JSON value"),
    ("[]", "$: expected an object, got a list"),
    ('"\\ud800"', "$: expected an object, got a string"),
])
def test_text_that_is_not_a_snapshot(tmp_path, text, words):
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(SnapshotError, match=None) as caught:
        load(str(path))
    assert words in str(caught.value) and "\n" not in str(caught.value)


def test_bytes_that_are_not_utf8_and_missing_files(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b'{"format": "\xff"}')
    with pytest.raises(SnapshotError, match="not UTF-8"):
        load(str(path))
    result = hotstart("exec", str(tmp_path / "missing.json"), "--", "true")
    assert result.returncode == 2 and b"cannot read" in result.stderr


def test_round_trip_and_odd_bytes(conda):
    _, snap = conda
    snapshot_ = load(str(snap))
    assert Snapshot.from_json(snapshot_.to_json()) == snapshot_
    snapshot_.set["ODD"] = "caf\udce9\n'\""                # a non-UTF-8 byte, as os.environ
    again = Snapshot.from_json(snapshot_.to_json())
    assert again.set["ODD"] == "caf\udce9\n'\"" and snapshot_.to_json().isascii()


def stale_lines(snap):
    result = hotstart("exec", str(snap), "--", "true")
    return result.returncode, result.stderr.decode()


def test_a_fresh_snapshot_runs(conda):
    _, snap = conda
    assert stale_lines(snap) == (0, "")


@pytest.mark.parametrize("change, words", [
    (lambda p: (p / "etc/conda/activate.d/gdal.sh").write_text(GDAL + "export NEW=1\n"),
     "activate.d/gdal.sh changed"),
    (lambda p: (p / "etc/conda/activate.d/gdal.sh").unlink(), "activate.d/gdal.sh was removed"),
    (lambda p: (p / "etc/conda/activate.d/zz-new.sh").write_text("export Z=1\n"),
     "activate.d/zz-new.sh was added"),
    (lambda p: (p / "conda-meta/state").write_text('{"env_vars": {"SETTING": "2"}}'),
     "conda-meta/state changed"),
    (lambda p: (p / "etc/conda/env_vars.d").mkdir(parents=True) or
     (p / "etc/conda/env_vars.d/pkg.json").write_text('{"A": "1"}'), "env_vars.d/pkg.json was added"),
    (lambda p: os.rename(p, p.with_name("moved")), "no longer exists"),
])
def test_a_stale_snapshot_is_refused_with_one_line(conda, change, words):
    prefix, snap = conda
    change(prefix)
    status, message = stale_lines(snap)
    assert status == 2 and message.count("\n") == 1, message
    assert "is stale" in message and words in message and "--allow-stale" in message
    if prefix.exists():
        result = hotstart("exec", "--allow-stale", str(snap), "--", "true")
        assert result.returncode == 0, result.stderr


def test_touched_but_unchanged_scripts_are_not_stale(conda):
    prefix, snap = conda
    script = prefix / "etc/conda/activate.d/gdal.sh"
    os.utime(script, ns=(1, 1))                          # a new image layer: new mtimes
    assert load(str(snap)).stale() == []
    assert stale_lines(snap) == (0, "")
    assert via_exec(str(snap), caller_env())[b"GDAL_DATA"] == f"{prefix}/share/gdal".encode()
