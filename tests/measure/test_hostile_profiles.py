"""Hostile input: fuzzed `-X importtime` output, and profile files built to break `show`/`diff`.

Every input must be read or refused with one line `hotstart: error: FILE: ...` (exit 2):
never a traceback, a hang, or raw terminal escapes on the user's screen.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import make_process, make_profile, module

from hotstart.measure.importtime import is_importtime_line, parse
from hotstart.measure.merge import merge_importtime
from hotstart.measure.model import Profile

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "importtime"
HOTSTART = Path(sys.executable).with_name("hotstart")


# -- -X importtime: a bounded, seeded fuzz ---------------------------------------------------

_PIECES = ["|", " ", "  ", "\t", "\r", "cached", "-", "import time:", "\x00", "\x1b[2J", "é",
           "\u202e", "self [us] | cumulative | imported package", "\n", "9" * 19, "-" + "9" * 19]


def _mutate(rng: random.Random, lines: list[str]) -> str:
    """One mutant of a recorded log: numbers blown up, pieces inserted, lines cut or moved."""
    lines = list(lines)
    for _ in range(rng.randint(1, 4)):
        index = rng.randrange(len(lines))
        line = lines[index]
        op = rng.randrange(7)
        if op == 0:  # a number far past int()'s 4,300-digit limit, or just past a C long
            digits = rng.choice([20, 4301, 6000])
            line = re.sub(r"\d+", f"{rng.choice(['', '-'])}{'7' * digits}", line,
                          count=rng.randint(1, 2))
        elif op == 1:
            at = rng.randrange(len(line) + 1)
            line = line[:at] + rng.choice(_PIECES) + line[at:]
        elif op == 2:
            line = line[: rng.randrange(len(line) + 1)]
        elif op == 3:
            at = rng.randrange(len(line) + 1)
            line = line[:at] + " " * rng.choice([1, 2, 7, 1000]) + line[at:]
        elif op == 4:
            lines.insert(rng.randrange(len(lines) + 1), line)
        elif op == 5:
            line = "".join(rng.sample(line, len(line)))
        else:
            line = line.replace(rng.choice(line or " "), chr(rng.randrange(0x20, 0x3000)))
        lines[index] = line
    return "\n".join(lines)


def test_importtime_parser_survives_fuzzed_logs():
    """1,500 seeded mutants of the recordings: `parse` reads them all (a line CPython could not
    have printed is one of the program's own lines), and the fallback engine merges them."""
    rng = random.Random(20261206)
    recordings = [path.read_text().splitlines()[:30] for path in sorted(FIXTURES.glob("*.txt"))]
    huge_lines = 0
    for _ in range(1500):
        text = _mutate(rng, rng.choice(recordings))
        logs = parse(text)  # any exception fails the test
        for line in text.splitlines():
            is_importtime_line(line)
        merge_importtime([logs], [1000.0])
        huge_lines += sum(len(line) > 4300 for log in logs for line in log.other_lines)
    assert huge_lines > 50  # the mutants really contained lines past int()'s limit


@pytest.mark.parametrize("digits", [20, 4301, 10_000])
def test_importtime_number_too_long_for_a_c_long_is_not_an_importtime_line(digits):
    line = f"import time: {'1' * digits} |         5 |   json"
    assert not is_importtime_line(line)
    (log,) = parse(f"import time: self [us] | cumulative | imported package\n{line}\n")
    assert log.entries == [] and log.other_lines == [line]
    # A C long's 19 digits still parse.
    (log,) = parse(f"import time: {'9' * 19} |         5 |   json\n")
    assert log.entries[0].self_us == 10**19 - 1


# -- show / diff on hostile profile files ----------------------------------------------------


def hotstart(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(HOTSTART), *args], capture_output=True, text=True, timeout=300,
                          stdin=subprocess.DEVNULL)


def _document() -> dict:
    return json.loads(json.dumps(make_profile().to_dict()))


def _edit(change) -> str:
    data = _document()
    change(data)
    return json.dumps(data)


def _set(path: str, value) -> str:
    """The sample profile with the value at a dotted path (`processes.0.pid`) replaced."""
    def change(data):
        *parents, last = path.split(".")
        for part in parents:
            data = data[int(part)] if isinstance(data, list) else data[part]
        data[int(last) if isinstance(data, list) else last] = value
    return _edit(change)


def _raw(path: str, literal: str) -> str:
    """Like `_set`, with a JSON literal the json module would not write (NaN, huge numbers)."""
    return _set(path, "@@").replace('"@@"', literal)


def _chain(count: int, **fields) -> str:
    modules = [module(f"m{i}", f"m{i - 1}" if i else None, i, self_ms=1, cum_ms=count - i,
                      **fields) for i in range(count)]
    return json.dumps(make_profile(processes=[make_process(modules)]).to_dict())


