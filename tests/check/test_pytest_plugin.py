"""hotstart's pytest plugin (`hotstart.pytest_plugin`), run for real: a tiny project in the
pytester directory (its pyproject.toml makes it pytest's rootdir and holds `[tool.hotstart]`),
and pytest in a subprocess that loads the plugin through its ``pytest11`` entry point.

The project: ``pkg.cli`` imports ``pkg.data``, which imports ``email.parser`` on its line 2.
Most checks run with ``timing=False`` (one traced run each); one uses a generous budget to
exercise the timed rounds.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

pytest_plugins = ["pytester"]

PROJECT = {
    "pkg/__init__.py": "",
    "pkg/cli.py": """\
        import argparse
        from pkg import data

        def main():
            argparse.ArgumentParser(prog="pkg").parse_args()

        if __name__ == "__main__":
            main()
        """,
    "pkg/data.py": """\
        import json
        import email.parser
        """,
}

CONFIG = """\
    [project]
    name = "pkg"
    version = "0"

    [tool.hotstart.entries]
    import = { run = "-c 'import pkg.cli'", lock = true }
    old = { run = "-c pass", python-versions = ["2.7"] }

    [tool.hotstart.entries.cli-help]
    run = "-m pkg.cli --help"
    forbid = ["email"]
    """


@pytest.fixture
def project(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch):
    """The tiny project in the pytester directory; returns a function writing more files."""
    monkeypatch.delenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", raising=False)

    def write(files: dict[str, str]) -> None:
        for relative, text in files.items():
            path = pytester.path / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))

    write({**PROJECT, "pyproject.toml": CONFIG})
    return write


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """pytest in a subprocess (the plugin from its entry point), markers strict: an
    unregistered `startup` marker would be an error."""
    result = pytester.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider",
                                           "-rA", *args, timeout=300)
    result.stdout.fnmatch_lines([f"rootdir: {pytester.path}*"])
    return result


SKIPPED_OLD = ("SKIPPED [[]1[]] test_named.py:[0-9]*: hotstart: entry 'old': python-versions "
               "'2.7' excludes 3.*")


def assert_no_traceback(result: pytest.RunResult) -> None:
    text = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in text and "traceback entries" not in text, text
    assert "hotstart/check/" not in text and "pytest_plugin.py" not in text, text


def test_marker_forbidden_module_fails_naming_its_chain_and_origin(pytester, project):
    pytester.makepyfile(test_startup="""
        import pytest

        @pytest.mark.startup("-m pkg.cli --help", forbid=["email"], timing=False)
        def test_email_forbidden():
            raise AssertionError("the body runs after a passing check only")

        @pytest.mark.startup(entry="-m pkg.cli --help", forbid=["xml", "http.*"],
                             timing=False)
        def test_xml_forbidden():
            pass
        """)
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*_ test_email_forbidden _*",
        "hotstart: entry '-m pkg.cli --help' failed on Python 3.*: forbidden email",
        "  forbidden email (rule 'email', +* loaded with it): pkg.cli -> pkg.data -> email.parser -> email",
        "    imported at pkg/data.py:2",
        "PASSED test_startup.py::test_xml_forbidden",
    ])
    result.stdout.no_fnmatch_line("*the body runs*")
    assert_no_traceback(result)


def test_fixture_returns_the_entry_result_or_fails(pytester, project):
    pytester.makepyfile(test_fixture="""
        import warnings

        def test_passes(hotstart_check):
            result = hotstart_check("-m pkg.cli --help", forbid="xml*", timing=False)
            assert result.verdict == "pass" and result.forbidden == []
            assert result.modules > 10 and result.judgements == []

        def test_forbidden(hotstart_check):
            hotstart_check("-m pkg.cli --help", forbid=["email.*"], timing=False)

        def test_budget_judged(hotstart_check):
            with warnings.catch_warnings():
                warnings.simplefilter("error")     # not inconclusive at 5 s
                result = hotstart_check("-c 'import pkg.cli'", budget_ms=5000)
            [time] = result.judgements
            assert (time.name, time.verdict, time.limit) == ("time", "pass", 5000)
            assert 0 < time.high < 5000 and time.rounds >= 15

        def test_did_not_run(hotstart_check):
            hotstart_check("-m pkg.missing", timing=False)
        """)
    result = run(pytester)
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines([
        "*_ test_forbidden _*",
        "hotstart: entry '-m pkg.cli --help' failed on Python 3.*: forbidden email.*",
        "  forbidden email.parser (rule 'email.*'*): pkg.cli -> pkg.data -> email.parser",
        "    imported at pkg/data.py:2",
        "*_ test_did_not_run _*",
        "hotstart: entry '-m pkg.missing' on Python 3.*: the entry did not run: *pkg.missing*",
    ])
    result.stdout.fnmatch_lines(["PASSED test_fixture.py::test_budget_judged"])
    assert_no_traceback(result)


def test_named_entry_from_the_configuration(pytester, project):
    pytester.makepyfile(test_named="""
        import pytest

        @pytest.mark.startup("cli-help", timing=False)
        def test_configured_forbid():
            pass

        @pytest.mark.startup("cli-help", forbid=["xml"], timing=False)
        def test_keyword_overrides_forbid():
            pass

        def test_fixture_named(hotstart_check):
            hotstart_check("cli-help", timing=False)

        @pytest.mark.startup("old")
        def test_other_python_only():
            pass

        def test_fixture_other_python_only(hotstart_check):
            hotstart_check("old")

        @pytest.mark.startup("cli-hlep")
        def test_typo():
            pass
        """)
    result = run(pytester)
    result.assert_outcomes(passed=1, failed=3, skipped=2)
    result.stdout.fnmatch_lines([
        "*_ test_configured_forbid _*",
        "hotstart: entry 'cli-help' (-m pkg.cli --help) failed on Python 3.*: forbidden email",
        "  forbidden email (rule 'email', +* loaded with it): pkg.cli -> pkg.data -> email.parser -> email",
        "    imported at pkg/data.py:2",
        "*_ test_fixture_named _*",
        "hotstart: entry 'cli-help' (-m pkg.cli --help) failed on Python 3.*: forbidden email",
        "*_ test_typo _*",
        ("hotstart: pyproject.toml: no entry named 'cli-hlep' (entries: import, old, "
         "cli-help); a console script is written '-- cli-hlep'"),
    ])
    result.stdout.fnmatch_lines([
        "PASSED test_named.py::test_keyword_overrides_forbid",
    ])
    # Skipped where the test is (the marker) or calls the fixture, not inside the plugin.
    result.stdout.fnmatch_lines([
        SKIPPED_OLD,
        SKIPPED_OLD,
    ])
    assert_no_traceback(result)


def test_lock_through_the_fixture(pytester, project):
    pytester.makepyfile(test_lock="""
        def test_import_locked(hotstart_check):
            result = hotstart_check("import", timing=False)
            assert result.lock == "ok"
        """)
    # No lock yet: the entry fails saying so.
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "hotstart: entry 'import' (-c 'import pkg.cli') failed on Python 3.*: no lock for *",
        "  no lock for Python 3.*: write it with 'hotstart lock'",
    ])
    locked = pytester.run(sys.executable, "-m", "hotstart", "lock", timeout=300)
    assert locked.ret == 0, locked.stderr.str()
    assert (pytester.path / "hotstart.lock").is_file()
    run(pytester).assert_outcomes(passed=1)
    # A new import: the module and its chain from the project's line that added it.
    project({"pkg/cli.py": """\
        import argparse
        from pkg import data
        import xml.dom.minidom
        """})
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "hotstart: entry 'import' (-c 'import pkg.cli') failed on Python 3.*: * modules *",
        "  added xml (+* loaded with it): pkg.cli -> xml.dom.minidom -> * -> xml",
        "    imported at pkg/cli.py:3",
        "  if intended, update the lock: hotstart lock*",
    ])
    assert_no_traceback(result)


def test_bad_configuration_and_arguments_fail_in_one_line(pytester, project):
    project({"pyproject.toml": CONFIG + "budgetms = 100\n"})
    pytester.makepyfile(test_bad="""
        import pytest

        @pytest.mark.startup("cli-help")
        def test_bad_key():
            pass
        """)
    result = run(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*_ test_bad_key _*",
        ("hotstart: pyproject.toml: [[]tool.hotstart.entries.cli-help[]] unknown key "
         "'budgetms'; did you mean 'budget-ms'?"),
        "*= short test summary info =*",
    ])
    assert_no_traceback(result)

    project({"pyproject.toml": CONFIG})
    pytester.makepyfile(test_bad="""
        import pytest

        @pytest.mark.startup("cli-help", budget=100)
        def test_unknown_argument():
            pass

        def test_bad_lock(hotstart_check):
            hotstart_check("cli-help", lock="yes")

        def test_lock_on_a_command(hotstart_check):
            hotstart_check("-m pkg.cli", lock=True)

        def test_bad_forbid(hotstart_check):
            hotstart_check("-m pkg.cli", forbid=["pkg data"])
        """)
    result = run(pytester)
    result.assert_outcomes(failed=4)
    result.stdout.fnmatch_lines([
        "@pytest.mark.startup: unknown argument 'budget' (arguments: entry, forbid, *)",
        ("hotstart: hotstart_check: lock: expected True, False, 'modules' or 'packages', "
         "got 'yes'"),
        "hotstart: hotstart_check: lock= needs a configured entry's name *",
        "hotstart: hotstart_check: forbid: 'pkg data' is not a module name or glob *",
    ])
    assert_no_traceback(result)


def test_inconclusive_passes_with_a_warning(monkeypatch):
    from hotstart import pytest_plugin
    from hotstart.check import EntryResult, Judgement

    judgement = Judgement("time", "ms", 98.0, 90.0, 106.0, 100.0, "inconclusive", 45, 0.95)
    result = EntryResult("cli", "-m pkg.cli", "3.11", verdict="inconclusive",
                         judgements=[judgement])
    monkeypatch.setattr(pytest_plugin, "_run", lambda *args, **kwargs: result)
    with pytest.warns(pytest_plugin.StartupWarning,
                      match=r"entry 'cli' passed inconclusively: time: 98.0 ms above the "
                            r"floor \[90.0, 106.0\], budget 100 ms: inconclusive"):
        assert pytest_plugin.check_entry(".", "cli", budget_ms=100) is result


def test_importing_the_plugin_costs_only_itself():
    """pytest loads the plugin in every session: beyond pytest's own modules it may add
    hotstart's two (hotstart.check, and the subprocess and tempfile modules it uses, are
    imported by the first check)."""
    code = textwrap.dedent("""
        import sys
        import pytest
        before = set(sys.modules)
        import hotstart.pytest_plugin
        print(sorted(set(sys.modules) - before))
        print("hotstart.check" in sys.modules)
        """)
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.splitlines()
    assert out == ["['hotstart', 'hotstart.pytest_plugin']", "False"]
    # Without pytest's own imports: the plugin module alone loads no subprocess/tempfile.
    code = textwrap.dedent("""
        import sys
        sys.modules["pytest"] = type(sys)("pytest")
        sys.modules["pytest"].hookimpl = lambda **kw: (lambda f: f)
        sys.modules["pytest"].fixture = lambda f: f
        import hotstart.pytest_plugin
        print(sorted(m for m in ("hotstart.check", "subprocess", "tempfile")
                     if m in sys.modules))
        """)
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                         timeout=60, check=True).stdout.splitlines()
    assert out == ["[]"]


def test_a_projects_own_startup_marker_is_left_alone(pytester, project):
    """A project that has a `startup` marker of its own (no entry) keeps its meaning."""
    pytester.makepyfile(test_own="""\
        import pytest

        @pytest.mark.startup
        def test_plain():
            pass

        @pytest.mark.startup(order=1)
        def test_with_options():
            pass
        """)
    run(pytester).assert_outcomes(passed=2)
