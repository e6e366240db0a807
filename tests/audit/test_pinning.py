"""Module-level computations that pin a library (`hotstart.audit._pinning`): a needed
third-party import pinned by a module-level statement gets the concrete rewrite by hand in
its advice, written with the program's own names, and the renderers show it."""

from __future__ import annotations

import json

from hotstart.audit.model import AuditReport
from hotstart.render.audit import render_audit
from hotstart.render.audit_markdown import render_audit_markdown

from ._helpers import audit_tree, site

FILES = {
    "app/__init__.py": "",
    "app/paths.py": """
        import atexit
        import json
        from pathlib import Path

        import requests
        from platformdirs import user_cache_dir

        CACHE = Path(user_cache_dir("app"))
        SESSION = requests.Session()
        atexit.register(SESSION.close)
        SETTINGS = json.loads("{}")


        def f():
            return CACHE / "a"


        def g():
            return CACHE / "b"


        class Store:
            def h(self):
                return CACHE.exists()


        def get(url):
            return SESSION.get(url)
        """,
    "app/other.py": """
        import numpy as np

        from app.paths import CACHE

        DEFAULT: float = np.float64(0)
        np.seterr(all="ignore")
        LIMIT = DEFAULT + 1


        def use():
            return CACHE, DEFAULT


        def reset():
            global DEFAULT
            DEFAULT = 0.0
        """,
    "app/clean.py": """
        import atexit

        import diskcache

        atexit.register(diskcache.Cache.close)
        """,
}


def test_assignment_advice_names_statement_function_and_uses(tmp_path):
    report = audit_tree(tmp_path, FILES, "app")
    platformdirs = site(report, "app.paths", "user_cache_dir")
    assert platformdirs.klass == "needed"
    [advice] = platformdirs.advice
    assert advice.startswith('line 8 `CACHE = Path(user_cache_dir("app"))`: make CACHE a '
                             "function: `@functools.cache` `def _cache() -> Path: return "
                             'Path(user_cache_dir("app"))`')
    assert "read `_cache()` where CACHE is read (3 uses: f(), g(), Store.h())" in advice
    assert "other modules read CACHE (app.other:3)" in advice
    assert "platformdirs then loads on first use" in advice


def test_atexit_registration_of_the_value_is_rewritten_to_run_only_if_computed(tmp_path):
    report = audit_tree(tmp_path, FILES, "app")
    [advice] = site(report, "app.paths", "requests").advice
    assert "make SESSION a function: `@functools.cache` `def _session() -> requests.Session: " \
           "return requests.Session()`" in advice
    assert "(1 use: get())" in advice
    assert ("replace the atexit registration at line 10 by one that runs only if SESSION was "
            "computed: `@atexit.register` `def _at_exit(): if _session.cache_info().currsize: "
            "_session().close()`") in advice


def test_effect_call_import_time_read_and_rebinding(tmp_path):
    report = audit_tree(tmp_path, FILES, "app")
    first, second = site(report, "app.other", "np").advice
    assert first.startswith("line 5 `DEFAULT: float = np.float64(0)`: make DEFAULT a function: "
                            "`@functools.cache` `def _default() -> float: return "
                            "np.float64(0)`")
    assert "(1 use: use())" in first  # reset() binds it: a write, not a read
    assert "DEFAULT is also read at import (line 7)" in first
    assert "DEFAULT is rebound (by reset() at line 16)" in first
    assert second.startswith('line 6 `np.seterr(all="ignore")` runs at import for its effect '
                             "and keeps numpy loaded")


def test_atexit_handing_over_a_library_function(tmp_path):
    report = audit_tree(tmp_path, FILES, "app")
    [advice] = site(report, "app.clean", "diskcache").advice
    assert advice == ('line 5 `atexit.register(diskcache.Cache.close)`: register a function '
                      'that touches diskcache on exit only if the program loaded it: '
                      '`@atexit.register` `def _at_exit(): if "diskcache" in sys.modules: '
                      'diskcache.Cache.close()`, and import diskcache where it is used')


def test_standard_library_and_project_imports_get_no_advice(tmp_path):
    report = audit_tree(tmp_path, FILES, "app")
    assert site(report, "app.paths", "json").advice == []
    assert site(report, "app.paths", "Path").advice == []
    assert site(report, "app.other", "CACHE").advice == []


def test_advice_round_trips_and_is_rendered(tmp_path):
    report = audit_tree(tmp_path, FILES, "app")
    again = AuditReport.from_dict(json.loads(json.dumps(report.to_dict())))
    assert site(again, "app.paths", "requests").advice == \
        site(report, "app.paths", "requests").advice
    text = " ".join(render_audit(report).split())
    assert "rewrite by hand: line 8 `CACHE = Path(user_cache_dir(\"app\"))`: make CACHE a " \
           "function" in text
    markdown = render_audit_markdown(report)
    assert "#### Module-level computations that pin a library" in markdown
    assert "- `paths.py:6` `platformdirs`: line 8 `CACHE = " in markdown


def test_no_advice_where_more_than_computations_pin_the_import(tmp_path):
    """A base class also pins numpy: rewriting the constant would not free it, so no advice;
    a `TypeVar` is a type, which a function cannot stand for."""
    report = audit_tree(tmp_path, {
        "app/__init__.py": "",
        "app/kinds.py": """
            from typing import TypeVar

            import numpy as np
            import pandas as pd

            ZERO = np.float64(0)


            class Frame(pd.DataFrame):
                pass


            T = TypeVar("T", bound=np.ndarray)
            """}, "app")
    assert site(report, "app.kinds", "pd").advice == []
    [advice] = site(report, "app.kinds", "np").advice  # none for the TypeVar
    assert advice.startswith("line 6 `ZERO = np.float64(0)`: make ZERO a function")


def test_statements_found_across_multiline_strings_decorators_and_unicode(tmp_path):
    """Statements are parsed one top-level statement at a time: a string spanning lines at
    column 0, a decorated reader and a non-ASCII line still give the right statement and
    uses."""
    report = audit_tree(tmp_path, {
        "app/__init__.py": "",
        "app/texts.py": '''
            import functools

            import requests

            HELP = """
            SESSION = not code
            """
            SESSION = requests.Session()  # pour « sessions »


            @functools.lru_cache
            def fetch(url):
                return SESSION.get(url)


            class Client:
                def get(self):
                    return SESSION
            '''}, "app")
    [advice] = site(report, "app.texts", "requests").advice
    assert advice.startswith("line 8 `SESSION = requests.Session()`: make SESSION a function")
    assert "(2 uses: fetch(), Client.get())" in advice
    assert "also read at import" not in advice and "rebound" not in advice