_SCHEMA = '{"schema": "hotstart.profile/1", "target": '
HOSTILE = {  # file text -> what the one error line must say
    "deep_lists": (_SCHEMA + "[" * 100_000 + "]" * 100_000 + "}", "JSON nested deeper"),
    "deep_objects": (_SCHEMA + '{"a": ' * 100_000 + "1" + "}" * 100_001,
                     "JSON nested deeper"),
    "long_integer": (_raw("processes.0.pid", "9" * 5000),
                     "processes[0].pid: expected an integer, found an integer of 5000 digits"),
    "long_float": (_raw("processes.0.modules.2.self_us.median", "1" * 5000 + ".5"),
                   "processes[0].modules[2].self_us.median: expected a number between"),
    "huge_integer": (_raw("processes.0.modules.1.cumulative_us.max", "1" + "0" * 20),
                     "processes[0].modules[1].cumulative_us.max: expected a number between"),
    "nan": (_raw("processes.0.modules.3.self_us.median", "NaN"),
            "processes[0].modules[3].self_us.median: expected a number between -1e+18 and "
            "1e+18, found nan"),
    "infinity": (_raw("wall_us.min", "-Infinity"), "wall_us.min: expected a number between"),
    "string_for_number": (_set("processes.0.modules.0.self_us.max", "12"),
                          "processes[0].modules[0].self_us.max: expected a number, found '12'"),
    "bool_for_integer": (_set("runs", True), "runs: expected an integer, found true"),
    "number_for_name": (_set("processes.0.modules.4.name", 4),
                        "processes[0].modules[4].name: expected a string, found 4"),
    "object_for_list": (_set("processes.0.edges", {}),
                        "processes[0].edges: expected a list, found an object of 0 items"),
    "list_for_object": (_set("processes.0.bytecode", [1]),
                        "processes[0].bytecode: expected an object, found a list of 1 item"),
    "string_for_target": (_set("target", "python app.py"),
                          "target: expected a list, found 'python app.py'"),
    "null_module": (_set("processes.0.modules.2", None),
                    "processes[0].modules[2]: expected an object, found null"),
    "missing_field": (_edit(lambda d: d["processes"][0]["modules"][5].pop("self_us")),
                      "processes[0].modules[5].self_us: missing"),
    "twice_the_same_module": (
        _edit(lambda d: d["processes"][0]["modules"].append(d["processes"][0]["modules"][0])),
        "processes[0].modules[11].name: module 'json' is listed twice (also at modules[0])"),
    "importer_cycle": (_set("processes.0.modules.0.importer", "json.scanner"),
                       "processes[0].modules[0].importer: modules import each other in a cycle"),
    "own_importer": (_set("processes.0.modules.4.importer", "app"),
                     "processes[0].modules[4].importer: modules import each other in a cycle"),
    "escape_in_a_wrong_value": (_set("created", ["\x1b[2J"]),
                                "created: expected a string, found a list of 1 item"),
    "not_an_object": ("[1, 2]", "expected a hotstart.profile/1 document, found 'list'"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_show_and_diff_refuse_a_hostile_profile_with_one_line(tmp_path, name):
    text, reason = HOSTILE[name]
    path = tmp_path / f"{name}.json"
    path.write_text(text)
    good = tmp_path / "good.json"
    good.write_text(json.dumps(_document()))
    for args in (["show", str(path)], ["diff", str(good), str(path)]):
        done = hotstart(*args)
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr.startswith(f"hotstart: error: {path}: not a hotstart profile: {reason}")
        assert done.stderr.count("\n") == 1 and "\x1b" not in done.stderr


def test_unknown_fields_may_hold_anything(tmp_path):
    """Newer writers may add fields: what they hold is not read, however hostile."""
    path = tmp_path / "newer.json"
    path.write_text(json.dumps(_document())[:-1] + ', "added_later": ' + "9" * 5000
                    + ', "also": NaN}')
    done = hotstart("show", str(path))
    assert done.returncode == 0, done.stderr


def test_a_valid_20000_deep_tree_renders_in_every_view(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text(_chain(20_000))
    done = hotstart("show", str(path), "--threshold", "0")
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if " m" in line and "(first-party)" in line]
    assert len(rows) == 20_000
    assert rows[-1].split("(first-party)")[0].rstrip().endswith("└─ m19999")
    assert "[19959 levels] " in rows[-1]  # the outer levels' drawing is elided
    assert max(len(line) for line in done.stdout.splitlines()) < 400
    for args in (["--format", "table"], ["--format", "json"], ["--why", "m19999"],
                 ["--depth", "3"]):
        done = hotstart("show", str(path), *args)
        assert done.returncode == 0 and done.stderr == "", (args, done.stderr)
    done = hotstart("diff", str(path), str(path))
    assert done.returncode == 0 and done.stderr == ""


# -- text from the profile is shown, never obeyed, by the terminal ---------------------------

_HOSTILE_TEXT = "evil\x1b[2J\x1b]0;pwned\x07\u202e\ud800\x9b31m"


def _escaping_profile() -> str:
    data = _document()
    process = data["processes"][0]
    process["modules"][4]["name"] = "app" + _HOSTILE_TEXT
    for record in process["modules"]:
        if record["importer"] == "app":
            record["importer"] = "app" + _HOSTILE_TEXT
        record["site"] = f"/srv/{_HOSTILE_TEXT}/x.py:3"
    process["modules"][7]["distribution"] = _HOSTILE_TEXT
    process["modules"][7]["status"] = "error:" + _HOSTILE_TEXT
    process["argv"] = ["python", _HOSTILE_TEXT]
    process["executable"] = _HOSTILE_TEXT
    process["edges"].append({"importer": "app.config", "imported": "pandas",
                             "site": f"{_HOSTILE_TEXT}:1"})
    process["hot_calls"] = [{"function": _HOSTILE_TEXT, "file": _HOSTILE_TEXT, "line": 1,
                             "calls": 1, "self_us": 10.0, "cumulative_us": 20.0,
                             "callers": [{"function": _HOSTILE_TEXT, "file": None,
                                          "line": None, "calls": 1, "cumulative_us": 20.0}],
                             "callees": [{"function": _HOSTILE_TEXT, "file": None,
                                          "line": None, "calls": 1, "cumulative_us": 5.0}]}]
    process["profiling_import_us"] = 1000.0
    data["processes"].append(json.loads(json.dumps(process)))
    data.update(target=["python", _HOSTILE_TEXT], created=_HOSTILE_TEXT,
                notes=[_HOSTILE_TEXT], stderr_tail=[_HOSTILE_TEXT], exit_code=1,
                engine=_HOSTILE_TEXT, python=_HOSTILE_TEXT)
    return json.dumps(data)


@pytest.mark.parametrize("args", [["--threshold", "0"], ["--format", "table"],
                                  ["--why", "pandas"], ["--why", "app.jobs"],
                                  ["--why", "app" + _HOSTILE_TEXT.replace("\ud800", "")],
                                  ["--why", "app.jobz"]])
def test_control_characters_from_the_profile_are_escaped(tmp_path, args):
    path = tmp_path / "escapes.json"
    path.write_text(_escaping_profile())
    done = hotstart("show", str(path), *args)
    assert done.returncode in (0, 2), done.stderr
    output = done.stdout + done.stderr
    assert "Traceback" not in output
    assert not any(ord(char) < 32 and char != "\n" or 0x7F <= ord(char) < 0xA0
                   or char in "\u202e" or 0xD800 <= ord(char) < 0xE000 for char in output)
    if done.returncode == 0:
        assert "evil\\x1b[2J\\x1b]0;pwned\\x07\\u202e\\ud800\\x9b31m" in done.stdout


def test_diff_escapes_control_characters(tmp_path):
    before, after = tmp_path / "before.json", tmp_path / "after.json"
    before.write_text(json.dumps(_document()))
    after.write_text(_escaping_profile())
    done = hotstart("diff", str(before), str(after), "--threshold", "0")
    assert done.returncode == 0, done.stderr
    assert "\x1b" not in done.stdout and "\u202e" not in done.stdout
    assert "evil\\x1b[2J" in done.stdout


# -- the tree is linear in sibling count -----------------------------------------------------


def _python_calls(function, *args, **kwargs) -> int:
    """How many Python-level calls `function(*args, **kwargs)` makes: a deterministic measure
    of work (wall time is not)."""
    calls = 0

    def count(frame, event, arg):
        nonlocal calls
        calls += event == "call"

    sys.setprofile(count)
    try:
        function(*args, **kwargs)
    finally:
        sys.setprofile(None)
    return calls


def _siblings(count: int) -> Profile:
    """A root with `count` children, every other one below the 1 ms cut."""
    modules = [module("root", None, 0, self_ms=1, cum_ms=count)]
    modules += [module(f"s{i}", "root", i + 1, self_ms=1, cum_ms=2 if i % 2 else 0.5)
                for i in range(count)]
    return make_profile(processes=[make_process(modules)])


def test_tree_work_grows_linearly_with_the_number_of_siblings():
    from hotstart.render.tree import render_tree

    small = _python_calls(render_tree, _siblings(1000))
    large = _python_calls(render_tree, _siblings(4000))
    assert large < 4.5 * small  # quadratic: 16 times
    text = render_tree(_siblings(20_000))
    assert text.count("(first-party)") == 1 + 10_000
    assert "… 10000 more modules below the cut" in text


def test_tree_of_a_20000_deep_chain_and_of_its_deepest_module_in_why():
    from hotstart.render.tree import render_tree

    profile = Profile.from_json(_chain(20_000))
    text = render_tree(profile, threshold_ms=0)
    assert text.count("(first-party)") == 20_000
    assert max(len(line) for line in text.splitlines()) < 400
    small = _python_calls(render_tree, Profile.from_json(_chain(1000)), threshold_ms=0)
    large = _python_calls(render_tree, Profile.from_json(_chain(4000)), threshold_ms=0)
    assert large < 4.5 * small
