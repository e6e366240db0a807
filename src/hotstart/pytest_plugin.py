"""hotstart's pytest plugin: guard a project's start-up from its test suite.

Loaded through the ``pytest11`` entry point whenever hotstart is installed (with
``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` set: ``-p hotstart.pytest_plugin``). It runs the checks
of `hotstart check` (`hotstart.check`) on one entry: forbidden modules and the module-set
lock (deterministic), module count, and time and memory budgets (judged on interleaved
rounds). A failure names each failed check, and for a forbidden or added module the chain
of imports that loaded it and the project's line that started it::

    import pytest

    # An entry of [tool.hotstart.entries] (the configuration that applies to pytest's
    # rootdir); keywords override its configured values.
    @pytest.mark.startup("cli-help", forbid=["pandas", "torch"])
    def test_cli_help_is_light():
        pass                       # the check runs before the body

    # Or a command: -m MODULE ARGS, -c CODE, SCRIPT.py ARGS, or -- CONSOLE-SCRIPT ARGS.
    @pytest.mark.startup("-m pkg.cli --help", forbid=["pandas"], budget_ms=150)
    def test_cli_help_budget():
        pass

    def test_import_locked(hotstart_check):
        result = hotstart_check("import", lock=True)      # an EntryResult
        assert result.modules < 400

A ``startup`` marker that names no entry (a project's own marker of that name) is left
alone. A bare word (``"cli-help"``) is always an entry's name; write a console script as
``"-- mycli --help"``. ``lock=`` needs a named entry (the lock file is keyed by entry name;
``hotstart lock`` writes it). An inconclusive budget passes with a `StartupWarning`; an
entry excluded by its ``python-versions`` is skipped; a bad configuration fails the test
with one line.

Importing this module costs only itself: `hotstart.check` (and the subprocess machinery
it brings) is imported by the first test that runs a check.
"""

from __future__ import annotations

import pytest

__all__ = ["StartupWarning", "check_entry", "failure_message", "hotstart_check",
           "pytest_configure", "pytest_runtest_call"]

_MARKER_ARGS = ("entry", "forbid", "budget_ms", "max_modules", "max_rss_mb", "lock",
                "timing", "baseline")
#: Findings listed with their chains in a failure message, then "and N more".
_MAX_FINDINGS = 20


class StartupWarning(UserWarning):
    """A start-up check that passed with a warning: a budget the rounds could not decide
    (inconclusive), or a lock that lists modules the entry no longer loads."""


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "startup(entry, *, forbid=(), budget_ms=None, max_modules=None, max_rss_mb=None, "
        "lock=None, timing=True, baseline=None): before the test, check the start-up of "
        "ENTRY with hotstart (a [tool.hotstart.entries] name, or a command such as "
        "'-m pkg.cli --help'); fails naming the import chain of each forbidden or added "
        "module, or the budget exceeded.")


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_call(item: pytest.Item) -> None:
    """Run the check of a ``startup`` marker before the test's body (a failure stops it)."""
    marker = item.get_closest_marker("startup")
    if marker is None:
        return
    args, kwargs = list(marker.args), dict(marker.kwargs)
    if not args and "entry" not in kwargs:
        return  # a `startup` marker of the project's own, not hotstart's: it names no entry
    unknown = [key for key in kwargs if key not in _MARKER_ARGS]
    if len(args) == 1 and "entry" not in kwargs:
        kwargs["entry"] = args.pop()
        if _foreign(kwargs["entry"], item.config.rootpath):
            return
    if unknown or args or "entry" not in kwargs:
        problem = (f"unknown argument {unknown[0]!r}" if unknown else
                   "expected one entry: startup('cli-help', ...) or "
                   "startup('-m pkg.cli --help', ...)")
        pytest.fail(f"@pytest.mark.startup: {problem} (arguments: {', '.join(_MARKER_ARGS)})",
                    pytrace=False)
    try:
        check_entry(item.config.rootpath, what="@pytest.mark.startup", **kwargs)
    except pytest.skip.Exception as skipped:
        skipped._use_item_location = True      # report the skip at the test, as skip marks do
        raise


def _foreign(word: object, root) -> bool:
    """`@pytest.mark.startup("slow")` in a project without a hotstart configuration: a
    marker of the project's own with that name, not a request for a check."""
    from hotstart.check.config import find_config, is_entry_name

    return is_entry_name(word) and find_config(root) is None


