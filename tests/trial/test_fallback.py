"""Packages that laziness breaks are found, made eager with the reason, and the output is the
eager run's again."""

from __future__ import annotations

import os

import pytest
from conftest import write_tree

from hotstart.measure.runner import Target
from hotstart.trial import run_trial
from hotstart.trial._fallback import error_line

from ._helpers import trial

#: Plugins register through an import side effect the path then needs: deferred, the
#: plugin never registers and `get` fails with a KeyError inside the package.
REGISTERS = {
    "regpkg/__init__.py": """
        REGISTRY = {}
        from regpkg import plugin_a
        def get(name):
            return REGISTRY[name]
    """,
    "regpkg/plugin_a.py": """
        import regpkg
        regpkg.REGISTRY["a"] = "plugin a"
    """,
    "other.py": "import json\n",
}

#: A submodule that announces itself at import: deferred, the program prints less, and
#: nothing fails (no traceback to read: the deferred packages are bisected).
ANNOUNCES = {
    "quiet/__init__.py": "from quiet import announcer\nfrom quiet import extra\n",
    "quiet/announcer.py": "print('announcer loaded')\n",
    "quiet/extra.py": "X = 1\n",
    "loud/__init__.py": "import quiet\nimport email.utils\n",
}


def test_a_package_whose_registration_laziness_skips_is_made_eager(tmp_path):
    report = trial(tmp_path, REGISTERS, "code",
                   "import regpkg, other\nprint(regpkg.get('a'))")
    assert list(report.eager_packages) == ["regpkg"]
    why = report.eager_packages["regpkg"]
    assert "KeyError" in why and "innermost frame is in regpkg" in why
    assert "regpkg/__init__.py:4" in why
    assert report.identical
    # Its side-effect imports eager first (not enough: `from regpkg import plugin_a` is not
    # one), then the whole package.
    # (and the project run once more with it eager: regpkg is the project here).
    assert report.fallback_runs == 3 and "; then " in why
    # Made eager, it loads its plugin; the rest stays lazy.
    assert "regpkg.plugin_a" not in report.unused
    assert "json" in report.unused


def test_a_package_that_changes_the_output_only_is_found_by_bisection(tmp_path):
    report = trial(tmp_path, ANNOUNCES, "code", "import loud\nprint('done')")
    assert list(report.eager_packages) == ["quiet"]
    assert "printed other stdout: line 1 is 'done'" in report.eager_packages["quiet"]
    assert "bisecting" in report.eager_packages["quiet"]
    assert report.identical
    # Bounded: only the output differed, so an eager and a lazy run again (is the output
    # stable?), then log2(candidates) + 3 runs at most (3 or 4 candidates, by version).
    assert 3 <= report.fallback_runs <= 2 + 5
    assert "email.utils" in report.unused


def test_the_error_line_is_the_exception_not_the_note_after_it():
    stderr = ("Traceback (most recent call last):\n"
              '  File "/srv/app/main.py", line 3, in <module>\n'
              "    run()\n"
              "KeyError: 'a'\n"
              "hotstart.lazy: raised at the first use of the import deferred at app.py:4\n")
    assert error_line(stderr) == "KeyError: 'a'"
    assert error_line("just a message\n\n") == "just a message"
    assert error_line("") == ""


def test_a_module_that_replaces_itself_in_sys_modules_needs_no_fallback(tmp_path):
    files = {
        "selfrep.py": """
            import sys
            class _Replacement:
                VALUE = 7
            sys.modules[__name__] = _Replacement()
        """,
        "user.py": "import selfrep\ndef value():\n    return selfrep.VALUE\n",
    }
    report = trial(tmp_path, files, "code", "import user\nprint(user.value())")
    assert report.identical and report.eager_packages == {}
    assert report.used["selfrep"].function == "value"


