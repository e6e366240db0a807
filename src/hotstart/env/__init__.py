"""Environment activation snapshots: start a job in a conda environment or a venv without a
second interpreter (``conda run``, ``uv run``, ``poetry run`` are each a Python program that
starts before the job's own).

    >>> from hotstart import env
    >>> snap = env.take("/opt/conda/envs/worker")       # activate once, for real; record it
    >>> open("snapshot.json", "w").write(snap.to_json())
    >>> snap = env.load("snapshot.json")                 # per job: read, check, apply, exec
    >>> snap.check_fresh("snapshot.json")                # StaleSnapshot if a script changed
    >>> env.exec_command(snap, ["python", "-m", "worker"])  # never returns
    >>> env.write_shim("entrypoint.sh", snap, python=True)  # or: no hotstart at run time
    >>> env.verify_snapshot(snap)                        # [] when a live activation agrees

Modules: `model` (the `Snapshot`, its JSON, staleness), `snapshot` (taking one: conda
prefixes through a clean ``sh``, venvs computed), `apply` (the command's environment, execve),
`shim` (the ``sh`` entrypoint), `verify` (a snapshot against a live activation). The CLI is
``hotstart env snapshot|shim|verify`` and ``hotstart exec``; ``docs/env.md`` says what is
recorded and its limits.

Standard library only. Importing this package loads nothing until a name is used;
`load` and `exec_command` (what ``hotstart exec`` runs per job) load neither ``json`` nor
``subprocess``.
"""

# public name -> the submodule that defines it. A plain table rather than hotstart.lazy:
# `hotstart exec` imports this package on every job start, and pays for every module.
_LAZY = {
    "Dependency": "model", "Snapshot": "model", "SnapshotError": "model",
    "StaleSnapshot": "model", "load": "model",
    "ActivationError": "snapshot", "take": "snapshot",
    "ExecFailed": "apply", "environment": "apply", "exec_command": "apply",
    "render_shim": "shim", "write_shim": "shim",
    "compare": "verify", "verify_snapshot": "verify",
}

__all__ = ["ActivationError", "Dependency", "ExecFailed", "Snapshot", "SnapshotError",
           "StaleSnapshot", "compare", "environment", "exec_command", "load", "render_shim",
           "take", "verify_snapshot", "write_shim"]

TYPE_CHECKING = False  # not `from typing import ...`: typing alone costs milliseconds
if TYPE_CHECKING:
    from .apply import ExecFailed, environment, exec_command
    from .model import Dependency, Snapshot, SnapshotError, StaleSnapshot, load
    from .shim import render_shim, write_shim
    from .snapshot import ActivationError, take
    from .verify import compare, verify_snapshot


def __getattr__(name: str) -> object:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(__import__(f"{__name__}.{module}", fromlist=[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
