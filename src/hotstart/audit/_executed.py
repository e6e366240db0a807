"""Which of the project's functions an entrypoint runs (one extra run, with a profile hook
on calls into the project's files). A deferred import saves nothing on an entrypoint that
calls a function using it: the import is only paid later."""

from __future__ import annotations

import json
import os
import sys
import tempfile

__all__ = ["executed_functions"]

_BOOT = r"""
import atexit, json, os, sys, threading
_out = os.environ.pop("HOTSTART_EXECUTED_OUT")
_roots = tuple(json.loads(os.environ.pop("HOTSTART_EXECUTED_ROOTS")))
_seen = set()
def _hook(frame, event, arg):
    if event == "call":
        code = frame.f_code
        if code.co_filename.startswith(_roots):
            _seen.add((code.co_filename, code.co_qualname))
def _dump():
    sys.setprofile(None)
    with open(_out, "w") as handle:
        json.dump(sorted(_seen), handle)
atexit.register(_dump)
_kind, _value, *_rest = sys.argv[1:]
sys.setprofile(_hook)
threading.setprofile(_hook)
if _kind == "module":
    import runpy
    sys.argv = [_value, *_rest]
    runpy.run_module(_value, run_name="__main__", alter_sys=True)
elif _kind == "script":
    import runpy
    sys.argv = [_value, *_rest]
    runpy.run_path(_value, run_name="__main__")
else:
    sys.argv = ["-c", *_rest]
    exec(compile(_value, "<string>", "exec"), {"__name__": "__main__"})
"""


def executed_functions(kind: str, value: str, args: tuple[str, ...], roots: list[str],
                       env: dict[str, str], python: str | None = None,
                       timeout: float = 300.0, cwd: str | None = None
                       ) -> set[tuple[str, str]] | None:
    """{(realpath, qualname)} of project functions the entry ran (`<locals>` dropped), or
    None if the run did not report (a command target, os._exit, a crash)."""
    if kind not in ("module", "script", "code"):
        return None
    handle, out = tempfile.mkstemp(prefix="hotstart-executed-", suffix=".json")
    os.close(handle)
    try:
        run_env = dict(env)
        run_env["HOTSTART_EXECUTED_OUT"] = out
        run_env["HOTSTART_EXECUTED_ROOTS"] = json.dumps(
            [os.path.realpath(r) + os.sep for r in roots] + [r.rstrip(os.sep) + os.sep
                                                             for r in roots])
        # Under the profiler's supervisor: a daemon the entry starts, or the entry on its
        # timeout, ends with the run (process group and every leftover descendant).
        from ..errors import BadInput
        from ..measure.runner import _spawn

        try:
            run = _spawn([python or sys.executable, "-c", _BOOT, kind, value, *args], run_env,
                         cwd or os.getcwd(), timeout)
        except BadInput:
            return None
        if run.timed_out:
            return None
        try:
            with open(out, encoding="utf-8") as f:
                data = f.read()
        except OSError:
            return None
        if not data:
            return None
        return {(os.path.realpath(path), qualname.replace(".<locals>", ""))
                for path, qualname in json.loads(data)}
    finally:
        try:
            os.unlink(out)
        except OSError:
            pass
