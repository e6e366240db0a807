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
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

__all__ = ["CommandResult", "run_command", "find_culprits", "Verification"]

T = TypeVar("T")


@dataclass(slots=True)
class CommandResult:
    ok: bool
    code: int | None
    output: str
    timed_out: bool = False

    def tail(self, lines: int = 12) -> str:
        return "\n".join(self.output.rstrip().splitlines()[-lines:])


@dataclass(slots=True)
class Verification:
    command: str
    baseline: CommandResult | None = None
    final: CommandResult | None = None
    runs: int = 0
    #: (change id, output tail of the run that blamed it)
    reverted: list[tuple[str, str]] = field(default_factory=list)


def run_command(command: str, *, cwd: str | None = None, timeout: float | None = None
                ) -> CommandResult:
    env = dict(os.environ)
    try:
        done = subprocess.run(command, shell=True, cwd=cwd, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, timeout=timeout, text=True,
                              errors="replace", start_new_session=True)
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout if isinstance(exc.stdout, str) else (exc.stdout or b"").decode(
            errors="replace")
        return CommandResult(False, None, output + f"\n(timed out after {timeout} s)", True)
    return CommandResult(done.returncode == 0, done.returncode, done.stdout)


def find_culprits(changes: Sequence[T], test: Callable[[list[T]], CommandResult]
                  ) -> list[tuple[T, CommandResult]]:
    """The changes that make `test` fail, each with the failing result that blamed it.
    `test(subset)` must apply exactly `subset` and run the command."""

    def search(candidates: list[T], base: list[T], failing: CommandResult | None
               ) -> list[tuple[T, CommandResult]]:
        if failing is None:
            result = test(base + candidates)
            if result.ok:
                return []
            failing = result
        if len(candidates) == 1:
            return [(candidates[0], failing)]
        half = len(candidates) // 2
        first, second = candidates[:half], candidates[half:]
        bad_first = search(first, base, None)
        good_first = [c for c in first if all(c is not b for b, _ in bad_first)]
        bad_second = search(second, base + good_first, None)
        if not bad_first and not bad_second:  # flaky: the whole set failed once, halves pass
            return []
        return bad_first + bad_second

    if not changes:  # nothing applied: nothing to blame (a failure here is flakiness)
        return []
    return search(list(changes), [], None)
