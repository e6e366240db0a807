"""Apply a snapshot to the caller's environment, and replace this process with a command.

The caller's variables stay (a job's parameters, the container's settings); the snapshot's
are set over them, the names it unsets go, and ``PATH`` becomes the snapshot's directories
around the caller's own ``PATH`` at run time. `exec_command` then calls ``execve``: the
command *is* this process from then on (same pid, no parent waiting, no second interpreter),
so its exit status and the signals sent to it are its own.

Standard library only, imported on every `hotstart exec`: nothing but ``os`` up front.
"""

from __future__ import annotations

import os

from ..errors import HotstartError

TYPE_CHECKING = False  # not `from typing import ...`: typing alone costs milliseconds
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping
    from typing import NoReturn

    from .model import Snapshot

__all__ = ["DEFAULT_PATH", "ExecFailed", "environment", "exec_command"]

#: The caller's PATH when it has none (or an empty one): what execvp and the C library
#: search then, so that the command's own children find the same tools either way.
DEFAULT_PATH = os.defpath


class ExecFailed(HotstartError):
    """The command could not be started: 127 when it is not found, 126 when it is found but
    cannot be run (the exit statuses of sh and env for the same failures)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def environment(snapshot: "Snapshot", base: "Mapping[str, str] | None" = None, *,
                keep: "Iterable[str]" = ()) -> dict[str, str]:
    """The environment a command gets: `base` (default ``os.environ``) with the snapshot
    applied. A name in `keep` that `base` has keeps the caller's value. `base` is not
    modified."""
    env = dict(os.environ if base is None else base)
    kept = {name for name in keep if name in env}
    for name in snapshot.unset:
        if name not in kept:
            env.pop(name, None)
    for name, value in snapshot.set.items():
        if name in kept:
            continue
        around = snapshot.with_caller.get(name)
        caller = env.get(name)
        env[name] = around[0] + caller + around[1] if around and caller else value
    path = env.get("PATH") or DEFAULT_PATH
    env["PATH"] = ":".join((*snapshot.path_prepend, path, *snapshot.path_append))
    return env


def exec_command(snapshot: "Snapshot", argv: "list[str]", *, keep: "Iterable[str]" = (),
                 base: "Mapping[str, str] | None" = None) -> "NoReturn":
    """Replace this process with `argv`, run in the snapshot's environment; the command is
    looked up in the *new* PATH (so ``python`` is the environment's). Returns only by
    raising `ExecFailed` (127: not found, 126: cannot be run)."""
    if not argv:
        raise ExecFailed("no command given", 2)
    env = environment(snapshot, base, keep=keep)
    saved = _restore_signals()
    command = argv[0]
    if "/" in command:
        candidates = [command]
    else:  # as execvp: each PATH entry in order, an empty one is the current directory
        candidates = [os.path.join(d or ".", command) for d in env["PATH"].split(":")]
    denied: OSError | None = None
    for candidate in candidates:
        try:
            os.execve(candidate, argv, env)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except OSError as exc:  # found but not runnable: remember, and look further as execvp
            denied = denied or exc
    _restore_signals(saved)  # hotstart goes on to report the failure: ignore them again
    from .._text import printable

    if denied is not None:
        raise ExecFailed(printable(f"{command}: cannot run {denied.filename or command!r}: "
                                   f"{denied.strerror}"), 126)
    where = "" if "/" in command else " in the environment's PATH"
    raise ExecFailed(printable(f"{command}: command not found{where}"), 127)


def _restore_signals(handlers: "dict[int, object] | None" = None) -> "dict[int, object]":
    """Python ignores SIGPIPE and SIGXFSZ for itself; an ignored signal stays ignored across
    execve, so without this the command would not die of a closed pipe (``cmd | head``) as
    it does when a shell starts it. Sets them to the default (or back to `handlers`);
    returns the handlers they had. ``_signal``, not ``signal``: that one imports enum."""
    import _signal

    before = {}
    for name in ("SIGPIPE", "SIGXFSZ"):
        number = getattr(_signal, name, None)
        if number is not None:
            before[number] = _signal.signal(
                number, _signal.SIG_DFL if handlers is None else handlers[number])
    return before
