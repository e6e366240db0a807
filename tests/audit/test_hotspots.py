"""Import-time hot spots (`hotstart.audit.hotspots`): expensive calls made while a module is
imported, directly or through the project's own functions."""

from __future__ import annotations

from hotstart.audit.hotspots import EXPENSIVE

from ._helpers import audit_tree

FILES = {
    "pkg/__init__.py": "",
    "pkg/log.py": """
        import inspect


        def get_logger():
            return inspect.stack()[1]


        def outer():
            return get_logger()


        def later():
            return inspect.stack()
        """,
    "pkg/direct.py": """
        import inspect

        FRAMES = inspect.stack()
        """,
    "pkg/via.py": """
        from pkg.log import get_logger

        log = get_logger()
        """,
    "pkg/deep.py": """
        import pkg.log

        x = pkg.log.outer()
        """,
    "pkg/meta.py": """
        import importlib.metadata

        EPS = importlib.metadata.entry_points()
        """,
    "pkg/meta2.py": """
        from importlib.metadata import entry_points, version

        EPS = entry_points(group="x")
        __version__ = version("pkg")
        """,
    "pkg/proc.py": """
        import subprocess

        subprocess.run(["true"])
        """,
    "pkg/quiet.py": """
        import inspect
        import subprocess

        from pkg.log import get_logger


        def run():
            subprocess.run(["true"])
            get_logger()
            return inspect.stack()


        handler = lambda: inspect.stack()
        """,
    "pkg/local.py": """
        import inspect


        def here():
            return inspect.stack()


        class C:
            frames = inspect.stack()

            @classmethod
            def make(cls):
                return here()


        made = C.make()


        def f(x=here()):
            return x
        """,
    "pkg/cycle.py": """
        import time


        def a(n):
            return b(n - 1) if n else time.sleep(0)


        def b(n):
            return a(n)


        a(1)
        """,
}


def spots_of(tmp_path):
    report = audit_tree(tmp_path, FILES, "pkg")
    out: dict[str, list] = {}
    for spot in report.hotspots:
        out.setdefault(spot.module, []).append(spot)
    return out


def test_direct_module_level_call(tmp_path):
    [spot] = spots_of(tmp_path)["pkg.direct"]
    assert (spot.line, spot.call, spot.kind, spot.via, spot.context) == \
        (3, "inspect.stack", "frames", [], "module")
    assert spot.file.endswith("direct.py")
    assert (spot.why, spot.advice) == EXPENSIVE["inspect.stack"][1:]
    assert spot.measured_us is None


def test_call_through_a_project_function(tmp_path):
    [spot] = spots_of(tmp_path)["pkg.via"]
    assert (spot.line, spot.call, spot.via, spot.context) == \
        (3, "inspect.stack", ["pkg.log.get_logger"], "module")


def test_call_two_levels_deep(tmp_path):
    [spot] = spots_of(tmp_path)["pkg.deep"]
    assert (spot.line, spot.call, spot.via) == \
        (3, "inspect.stack", ["pkg.log.outer", "pkg.log.get_logger"])


def test_entry_points_at_import(tmp_path):
    spots = spots_of(tmp_path)
    [spot] = spots["pkg.meta"]
    assert (spot.line, spot.call, spot.kind, spot.via) == \
        (3, "importlib.metadata.entry_points", "metadata", [])
    assert [(s.line, s.call) for s in spots["pkg.meta2"]] == [
        (3, "importlib.metadata.entry_points"), (4, "importlib.metadata.version")]


def test_subprocess_at_import(tmp_path):
    [spot] = spots_of(tmp_path)["pkg.proc"]
    assert (spot.line, spot.call, spot.kind, spot.via) == (3, "subprocess.run", "subprocess", [])


def test_calls_only_inside_functions_are_not_hot_spots(tmp_path):
    spots = spots_of(tmp_path)
    assert "pkg.quiet" not in spots  # in a function body and a lambda: not at import
    assert "pkg.log" not in spots    # defines the functions, calls nothing at import


def test_same_module_functions_methods_class_bodies_and_defaults(tmp_path):
    spots = [(s.line, s.call, s.via, s.context) for s in spots_of(tmp_path)["pkg.local"]]
    assert sorted(spots) == [
        (9, "inspect.stack", [], "class-body"),
        (16, "inspect.stack", ["pkg.local.C.make", "pkg.local.here"], "module"),
        (19, "inspect.stack", ["pkg.local.here"], "default"),
    ]


def test_recursive_project_functions_terminate(tmp_path):
    [spot] = spots_of(tmp_path)["pkg.cycle"]
    assert (spot.line, spot.call, spot.kind, spot.via) == \
        (12, "time.sleep", "sleep", ["pkg.cycle.a"])
