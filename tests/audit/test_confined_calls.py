"""A module-level object the module builds from a library class whose constructor and some
methods change only that object (`CONFINED_METHODS`: pluggy's `PluginManager` and its
`add_hookspecs`, sqlite-utils' `plugins.py`) is the module's own business, like its
containers: calling those methods is not an effect, so the package's re-export of a module
that imports it can be deferred. Anything else stays an effect. Each table entry is attacked
against the installed library: in a real interpreter, the calls change no module global or
class attribute of the library and replace or remove nothing in `sys.modules` (they may
import a module, as any deferred import does: argparse's formatter imports `shutil`)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from hotstart.audit._uses import CONFINED_METHODS

from ._helpers import audit_tree, site

#: sqlite-utils' shape: the package re-exports Database, whose module imports the plugins.
PLUGGY = {
    "plug/__init__.py": "from .db import Database\n\n__all__ = ['Database']\n",
    "plug/hookspecs.py": """
        import pluggy

        hookspec = pluggy.HookspecMarker("plug")


        @hookspec
        def prepare_connection(conn):
            \"\"\"Modify the connection.\"\"\"
        """,
    "plug/db.py": """
        from plug.plugins import pm


        class Database:
            def __init__(self):
                pm.hook.prepare_connection(conn=self)
        """,
}
PLUGINS = textwrap.dedent("""
    import pluggy

    from . import hookspecs

    pm = pluggy.PluginManager("plug")
    pm.add_hookspecs(hookspecs)
    """)


@pytest.mark.parametrize(("plugins", "effect"), [
    (PLUGINS, None),
    (PLUGINS + 'pm.load_setuptools_entrypoints("plug")\n',
     "calls plug.plugins.pm.load_setuptools_entrypoints() at line 7"),
    (PLUGINS.replace('PluginManager("plug")', 'PluginManager(str.lower("PLUG"))'),
     "calls plug.plugins.pm.add_hookspecs() at line 6"),
    (PLUGINS.replace('pm = pluggy.PluginManager("plug")',
                     'pm = pluggy.PluginManager("plug")\npm = hookspecs.MANAGER'),
     "calls plug.plugins.pm.add_hookspecs() at line 7"),
    (PLUGINS.replace("import pluggy\n", "import pluggy as pluggy_real\n\nclass pluggy:\n"
                     "    PluginManager = dict\n"),
     "calls plug.plugins.pm.add_hookspecs() at line 9"),
])
def test_a_plugin_manager_the_module_built_is_its_own(tmp_path, plugins, effect):
    """The re-export is deferrable when `plugins.py` only builds its manager and adds the
    specs; loading entry points (which imports other distributions' code), a constructor
    argument that calls something, a name bound to another object, or a `pluggy` that is
    not the library keep it an effect."""
    report = audit_tree(tmp_path, {**PLUGGY, "plug/plugins.py": plugins}, "plug")
    reexport = site(report, "plug", "Database")
    if effect is None:
        assert reexport.klass == "deferrable", reexport.reason
    else:
        assert reexport.klass == "side-effect", reexport.reason
        assert effect in reexport.reason, reexport.reason


@pytest.mark.parametrize(("opts", "effect"), [
    ('"""Options."""\nimport argparse\n\nparser = argparse.ArgumentParser(prog="app", '
     'description=__doc__)\nparser.add_argument("--count", type=int, default=1, '
     'choices=[1, 2])\nparser.add_argument("-v", action="store_true")\n'
     'parser.set_defaults(mode="fast")\n', None),
    # argparse instantiates what it is given: an action class, a formatter class
    ('import argparse\n\nclass Count(argparse.Action):\n    pass\n\n'
     'parser = argparse.ArgumentParser(prog="app")\n'
     'parser.add_argument("--count", action=Count)\n',
     "calls app.opts.parser.add_argument() at line 7"),
    ('import argparse\n\nclass Wide(argparse.HelpFormatter):\n    pass\n\n'
     'parser = argparse.ArgumentParser(prog="app", formatter_class=Wide)\n'
     'parser.add_argument("--count", type=int)\n',
     "calls app.opts.parser.add_argument() at line 7"),
    ('import argparse\n\nparser = argparse.ArgumentParser(prog="app")\n'
     'parser.parse_known_args([])\n', "calls app.opts.parser.parse_known_args() at line 4"),
    ('import argparse\n\nint = str\nparser = argparse.ArgumentParser(prog="app")\n'
     'parser.add_argument("--count", type=int)\n',
     "calls app.opts.parser.add_argument() at line 5"),
])
def test_an_argument_parser_the_module_built_is_its_own(tmp_path, opts, effect):
    """Literal options (a builtin `type=`, a string `action=`, the module's `__doc__`) change
    only the parser; a class argparse would instantiate, another method, or a rebound `int`
    keep the call an effect."""
    report = audit_tree(tmp_path, {
        "app/__init__.py": "from .opts import parser\n",
        "app/opts.py": opts}, "app")
    reexport = site(report, "app", "parser")
    if effect is None:
        assert reexport.klass == "deferrable", reexport.reason
    else:
        assert reexport.klass == "side-effect", reexport.reason
        assert reexport.effects == [f"app.opts: {effect}"], reexport.effects


#: For every entry of CONFINED_METHODS: the library modules to watch, the calls to make, and
#: a check (after the second snapshot) that they did their work.
ATTACKS = {
    "pluggy.PluginManager": ("pluggy", """
        import types
        import pluggy
        spec = pluggy.HookspecMarker("attack")
        specs = types.SimpleNamespace(first=spec(lambda x: None), second=spec(
            firstresult=True)(lambda y: None), not_a_hook=lambda: None)
        made = pluggy.PluginManager("attack")
        more = types.SimpleNamespace(third=spec(historic=True)(lambda z: None))
        made.add_hookspecs(specs)
        made.add_hookspecs(more)
        """, "assert made.hook.first.spec and made.hook.second.spec.opts['firstresult'] and "
        "made.hook.third.is_historic()"),
    "argparse.ArgumentParser": ("argparse", """
        import argparse
        made = argparse.ArgumentParser(prog="attack", description="d")
        made.add_argument("--count", type=int, default=1, choices=[1, 2], help="h")
        made.add_argument("paths", nargs="*")
        made.set_defaults(mode="fast", count=2)
        """, "assert made.parse_args([]).count == 2"),
}
_SNAPSHOT = """
import sys, types

def snapshot(top):
    seen = {f"sys.modules[{name}]": id(module) for name, module in sys.modules.items()}
    for name, module in sorted(sys.modules.items()):
        if module is None or name != top and not name.startswith(top + "."):
            continue
        for key, value in sorted(vars(module).items()):
            entry = [id(value)]
            if isinstance(value, (dict, list, set)):
                entry.append(len(value))
                if isinstance(value, dict):
                    entry.append(sorted(map(repr, value)))
            if isinstance(value, type) and value.__module__ == name:
                entry.append({k: id(v) for k, v in vars(value).items()})
                entry.append([(k, len(v)) for k, v in vars(value).items()
                              if isinstance(v, (dict, list, set))])
            seen[f"{name}.{key}"] = entry
    return seen
"""


@pytest.mark.parametrize("klass", sorted(CONFINED_METHODS))
def test_each_confined_class_changes_nothing_outside_its_object(klass):
    """The attack: build the object and call every listed method (with specs, options and
    defaults), in a real interpreter; every module global and
    class attribute of the library, and every module loaded before, are as they were."""
    top, calls, check = ATTACKS[klass]
    called = {line.split("(")[0].split(".")[-1] for line in textwrap.dedent(calls).splitlines()
              if line.startswith("made.")}
    assert CONFINED_METHODS[klass] <= called, "an attack must call every listed method"
    imports = "\n".join(line for line in textwrap.dedent(calls).splitlines()
                        if line.startswith("import "))
    code = (_SNAPSHOT + f"\n{imports}\nbefore = snapshot({top!r})\n"
            + textwrap.dedent(calls) + f"\nafter = snapshot({top!r})\n"
            "changed = sorted(k for k in before.keys() | after.keys() if before.get(k) !=\n"
            "                 after.get(k) and not (k.startswith('sys.modules[') and\n"
            "                                       k not in before))\n"
            f"print('changed:', changed)\n{check}\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "changed: []", done.stdout


def test_the_attack_sees_a_change_outside_the_object():
    """The snapshot is not blind: a class attribute changed by a call is seen."""
    code = _SNAPSHOT + textwrap.dedent("""
        import argparse
        before = snapshot("argparse")
        argparse.ArgumentParser.attacked = True
        after = snapshot("argparse")
        print(sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k)))
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, check=True)
    assert "argparse.ArgumentParser" in done.stdout, done.stdout
