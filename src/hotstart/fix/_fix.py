"""Audit, plan, rewrite, verify, write: the `hotstart fix` pipeline."""

from __future__ import annotations

import difflib
import glob
import os
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from ..audit import audit, parse_version
from ..audit.model import AuditReport
from ..errors import BadInput, HotstartError
from .plan import SELECTABLE, Change, Skipped, plan_changes
from .verify import Verification, find_culprits, run_command

__all__ = ["fix", "FixResult", "FileChange"]


@dataclass(slots=True)
class FileChange:
    path: str
    shown: str
    before: str
    after: str
    stub_path: str | None = None
    stub: str | None = None


@dataclass(slots=True)
class FixResult:
    report: AuditReport
    changes: list[Change]
    skipped: list[Skipped]
    files: list[FileChange]
    runtime: str
    verification: Verification | None = None
    written: bool = False
    reverted: list[Change] = field(default_factory=list)

    def diff(self) -> str:
        out = []
        for change in self.files:
            out.extend(difflib.unified_diff(
                change.before.splitlines(keepends=True), change.after.splitlines(keepends=True),
                f"a/{change.shown.lstrip('/')}", f"b/{change.shown.lstrip('/')}"))
            if change.stub is not None and change.stub_path is not None:
                shown = os.path.join(os.path.dirname(change.shown),
                                     os.path.basename(change.stub_path))
                out.extend(difflib.unified_diff([], change.stub.splitlines(keepends=True),
                                                "/dev/null", f"b/{shown.lstrip('/')}"))
        return "".join(line if line.endswith("\n") else line + "\n" for line in out)


def fix(target: str, *, select: Sequence[str] = SELECTABLE, target_version: str = "3.11",
        defer: str = "auto", runtime: str = "auto", entries: Sequence[str] = (),
        profiles: Sequence[str] = (), tests: Sequence[str] = (),
        min_saving_ms: float | None = None, include_all: bool = False, write: bool = False,
        verify: str | None = None, verify_timeout: float | None = None,
        progress: Callable[[str], None] | None = None,
        report: AuditReport | None = None) -> FixResult:
    """Rewrite the project at `target`. Without `write` nothing on disk changes (with
    `verify`, files are rewritten while the tests run and restored afterwards)."""
    low, _high = parse_version(target_version)
    unknown = [s for s in select if s not in SELECTABLE]
    if unknown:
        raise BadInput(f"--select {','.join(unknown)}: choose from {', '.join(SELECTABLE)}")
    if report is None:
        report = audit(target, entries=entries, profiles=profiles, tests=tests,
                       target_version=target_version, progress=progress)
    if runtime == "auto":
        uses_hotstart = any(s.imported.split(".")[0] == "hotstart" for s in report.sites)
        runtime = "hotstart" if uses_hotstart else "stdlib"
    changes, skipped = plan_changes(report, report.paths, select=tuple(select), target=low,
                                    defer=defer, runtime=runtime, min_saving_ms=min_saving_ms,
                                    include_all=include_all)
    originals: dict[str, str] = {}
    for change in changes:
        if change.path not in originals:
            # newline="": as the bytes are (CRLF stays CRLF), so a restore is exact
            with open(change.path, encoding="utf-8", newline="") as handle:
                originals[change.path] = handle.read()
    packages = {report.paths[s.file]: s.module for s in report.sites if s.package_init}
    # Whether each package had its own __init__.pyi before anything was written: `--verify`
    # writes ours between renders, and must not then take it for the project's.
    had_stub = {path: os.path.exists(os.path.join(os.path.dirname(path), "__init__.pyi"))
                for path in packages}

    def render(subset: Sequence[Change]) -> tuple[list[FileChange], list[tuple[Change, str]]]:
        from .codemods import rewrite

        grouped: dict[str, list[Change]] = defaultdict(list)
        for change in subset:
            grouped[change.path].append(change)
        files, dropped = [], []
        for path, group in grouped.items():
            stub_path = os.path.join(os.path.dirname(path), "__init__.pyi") \
                if path in packages else None
            result = rewrite(originals[path], group, runtime=runtime,
                             package=packages.get(path),
                             has_stub=had_stub.get(path, False))
            dropped.extend(result.skipped)
            if result.source != originals[path] or result.stub:
                files.append(FileChange(path, group[0].site.file, originals[path],
                                        result.source, stub_path if result.stub else None,
                                        result.stub))
        return files, dropped

    files, dropped = render(changes)
    for change, why in dropped:
        skipped.append(Skipped(change.site, why))
    changes = [c for c in changes if all(c is not d for d, _ in dropped)]
    result = FixResult(report, changes, skipped, files, runtime)
    if verify:
        _verify(result, render, verify, verify_timeout, keep=write)
    elif write:
        _write(files)
        result.written = True
    return result