@pytest.fixture
def hotstart_check(request: pytest.FixtureRequest):
    """``hotstart_check(entry, *, forbid=(), budget_ms=None, max_modules=None,
    max_rss_mb=None, lock=None, timing=True, baseline=None)``: check `entry` (a configured
    entry's name, or a command) and return its `hotstart.check.EntryResult`; fail the test
    naming what failed. Keywords given override a named entry's configuration."""
    root = request.config.rootpath

    def check(entry: str, *, forbid=(), budget_ms=None, max_modules=None, max_rss_mb=None,
              lock=None, timing=True, baseline=None):
        __tracebackhide__ = True
        return check_entry(root, entry, forbid=forbid, budget_ms=budget_ms,
                           max_modules=max_modules, max_rss_mb=max_rss_mb, lock=lock,
                           timing=timing, baseline=baseline, what="hotstart_check")

    return check


def check_entry(root, entry: str, *, forbid=(), budget_ms=None, max_modules=None,
                max_rss_mb=None, lock=None, timing=True, baseline=None,
                what: str = "hotstart_check"):
    """Check one entry of the project at `root` as a test: its `EntryResult` when it passes
    (or is inconclusive: a `StartupWarning`); `pytest.fail` when it fails, did not run, or
    the configuration or the arguments are wrong; `pytest.skip` when its python-versions
    exclude this interpreter."""
    __tracebackhide__ = True
    from hotstart.errors import BadInput

    try:
        result = _run(root, entry, what, timing=timing, baseline=baseline,
                      forbid=forbid, budget_ms=budget_ms, max_modules=max_modules,
                      max_rss_mb=max_rss_mb, lock=lock)
    except BadInput as exc:                     # ConfigError too: one line, no traceback
        usage = f"hotstart: {exc}"
    else:
        usage = None
    if usage is not None:                       # outside the except: no chained context
        pytest.fail(usage, pytrace=False)
    if result.verdict == "skipped":
        pytest.skip(f"hotstart: entry '{_p(result.name)}': {_p(result.reason)}")
    if result.verdict in ("fail", "error"):
        pytest.fail(failure_message(result), pytrace=False)
    import warnings

    if result.verdict == "inconclusive":
        warnings.warn(StartupWarning(
            f"hotstart: entry '{_p(result.name)}' passed inconclusively: " + "; ".join(
                j.sentence() for j in result.judgements if j.verdict == "inconclusive")),
            stacklevel=3)
    if result.removed:
        warnings.warn(StartupWarning(
            f"hotstart: entry '{_p(result.name)}' no longer loads {_names(result.removed)}, "
            f"listed in the lock: update it with 'hotstart lock'"), stacklevel=3)
    return result


def _run(root, entry, what, *, timing, baseline, **given):
    """Build a configuration holding `entry` alone and check it."""
    import dataclasses
    from pathlib import Path

    from hotstart import check
    from hotstart.check.config import is_entry_name

    if not isinstance(entry, str) or not entry.strip():
        raise check.ConfigError(f"{what}: entry must be an entry's name or a command "
                                f"('-m pkg.cli --help'), got {entry!r}")
    overrides = _overrides(what, **given)
    root = Path(root)
    found = check.find_config(root)
    config = check.load_config(found) if found is not None else None
    if is_entry_name(entry):
        if config is None or entry not in config.entries:
            known = ", ".join(config.entries) if config is not None else ""
            where = (f"{config.where}: no entry named {entry!r} (entries: {known or 'none'})"
                     if config is not None else
                     f"{what}: no entry named {entry!r}: no [tool.hotstart] configuration "
                     f"applies to {root}")
            raise check.ConfigError(f"{where}; a console script is written '-- {entry}'")
        spec = dataclasses.replace(config.entries[entry], **overrides)
    else:
        if overrides.get("lock"):
            raise check.ConfigError(f"{what}: lock= needs a configured entry's name (the "
                                    f"lock file is keyed by entry name), not a command")
        spec = check.EntryConfig(name=entry, run=entry, **overrides)
        if config is None:
            config = check.CheckConfig(path=None, root=root.resolve(),
                                       lock_file=root.resolve() / "hotstart.lock")
    config = dataclasses.replace(config, entries={spec.name: spec})
    report = check.run_check(config, names=[spec.name], timing=timing, baseline=baseline)
    return report.entries[0]


