"""`hotstart fix --verify "COMMAND"`: run the project's tests on the rewritten code and, if
they fail, find the changes that break them by bisection, revert those, and keep the rest.

`apply(subset)` writes the files for a subset of changes; `run()` runs the command. The
search is adaptive group testing: a half that passes alone is kept while the other half is
searched, so a break that needs two changes together is still found (the second one is
blamed, with the first applied). It costs about `2 k log2(n)` runs for `k` culprits among
`n` changes, plus the baseline and the final check.
"""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["CommandResult", "Verification", "find_culprits", "run_command"]

T = TypeVar("T")


@dataclass(slots=True)
class CommandResult:
    ok: bool
    code: int | None
    output: str
    timed_out: bool = False

    def tail(self, lines: int = 12) -> str:
        return "\n".join(self.output.rstrip().splitlines()[-lines:])

    def error_line(self) -> str:
        """The line that says what failed: pytest's last `E   ...` line (the exception of a
        failed test or of a collection error), else the last exception line of a traceback,
        else the last `FAILED`/`ERROR` line, else the last line; "" for no output."""
        from ..trial._fallback import error_line as exception_line

        lines = [line.strip() for line in self.output.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("E ")]
        if errors:
            return errors[-1][1:].strip()
        found = exception_line(self.output)
        failed = [line for line in lines if line.startswith(("FAILED", "ERROR"))]
        if found and found != (lines[-1] if lines else ""):
            return found
        return failed[-1] if failed else found

    def failure(self, lines: int = 12) -> str:
        """What a failing run shows in a report: its error line first, then its last
        `lines` lines (the error line not repeated)."""
        first = self.error_line()
        tail = [line for line in self.tail(lines).splitlines() if line.strip() != first]
        return "\n".join(([first] if first else []) + tail)


@dataclass(slots=True)
class Verification:
    command: str
    baseline: CommandResult | None = None
    final: CommandResult | None = None
    runs: int = 0
    #: (change id, what the run that blamed it said: its error line, then its last lines)
    reverted: list[tuple[str, str]] = field(default_factory=list)
    #: Changed modules whose type hints could not be checked, each with why.
    hints_unchecked: list[str] = field(default_factory=list)


def run_command(command: str, *, cwd: str | None = None, timeout: float | None = None,
                env: dict[str, str] | None = None) -> CommandResult:
    """Run `command` through the shell. It gets a session of its own, and on a timeout or an
    interrupt the whole session is killed: a test runner's children must not outlive it (nor
    hold its output pipe open, which would hang the wait)."""
    process = subprocess.Popen(command, shell=True, cwd=cwd, env=env or dict(os.environ),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, text=True, errors="replace",
                               start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill_session(process)
        output, _ = process.communicate()
        return CommandResult(False, None, (output or "") + f"\n(timed out after {timeout} s)",
                             True)
    except BaseException:
        _kill_session(process)
        process.communicate()
        raise
    return CommandResult(process.returncode == 0, process.returncode, output)


def _kill_session(process: subprocess.Popen) -> None:
    # Only while `process` is not reaped: its pid (the session's id) cannot be reused yet.
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def find_culprits(changes: Sequence[T], test: Callable[[list[T]], CommandResult],
                  on_trial: Callable[[list[T], int], None] | None = None,
                  known: CommandResult | None = None) -> list[tuple[T, CommandResult]]:
    """The changes that make `test` fail, each with the failing result that blamed it.
    `test(subset)` must apply exactly `subset` and run the command. `on_trial(candidates,
    depth)` is told before each run which changes are on trial and how deep the bisection
    is (0: all of them; about log2(n) at single changes). `known`: the result of `test` on
    all of `changes` when a run already gave it (it is not run again)."""

    def search(candidates: list[T], base: list[T], failing: CommandResult | None,
               depth: int) -> list[tuple[T, CommandResult]]:
        if failing is None:
            if on_trial is not None:
                on_trial(candidates, depth)
            result = test(base + candidates)
            if result.ok:
                return []
            failing = result
        if len(candidates) == 1:
            return [(candidates[0], failing)]
        half = len(candidates) // 2
        first, second = candidates[:half], candidates[half:]
        bad_first = search(first, base, None, depth + 1)
        good_first = [c for c in first if all(c is not b for b, _ in bad_first)]
        bad_second = search(second, base + good_first, None, depth + 1)
        if not bad_first and not bad_second:  # flaky: the whole set failed once, halves pass
            return []
        return bad_first + bad_second

    if not changes:  # nothing applied: nothing to blame (a failure here is flakiness)
        return []
    if known is not None and known.ok:
        return []
    return search(list(changes), [], known, 0)
