"""hotstart eats its own cooking: `import hotstart` and `hotstart --help` stay near free.

Deterministic proxies for start-up time (the benchmark in bench/ measures the time): the set
of modules each loads beyond what a bare interpreter already has.
"""

from __future__ import annotations

import pathlib
import subprocess
import sys

from hotstart.measure.importtime import parse

HEAVY = {"rich", "libcst", "psutil", "cloudpickle", "dask", "distributed", "ray", "numpy",
         "pandas", "yaml", "json", "argparse", "typing", "dataclasses", "subprocess",
         "tempfile", "re", "ast", "inspect", "importlib.metadata"}


def imported_by(argv: list[str]) -> set[str]:
    """Modules a command imports beyond the bare interpreter, via -X importtime."""
    def run(args: list[str]) -> set[str]:
        result = subprocess.run([sys.executable, "-X", "importtime", *args], text=True,
                                capture_output=True, timeout=60)
        logs = [log for log in parse(result.stderr) if log.entries]
        return {entry.name for entry in logs[0].fresh()} if logs else set()

    return run(argv) - run(["-c", "pass"])


def test_import_hotstart_loads_only_itself():
    assert imported_by(["-c", "import hotstart"]) == {"hotstart"}


def test_lazy_public_names_resolve():
    code = "import hotstart; print(hotstart.Target.__module__, 'Target' in dir(hotstart))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out == "hotstart.measure.runner True\n"


def test_help_loads_no_parser_and_no_tooling():
    script = pathlib.Path(sys.executable).with_name("hotstart")
    loaded = imported_by([str(script), "--help"])
    assert loaded <= {"hotstart", "hotstart.cli"}, loaded
    assert not loaded & HEAVY
    # `python -m` adds runpy's own imports, but still no parser and no tooling
    assert not imported_by(["-m", "hotstart", "--help"]) & HEAVY


def test_import_hotstart_pool_loads_nothing_until_used():
    assert imported_by(["-c", "import hotstart.pool"]) == {"hotstart", "hotstart.lazy",
                                                           "hotstart.pool"}


def test_warm_pool_class_loads_no_tooling():
    """The parent of a pool pays for the Executor base class, sockets and threads, not for
    dataclasses/inspect, typing, subprocess (loaded when the template starts) or extras."""
    loaded = imported_by(["-c", "from hotstart.pool import WarmPool"])
    assert "hotstart.pool.warm" in loaded
    assert not loaded & (HEAVY - {"re"}), loaded & HEAVY


def test_audit_loads_libcst_only_to_fix(tmp_path):
    """The audit reads source with `ast`; libcst is imported by the codemods alone."""
    (tmp_path / "mod.py").write_text("import json\n\ndef f():\n    return json.dumps(1)\n")
    code = ("import sys; from hotstart.audit import audit; audit(sys.argv[1], run=False); "
            "assert 'libcst' not in sys.modules; from hotstart.fix import fix; "
            "fix(sys.argv[1], include_all=True); print('libcst' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "mod.py")],
                         capture_output=True, text=True, timeout=60)
    assert out.stdout == "True\n", out.stderr
    script = pathlib.Path(sys.executable).with_name("hotstart")
    assert not imported_by([str(script), "audit", "--help"]) & {"libcst", "rich", "pandas"}


def test_lazy_runtime_loads_only_itself_until_enabled():
    """A package that calls `hotstart.lazy.attach` or `enable()` pays for the runtime only:
    no tooling, no parser; the hook's modules load when the mode is switched on."""
    assert imported_by(["-c", "import hotstart.lazy"]) == {"hotstart", "hotstart.lazy"}
    enabled = imported_by(["-c", "import hotstart.lazy; hotstart.lazy.enable()"])
    assert "hotstart.lazy._hook" in enabled
    assert not enabled & HEAVY, enabled & HEAVY
    assert {m for m in enabled if m.startswith("hotstart")} <= {
        "hotstart", "hotstart.lazy", "hotstart.lazy._hook", "hotstart.lazy._mode",
        "hotstart.lazy._objects", "hotstart.lazy._bytecode", "hotstart.lazy._stand_ins"}


def test_lazy_cli_runtime_imports_no_cli_framework():
    """`hotstart.lazy.cli` is imported by a rewritten CLI at every start: it must not import
    click, typer or argparse itself (the program does, as before)."""
    loaded = imported_by(["-c", "import hotstart.lazy.cli"])
    assert not loaded & (HEAVY | {"click", "typer", "argparse"}), loaded