def _overrides(what, *, forbid, budget_ms, max_modules, max_rss_mb, lock) -> dict:
    """The `EntryConfig` fields the keywords give, checked (`ConfigError` naming one)."""
    from hotstart.check import ConfigError
    from hotstart.check.config import is_module_glob

    out: dict = {}
    patterns = (forbid,) if isinstance(forbid, str) else forbid
    if not isinstance(patterns, (list, tuple, set, frozenset)):
        raise ConfigError(f"{what}: forbid: expected a list of module globs, got {forbid!r}")
    for pattern in patterns:
        if not is_module_glob(pattern):
            raise ConfigError(f"{what}: forbid: {pattern!r} is not a module name or glob "
                              f"(e.g. 'torch', 'pandas.*')")
    if patterns:
        out["forbid"] = tuple(patterns)
    for key, value, whole in (("budget_ms", budget_ms, False), ("max_modules", max_modules,
                              True), ("max_rss_mb", max_rss_mb, False)):
        if value is None:
            continue
        kinds = int if whole else (int, float)
        if isinstance(value, bool) or not isinstance(value, kinds) or not value >= 0:
            raise ConfigError(f"{what}: {key}: expected a {'whole ' if whole else ''}number "
                              f">= 0, got {value!r}")
        out[key] = value if whole else float(value)
    if lock is not None:
        if lock is not True and lock is not False and lock not in ("modules", "packages"):
            raise ConfigError(f"{what}: lock: expected True, False, 'modules' or "
                              f"'packages', got {lock!r}")
        out["lock"] = "modules" if lock is True else (lock or None)
    return out


def failure_message(result) -> str:
    """What failed on a failed entry, one check per line, with the chain and the origin of
    each forbidden or added module::

        hotstart: entry 'cli-help' (-m pkg.cli --help) failed on Python 3.11: forbidden email
          forbidden email (rule 'email', +11 loaded with it): pkg.data -> email.parser -> email
            imported at src/pkg/data.py:2
    """
    name = f"'{_p(result.name)}'" + ("" if result.name == result.run else
                                      f" ({_p(result.run)})")
    if result.verdict == "error":
        return f"hotstart: entry {name} on Python {result.python}: {_p(result.reason)}"
    failed = "; ".join(_p(f) for f in result.failures())
    lines = [f"hotstart: entry {name} failed on Python {result.python}: {failed}"]
    shown = 0
    for kind, findings in (("forbidden", result.forbidden), ("added", result.added)):
        for finding in findings:
            shown += 1
            if shown > _MAX_FINDINGS:
                continue
            facts = [f"rule '{_p(finding.rule)}'"] if finding.rule else []
            if finding.covers:
                facts.append(f"+{finding.covers} loaded with it")
            extra = f" ({', '.join(facts)})" if facts else ""
            lines.append(f"  {kind} {_p(finding.module)}{extra}: {_p(finding.chain_text())}")
            origin = finding.origin
            if origin is not None:
                lines.append(f"    imported at {_p(origin[0])}:{origin[1]}")
    if shown > _MAX_FINDINGS:
        lines.append(f"  and {shown - _MAX_FINDINGS} more")
    if result.added:
        lines.append("  if intended, update the lock: hotstart lock (or hotstart check "
                     "--update)")
    if result.lock == "missing":
        lines.append(f"  no lock for Python {result.python}: write it with 'hotstart lock'")
    if result.removed:
        lines.append(f"  no longer loaded (in the lock): {_names(result.removed)}")
    if result.max_modules is not None and result.modules > result.max_modules:
        lines.append(f"  {result.modules} modules imported, max-modules {result.max_modules}")
    lines.extend(f"  {_p(j.sentence())}" for j in result.judgements if j.verdict == "fail")
    lines.extend(f"  note: {_p(note)}" for note in result.notes)
    return "\n".join(lines)


def _names(names: list[str], most: int = 10) -> str:
    shown = ", ".join(_p(n) for n in names[:most])
    return shown + (f" and {len(names) - most} more" if len(names) > most else "")


def _p(text: object) -> str:
    """Project-written text made safe to print (one line, no terminal controls)."""
    from hotstart._text import printable

    return printable(text)
