"""Compare a snapshot with a live activation of its environment: every difference, one line.

Three checks, for CI and image builds (``hotstart env verify``, exit 1 on any difference):

1. what the snapshot depends on (scripts, ``conda-meta/state``, ``pyvenv.cfg``) is unchanged:
   otherwise `hotstart exec` would refuse it as stale;
2. a snapshot taken now records the same activation (PATH directories, every variable,
   every value built around the caller's, every unset);
3. when 1 and 2 agree, the environment the snapshot gives a caller equals the one a real
   activation gives the same caller: conda's exports and the ``activate.d`` scripts sourced
   in ``sh`` (or the venv's own ``bin/activate``), for a caller with a ``PATH`` and a value of
   its own in each variable the activation builds around the caller's. This checks the model
   itself against the scripts, not only the snapshot against a new one.

Values of names that look secret are never printed (the rules of `hotstart.pool.env`).
"""

from __future__ import annotations

import os

from .apply import environment
from .snapshot import BOOKKEEPING, DEFAULT_TIMEOUT, SHELL_OWN, live_environment, take

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .model import Snapshot

__all__ = ["compare", "verify_snapshot"]


def verify_snapshot(snapshot: "Snapshot", *, timeout: float = DEFAULT_TIMEOUT) -> list[str]:
    """Every difference between `snapshot` and a live activation of its prefix; empty when
    they agree. Raises what `take` raises when the environment cannot be activated now."""
    differences = [f"{reason} since the snapshot was taken" for reason in snapshot.stale()]
    if not os.path.isdir(snapshot.prefix):
        return differences
    differences += compare(snapshot, take(snapshot.prefix, timeout=timeout))
    if differences:
        return differences
    caller = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.path.expanduser("~"),
              "HOTSTART_VERIFY_JOB_PARAMETER": "42"}
    caller.update({name: f"/caller/{name.lower()}" for name in snapshot.with_caller})
    live = _comparable(live_environment(snapshot, caller, timeout=timeout))
    applied = _comparable(environment(snapshot, caller))
    return [f"for a caller with {_caller_words(snapshot)}: {line}"
            for line in _dict_diff(applied, live, "the snapshot gives", "a live activation "
                                   "gives")]


def compare(snapshot: "Snapshot", live: "Snapshot") -> list[str]:
    """The differences between two snapshots of the same prefix, one line each."""
    lines = []
    if snapshot.kind != live.kind:
        lines.append(f"kind: the snapshot has a {snapshot.kind} environment, the prefix is now "
                     f"a {live.kind} environment")
    for where, ours, theirs in (("before", snapshot.path_prepend, live.path_prepend),
                                ("after", snapshot.path_append, live.path_append)):
        if ours != theirs:
            lines.append(f"PATH: the snapshot adds {_dirs(ours)} {where} the caller's PATH, a "
                         f"live activation adds {_dirs(theirs)}")
    lines += _dict_diff(snapshot.set, live.set, "the snapshot sets", "a live activation sets")
    for name in sorted(set(snapshot.with_caller) | set(live.with_caller)):
        ours, theirs = snapshot.with_caller.get(name), live.with_caller.get(name)
        if ours != theirs and name in snapshot.set and name in live.set:
            lines.append(f"{name}: with a caller's value, the snapshot makes it "
                         f"{_around(name, ours)}, a live activation {_around(name, theirs)}")
    for name in sorted(set(snapshot.unset) ^ set(live.unset)):
        who = "the snapshot" if name in snapshot.unset else "a live activation"
        lines.append(f"{name}: only {who} unsets it")
    return lines


def _dict_diff(ours: dict[str, str], theirs: dict[str, str], our_words: str,
               their_words: str) -> list[str]:
    lines = []
    for name in sorted(set(ours) | set(theirs)):
        a, b = ours.get(name), theirs.get(name)
        if a == b:
            continue
        lines.append(f"{name}: {our_words} {_show(name, a)}, {their_words} {_show(name, b)}")
    return lines


def _comparable(env: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in SHELL_OWN and not k.startswith(BOOKKEEPING)}


def _show(name: str, value: str | None) -> str:
    from ..pool.env import _looks_secret

    if value is None:
        return "nothing"
    if _looks_secret(name):
        return "a value (hidden: the name looks secret)"
    from .._text import printable

    return printable(repr(value if len(value) <= 200 else value[:200] + "..."))


def _dirs(dirs: tuple[str, ...]) -> str:
    from .._text import printable

    return printable(repr(list(dirs))) if dirs else "nothing"


def _around(name: str, pair: tuple[str, str] | None) -> str:
    from .._text import printable

    if pair is None:
        return "the recorded value (the caller's is replaced)"
    return printable(f"{pair[0]!r} + ${name} + {pair[1]!r}")


def _caller_words(snapshot: "Snapshot") -> str:
    names = ["PATH", *sorted(snapshot.with_caller)]
    return "values of its own in " + ", ".join(names)
