"""`hotstart.pool._cenviron`: the C environment read directly, in a fresh interpreter each
(the changes are real ``setenv``/``putenv`` calls on the process's own environment)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

_PRELUDE = """
import ctypes, json, os, posix
from hotstart.pool import _cenviron
libc = ctypes.CDLL(None)
assert _cenviron.available()
start = _cenviron.entries()
first = _cenviron.stamp()
"""

CHANGES = {
    "os.putenv new": "os.putenv('HS_NEW', '1')",
    "posix.putenv new": "posix.putenv(b'HS_NEW', b'1')",
    "putenv same value": "os.putenv('HOME', os.environ['HOME'])",
    "os.unsetenv": "os.unsetenv('HOME')",
    "setenv from C": "libc.setenv(b'HS_NEW', b'1', 1)",
    "setenv replace from C": "libc.setenv(b'HOME', b'/elsewhere', 1)",
    "unsetenv from C": "libc.unsetenv(b'PATH')",
    "clearenv": "libc.clearenv()",
    "clearenv then setenv": "libc.clearenv(); libc.setenv(b'HS_NEW', b'1', 1)",
    "os.environ item": "os.environ['HS_NEW'] = '2'",
}


def _run(body: str) -> dict:
    code = _PRELUDE + textwrap.dedent(body)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env={"HOME": "/home/x", "PATH": "/usr/bin:/bin",
                                           "HS_KEEP": "a=b=c", "PYTHONPATH": _path()})
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _path() -> str:
    import hotstart

    return str(__import__("pathlib").Path(hotstart.__file__).parents[1])


def test_reading_agrees_with_the_process_environment():
    seen = _run("""
        print(json.dumps({"entries": [e.decode() for e in start],
                          "environ": [f"{k}={v}" for k, v in os.environ.items()],
                          "unchanged": _cenviron.unchanged(first),
                          "again": _cenviron.unchanged(_cenviron.stamp())}))
    """)
    assert sorted(seen["entries"]) == sorted(seen["environ"])
    assert {"HOME=/home/x", "HS_KEEP=a=b=c"} <= set(seen["entries"])
    assert seen["unchanged"] and seen["again"]


@pytest.mark.parametrize("change", sorted(CHANGES))
def test_every_kind_of_change_is_seen_and_put_back(change):
    seen = _run(f"""
        {CHANGES[change]}
        moved = not _cenviron.unchanged(first)
        _cenviron.restore(start, posix.putenv, posix.unsetenv)
        after = _cenviron.entries()
        libc.getenv.restype = ctypes.c_char_p
        print(json.dumps({{"moved": moved, "same": sorted(after) == sorted(start),
                          "home": libc.getenv(b"HOME").decode(),
                          "new": libc.getenv(b"HS_NEW"),
                          "stable": _cenviron.unchanged(_cenviron.stamp())}}))
    """)
    assert seen["moved"], change
    assert seen["same"] and seen["home"] == "/home/x" and seen["new"] is None, seen
    assert seen["stable"]


def test_reads_do_not_move_the_stamp():
    seen = _run("""
        libc.getenv(b"HOME"); os.environ.get("HOME"); dict(os.environ); _cenviron.entries()
        print(json.dumps({"unchanged": _cenviron.unchanged(first)}))
    """)
    assert seen["unchanged"]