def test_a_package_registering_through_an_unread_import_keeps_only_those_eager(tmp_path):
    files = {
        "caps/__init__.py": """
            CAPI = {}
            import caps.capsule
            from caps import heavy
            def get():
                return CAPI["datetime"]
            def later():
                return heavy.X
        """,
        "caps/capsule.py": "import caps\ncaps.CAPI['datetime'] = 'C API'\n",
        "caps/heavy.py": "import decimal\nX = decimal.Decimal(2)\n",
    }
    report = trial(tmp_path, files, "code", "import caps\nprint(caps.get())")
    assert report.identical and list(report.eager_packages) == ["caps"]
    assert report.eager_packages["caps"].startswith("its side-effect imports only: ")
    # Only the unread import went eager: the rest of the package stays lazy.
    assert "caps.heavy" in report.unused and "caps.capsule" not in report.unused


#: The huggingface_hub / typer shape: the project reads what the library sets up as a side
#: effect of its own import (there `typer.core`, bound by typer's `from .main import ...`;
#: here a registry its plugins fill). Deferred inside the library, the plugins never load,
#: and the failure shows in the project's frame though the library is at fault.
BOUND_BY_A_SIDE_EFFECT = {
    "pyproject.toml": "[project]\nname = 'proj'\n",
    "site-packages/lib/__init__.py": """
        REGISTRY = {}
        from lib.plugins import loaded
        def check():
            return loaded
    """,
    "site-packages/lib/plugins.py": "import lib\nlib.REGISTRY['a'] = 'A'\nloaded = True\n",
    "proj/__init__.py": "",
    "proj/__main__.py": "from proj import cli\nprint(cli.X)\n",
    "proj/cli.py": "import lib\nimport json\nX = lib.REGISTRY['a']\n",
}


def test_the_package_a_traceback_blames_goes_back_to_lazy_when_another_was_at_fault(tmp_path):
    write_tree(tmp_path, BOUND_BY_A_SIDE_EFFECT)
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site-packages")}  # installed
    report = run_trial(Target("module", "proj", ()), runs=1, cwd=str(tmp_path), env=env,
                       timeout=120)
    assert report.identical
    # The library is at fault (found by bisecting); the project, whose frame the traceback
    # ended in, was tried lazy again and stays lazy.
    assert list(report.eager_packages) == ["lib"]
    assert "KeyError: 'a'" in report.eager_packages["lib"]
    assert any(note.startswith("proj stayed lazy: ") and "lib is eager" in note
               for note in report.notes)
    # So the project's own unused import is still deferred: the bound keeps it.
    assert "json" in report.unused
    # The project bound needs no fallback: the library's own imports stay eager there, so
    # the library is not kept eager (the project's imports of it stay lazy).
    assert report.project_identical and "json" in report.project_saved
    assert any(note.startswith("project bound: lib lazy in the project's imports")
               for note in report.notes)


def test_a_lazy_run_whose_hook_failed_is_an_error_not_an_identical_run(tmp_path, monkeypatch):
    """Every lazy run checks that the hook was installed: one without it is an eager run
    and would pass the fallback's comparison. A copy of hotstart whose hook installs in the
    first lazy run only (an import error from the second on) stands for a tree that breaks
    in the middle of a trial."""
    import shutil

    import hotstart
    from hotstart.errors import BadInput
    from hotstart.trial import _trial

    source = tmp_path / "src"
    shutil.copytree(os.path.dirname(hotstart.__file__), source / "hotstart",
                    ignore=shutil.ignore_patterns("__pycache__"))
    hook = source / "hotstart" / "lazy" / "_hook.py"
    real = hook.with_name("_hook_real.py")
    hook.rename(real)
    marker = tmp_path / "installed-once"
    hook.write_text(f"import os\n"
                    f"if os.path.exists({str(marker)!r}):\n"
                    f"    raise ImportError('the hook broke on purpose')\n"
                    f"open({str(marker)!r}, 'w').close()\n"
                    f"exec(compile(open({str(real)!r}).read(), __file__, 'exec'))\n")
    monkeypatch.setattr(_trial, "_SOURCE", str(source))
    with pytest.raises(BadInput, match="the hook broke on purpose"):
        trial(tmp_path / "project", ANNOUNCES, "code", "import loud\nprint('done')")
    assert marker.exists()  # the first lazy run had the hook