def _verify(result: FixResult, render, command: str, timeout: float | None,
            keep: bool) -> None:
    verification = Verification(command)
    result.verification = verification
    baseline = run_command(command, timeout=timeout)
    verification.runs += 1
    verification.baseline = baseline
    if not baseline.ok:
        last = baseline.tail(1) or f"exit {baseline.code}"
        raise HotstartError(f"--verify {command!r} fails before any change "
                            f"({'timed out' if baseline.timed_out else f'exit {baseline.code}'}"
                            f": {last.strip()}); make it pass first")
    originals = {f.path: f.before for f in result.files}
    stubs_before = {f.stub_path: os.path.exists(f.stub_path) for f in result.files
                    if f.stub_path}
    try:
        def test(subset: list[Change]):
            files, _ = render(subset)
            _restore(originals, stubs_before)
            _write(files)
            verification.runs += 1
            return run_command(command, timeout=timeout)

        culprits = find_culprits(result.changes, test)
        bad = [c for c, _ in culprits]
        verification.reverted = [(c.id, r.tail()) for c, r in culprits]
        good = [c for c in result.changes if all(c is not b for b in bad)]
        files, _ = render(good)
        _restore(originals, stubs_before)
        _write(files)
        final = run_command(command, timeout=timeout)
        verification.runs += 1
        verification.final = final
        if not final.ok:
            raise HotstartError(f"--verify {command!r} still fails after reverting "
                                f"{len(bad)} change(s) (flaky tests?); every file was restored")
        result.reverted = bad
        result.changes = good
        result.files = files
        if not keep:
            _restore(originals, stubs_before)
        result.written = keep
    except BaseException:
        _restore(originals, stubs_before)
        raise


def _write(files: list[FileChange]) -> None:
    for change in files:
        _atomic_write(change.path, change.after)
        if change.stub is not None and change.stub_path is not None:
            _atomic_write(change.stub_path, change.stub)


def _restore(originals: dict[str, str], stubs_before: dict[str, bool]) -> None:
    for path, text in originals.items():
        _atomic_write(path, text)
    for stub, existed in stubs_before.items():
        if not existed and os.path.exists(stub):
            os.unlink(stub)


def _atomic_write(path: str, text: str) -> None:
    directory = os.path.dirname(path) or "."
    temporary = os.path.join(directory, f".{os.path.basename(path)}.hotstart-tmp")
    try:
        mode = os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644
        with open(temporary, "w", encoding="utf-8", newline="") as handle:
            handle.write(text)
        os.chmod(temporary, mode)
        os.replace(temporary, path)
    except OSError as exc:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise HotstartError(f"cannot write {path}: {exc.strerror}") from None
    # A .pyc keyed on (mtime, size) could survive a same-second, same-size rewrite.
    stem = os.path.splitext(os.path.basename(path))[0]
    for stale in glob.glob(os.path.join(directory, "__pycache__", f"{stem}.*.pyc")):
        try:
            os.unlink(stale)
        except OSError:
            pass
