"""The static registry index: every matcher form, every warning, module names, roots, cache.

Everything runs on real files written under tmp_path; package-name roots are found on a real
sys.path. The scanned code is never imported (one test proves it).
"""

from __future__ import annotations

import json
import os
import pathlib
import stat
import sys
import textwrap
import time

import pytest

from hotstart.registry import index as index_module
from hotstart.registry.index import (
    Entry,
    Index,
    IndexWarning,
    Matcher,
    default_cache_dir,
)


def write(base: pathlib.Path, files: dict[str, str], *, age: float = 60.0) -> pathlib.Path:
    """Write {relative path: source}; back-date every file by `age` seconds (the cache does not
    trust files younger than 2 s, see index._RACY_NS)."""
    for relative, text in files.items():
        path = base / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text).lstrip("\n"))
        if age:
            then = time.time() - age
            os.utime(path, (then, then))
    return base


def sites(index: Index) -> list[tuple[str, str, str | None, int]]:
    """(name, module, qualname, line) for every entry, sorted."""
    return sorted((e.name, e.module, e.qualname, e.line) for n in index.names()
                  for e in index.lookup(n))


def messages(index: Index) -> list[tuple[int, str]]:
    return sorted((w.line, w.message) for w in index.warnings)


# -- matcher forms ---------------------------------------------------------------------------

def test_decorator_forms_at_module_level_and_in_class_bodies(tmp_path):
    root = write(tmp_path, {"pkg/__init__.py": "", "pkg/deco.py": """
        from pkg.reg import register, reg
        import a

        @register("plain")
        class Plain: ...

        @reg.register("attribute", help="x")
        def attribute(): ...

        @a.b.register("dotted")
        async def dotted(): ...

        class Outer:
            @register("inner")
            class Inner:
                @reg.register("deep")
                class Deep: ...

            @reg.register("method")
            def method(self): ...

        @other("ignored")
        @register("stacked")
        @unrelated
        class Stacked: ...
    """})
    index = Index.build(root / "pkg", cache=False)
    assert sites(index) == [
        ("attribute", "pkg.deco", "attribute", 7),
        ("deep", "pkg.deco", "Outer.Inner.Deep", 16),
        ("dotted", "pkg.deco", "dotted", 10),
        ("inner", "pkg.deco", "Outer.Inner", 14),
        ("method", "pkg.deco", "Outer.method", 19),
        ("plain", "pkg.deco", "Plain", 4),
        ("stacked", "pkg.deco", "Stacked", 23),
    ]
    assert index.warnings == []
    entry = index.lookup("plain")[0]
    assert entry == Entry("plain", "pkg.deco", "Plain", str(root / "pkg" / "deco.py"), 4, {})
    assert os.path.isabs(entry.file)


def test_call_forms(tmp_path):
    root = write(tmp_path, {"pkg/__init__.py": "", "pkg/calls.py": """
        from pkg.reg import register, reg
        import baz

        register("call")(Foo)
        Bar = reg.register("assigned")(Bar)
        reg.register("with_object", baz.Baz)
        reg.register("object_is_a_call", make())
        decorator = register("factory")
        x = [reg.register("nested_in_list", Qux)]

        class Holder:
            register("in_class")(helper)
    """})
    index = Index.build(root / "pkg", cache=False)
    assert sites(index) == [
        ("assigned", "pkg.calls", "Bar", 5),
        ("call", "pkg.calls", "Foo", 4),
        ("factory", "pkg.calls", None, 8),
        ("in_class", "pkg.calls", "helper", 12),
        ("nested_in_list", "pkg.calls", "Qux", 9),
        ("object_is_a_call", "pkg.calls", None, 7),
        ("with_object", "pkg.calls", "baz.Baz", 6),
    ]
    assert index.warnings == []


def test_keyword_key(tmp_path):
    root = write(tmp_path, {"kw.py": """
        @a.b.register(name="by_keyword")
        class A: ...

        register(name="call_keyword")(B)
        reg.register(C, name="object_first")

        @register("positional_only")
        class D: ...

        register(**options)(E)
    """})
    index = Index.build(root / "kw.py", Matcher(key="name"), cache=False)
    assert sites(index) == [("by_keyword", "kw", "A", 1), ("call_keyword", "kw", "B", 4),
                            ("object_first", "kw", "C", 5)]
    assert messages(index) == [
        (7, "registration name is missing (no keyword argument 'name')"),
        (10, "registration name is missing (keyword 'name' may come from **kwargs)"),
    ]


def test_positional_key_other_than_zero(tmp_path):
    root = write(tmp_path, {"second.py": """
        add(Thing, "thing")
        add(Other)
    """})
    index = Index.build(root / "second.py", Matcher(("add",), key=1), cache=False)
    assert sites(index) == [("thing", "second", "Thing", 1)]
    assert messages(index) == [(2, "registration name is missing (no positional argument 1)")]


def test_custom_callables_dotted_only_and_last_part(tmp_path):
    root = write(tmp_path, {"custom.py": """
        plugins.add("exact")(A)
        other.add("other_object")(B)
        add("bare")(C)
        x.plugins.add("longer_chain")(D)
        make().add("not_a_chain")(E)
        register("not_configured")(F)
    """})
    dotted = Index.build(root / "custom.py", Matcher(("plugins.add",)), cache=False)
    assert dotted.names() == ["exact"]
    last = Index.build(root / "custom.py", Matcher(("add",)), cache=False)
    assert last.names() == ["bare", "exact", "longer_chain", "other_object"]
    both = Index.build(root / "custom.py", Matcher(("plugins.add", "register")), cache=False)
    assert both.names() == ["exact", "not_configured"]


def test_keep_keeps_only_json_literals(tmp_path):
    root = write(tmp_path, {"meta.py": """
        @register("a", kind="source", tags=("x", "y"), opts={"n": 1, "f": 0.5, "z": None},
                  flag=True, computed=compute(), members={1, 2}, help="not kept")
        class A: ...

        register("b", kind=KIND)(B)
    """})
    index = Index.build(root / "meta.py",
                        Matcher(keep=("kind", "tags", "opts", "flag", "computed", "members")),
                        cache=False)
    assert index.lookup("a")[0].metadata == {"kind": "source", "tags": ["x", "y"],
                                             "opts": {"n": 1, "f": 0.5, "z": None},
                                             "flag": True}
    assert index.lookup("b")[0].metadata == {}
    json.dumps(index.to_dict())  # JSON-able


def test_matcher_validation_and_fingerprint():
    assert Matcher(["b", "a"]).callables == ("b", "a")
    assert Matcher(("a", "b")).fingerprint() == Matcher(("b", "a")).fingerprint()
    assert Matcher().fingerprint() != Matcher(key="name").fingerprint()
    assert Matcher().fingerprint() != Matcher(keep=("kind",)).fingerprint()
    for bad in ({"callables": ()}, {"callables": ("a-b",)}, {"key": -1}, {"key": True},
                {"key": "not valid"}, {"keep": ("1x",)}):
        with pytest.raises(ValueError):
            Matcher(**bad)


# -- what cannot be seen statically ----------------------------------------------------------

def test_every_warning_kind(tmp_path):
    root = write(tmp_path, {"pkg/__init__.py": "", "pkg/hard.py": """
        import typing
        register(f"fmt_{x}")(A)
        register(NAME)(B)
        register(make_name())(C)
        register("con" + "cat")(D)
        register(3)(E)
        for n in NAMES:
            register(n)(F)
        while more():
            register("in_while")(G)
        items = [register(n)(obj) for n, obj in PAIRS]
        def setup():
            register("in_function")(H)
        class Later:
            def method(self):
                @register("in_method")
                class Local: ...
        handler = lambda obj: register("in_lambda")(obj)
        if USE_FAST:
            register("in_if")(I)
        else:
            register("in_else")(J)
        try:
            register("in_try")(K)
        except ImportError:
            register("in_except")(L)
        finally:
            register("in_finally")(M)
        with suppress(Exception):
            register("in_with")(N)
        if typing.TYPE_CHECKING:
            register("type_checking")(O)
        else:
            register("not_type_checking")(P)
        if __name__ == "__main__":
            register("as_script")(Q)
        @register
        class Bare: ...
        register()(R)
        for n in NAMES:
            register(f"{n}_loop_fstring")(S)
        def register(name, **meta):
            def decorator(obj):
                _registry.register(name, obj, **meta)  # the callable itself: not a site
                return obj
            _registry.register("literal_in_forwarder", meta)  # but this is one
            return decorator
    """})
    index = Index.build(root / "pkg", cache=False)
    # Recorded: module level, the finally block, the else of TYPE_CHECKING, and conditionals.
    assert index.names() == ["in_else", "in_except", "in_finally", "in_if", "in_try",
                             "in_with", "not_type_checking"]
    assert messages(index) == [
        (2, "registration name is not a literal (f-string)"),
        (3, "registration name is not a literal (variable 'NAME')"),
        (4, "registration name is not a literal (call to make_name())"),
        (5, "registration name is not a literal (concatenation)"),
        (6, "registration name is not a literal (int constant)"),
        (8, "registration inside a loop: not visible statically "
            "(name is not a literal: variable 'n')"),
        (10, "registration of 'in_while' inside a loop: not visible statically"),
        (11, "registration inside a comprehension: not visible statically "
             "(name is not a literal: variable 'n')"),
        (13, "registration of 'in_function' inside function 'setup': runs only when it is "
             "called"),
        (16, "registration of 'in_method' inside function 'method': runs only when it is "
             "called"),
        (18, "registration of 'in_lambda' inside a lambda: runs only when it is called"),
        (20, "registration of 'in_if' under a condition (if): may not run"),
        (22, "registration of 'in_else' under a condition (if): may not run"),
        (24, "registration of 'in_try' under a condition (try): may not run"),
        (26, "registration of 'in_except' under a condition (try): may not run"),
        (30, "registration of 'in_with' under a condition (with): may not run"),
        (32, "registration of 'type_checking' under 'if TYPE_CHECKING': never runs"),
        (36, "registration of 'as_script' under 'if __name__ == \"__main__\"': runs only when "
             "the file is run as a script"),
        (37, "registration name is missing (bare decorator @register)"),
        (39, "registration name is missing (no positional argument 0)"),
        (41, "registration inside a loop: not visible statically "
             "(name is not a literal: f-string)"),
        (46, "registration of 'literal_in_forwarder' inside function 'register': runs only "
             "when it is called"),
    ]
    warning = index.warnings[0]
    assert warning == IndexWarning(str(root / "pkg" / "hard.py"), 2, "pkg.hard",
                                   "registration name is not a literal (f-string)")
    assert str(warning).endswith("hard.py:2: registration name is not a literal (f-string)")


def test_nested_conditions_are_all_named(tmp_path):
    root = write(tmp_path, {"nested.py": """
        if A:
            try:
                with lock:
                    register("deep")(X)
            except E:
                pass
        match mode:
            case "fast":
                register("matched")(Y)
    """})
    index = Index.build(root / "nested.py", cache=False)
    assert index.names() == ["deep", "matched"]
    assert messages(index) == [
        (4, "registration of 'deep' under a condition (if, try, with): may not run"),
        (9, "registration of 'matched' under a condition (match): may not run"),
    ]


def test_unparsable_and_unreadable_files_are_warnings(tmp_path):
    root = write(tmp_path, {"pkg/__init__.py": "", "pkg/broken.py": """
        register("fine")(A)
        def oops(:
            pass
    """, "pkg/good.py": 'register("good")(B)\n',
        "pkg/nul.py": 'register("x")(C)\n\0\n'})
    (root / "pkg" / "latin.py").write_bytes(b'register("caf\xe9")(D)\n')
    index = Index.build(root / "pkg", cache=False)
    assert index.names() == ["good"]
    by_file = {pathlib.Path(w.file).name: w for w in index.warnings}
    assert set(by_file) == {"broken.py", "latin.py", "nul.py"}
    assert by_file["broken.py"].line == 2
    assert by_file["broken.py"].message.startswith("cannot parse: ")
    assert by_file["broken.py"].module == "pkg.broken"
    assert all(w.message.startswith("cannot parse: ") for w in by_file.values())


def test_a_source_encoding_declaration_is_honoured(tmp_path):
    body = "# -*- coding: latin-1 -*-\n" + "x = 1\n" * 3000 + 'register("caf\xe9")(A)\n'
    (tmp_path / "enc.py").write_bytes(body.encode("latin-1"))  # large: would be chunked
    assert Index.build(tmp_path / "enc.py", cache=False).names() == ["caf\xe9"]


# -- the prefilter ---------------------------------------------------------------------------

def test_prefilter_skips_files_that_cannot_hold_a_site(tmp_path):
    root = write(tmp_path, {"pkg/__init__.py": "", "pkg/site.py": 'register("one")(A)\n',
                            "pkg/plain.py": "x = 1\n",
                            "pkg/prose.py": '"""We register things; unregister(x); '
                                            'register_all(y)."""\n',
                            "pkg/definition.py": "def register(name):\n    return name\n",
                            # not parsed, so its syntax error is not even seen
                            "pkg/broken_without_word.py": "def (:\n"})
    index = Index.build(root / "pkg", cache=False)
    assert index.names() == ["one"]
    assert index.files_scanned == 6
    assert index.files_parsed == 1
    assert index.warnings == []


def test_big_files_are_parsed_statement_by_statement_with_the_same_result(tmp_path):
    filler = "".join(f"def f{i}(x):\n    return x + {i}\n\n" for i in range(600))
    source = textwrap.dedent('''
        """Module docstring that shows code at column 0:

        @register("in_docstring")
        class NotReal: ...

        x = 1
        """
        import thing
        EXAMPLE = """
        register("in_string")(Nope)
        y = 2
        """
        value = 1 + \\
        register("continued")(A)
        if flag:
            pass
        else:
            register("in_else")(B)
        try:
            pass
        except Exception:
            register("in_except")(C)

        @decorator
        @register("decorated")
        @other
        class D:
            @register("method")
            def method(self): ...
        ''') + filler + textwrap.dedent('''
        s = 'quote \\' register("in_single")(E)'
        # register("in_comment")(F)
        register("last")(G)
        ''')
    path = tmp_path / "big.py"
    path.write_text(source)
    assert len(source.encode()) > index_module._CHUNK_MIN
    candidates = index_module._candidates([(str(path), "big", True)], with_stat=False)
    chunked = index_module._scan(candidates, Matcher())
    whole = index_module._scan(candidates, Matcher(), chunked=False)
    assert chunked.to_dict() == whole.to_dict()
    assert chunked.names() == ["continued", "decorated", "in_else", "in_except", "last",
                               "method"]
    assert sites(chunked)[-1] == ("method", "big", "D.method", 29)


# -- module names and roots ------------------------------------------------------------------

def test_module_names_src_layout_nested_and_namespace(tmp_path):
    root = write(tmp_path / "proj", {
        "pyproject.toml": "[project]\nname = 'acme'\n",
        "src/acme/__init__.py": 'register("top")(A)\n',
        "src/acme/plugins/__init__.py": "",
        "src/acme/plugins/io.py": 'register("io")(B)\n',
        "src/acme/plugins/deep/more.py": 'register("deep")(C)\n',  # namespace subpackage
        "src/nsp/tools/x.py": 'register("ns")(D)\n',  # top-level namespace package
        "src/single.py": 'register("single")(E)\n',
    })
    expected = {"top": "acme", "io": "acme.plugins.io", "deep": "acme.plugins.deep.more",
                "ns": "nsp.tools.x", "single": "single"}

    def modules(index):
        return {name: index.modules_for(name)[0] for name in index.names()}

    assert modules(Index.build(root / "src", cache=False)) == expected
    plugins = Index.build(root / "src" / "acme" / "plugins", cache=False)
    assert modules(plugins) == {"io": "acme.plugins.io", "deep": "acme.plugins.deep.more"}
    assert modules(Index.build(root / "src" / "nsp", cache=False)) == {"ns": "nsp.tools.x"}
    assert modules(Index.build(root / "src" / "nsp" / "tools", cache=False)) == \
        {"ns": "nsp.tools.x"}
    one_file = root / "src" / "acme" / "plugins" / "io.py"
    assert modules(Index.build(str(one_file), cache=False)) == {"io": "acme.plugins.io"}
    init = root / "src" / "acme" / "__init__.py"
    assert modules(Index.build(init, cache=False)) == {"top": "acme"}


def test_module_names_flat_layout_and_without_any_marker(tmp_path):
    flat = write(tmp_path / "flat", {"setup.cfg": "", "app/__init__.py": "",
                                     "app/plugins.py": 'register("a")(A)\n'})
    assert Index.build(flat / "app" / "plugins.py", cache=False).modules_for("a") == \
        ["app.plugins"]
    # no source root anywhere above (tmp_path's parents are not on sys.path): the package
    # ends where its __init__.py chain ends, and a plain directory is a source root
    bare = write(tmp_path / "bare", {"pkg/__init__.py": "", "pkg/sub/__init__.py": "",
                                     "pkg/sub/mod.py": 'register("b")(B)\n'})
    assert Index.build(bare / "pkg" / "sub", cache=False).modules_for("b") == ["pkg.sub.mod"]
    assert Index.build(bare, cache=False).modules_for("b") == ["pkg.sub.mod"]


def test_a_sys_path_entry_is_a_source_root(tmp_path, monkeypatch):
    write(tmp_path / "entry", {"nsonly/mod.py": 'register("n")(A)\n'})
    monkeypatch.syspath_prepend(str(tmp_path / "entry"))
    index = Index.build(tmp_path / "entry" / "nsonly", cache=False)
    assert index.modules_for("n") == ["nsonly.mod"]


def test_package_name_roots_use_find_spec_without_importing(tmp_path, monkeypatch):
    unique = f"hs_pkg_{os.getpid()}_{id(tmp_path) % 10**6}"
    write(tmp_path / "one", {
        f"{unique}/__init__.py": "raise RuntimeError('the scanner imported me')\n",
        f"{unique}/plugins/__init__.py": "raise RuntimeError('me too')\n",
        f"{unique}/plugins/io.py": 'register("io")(A)\n',
        f"{unique}/core.py": 'register("core")(B)\n',
    })
    monkeypatch.syspath_prepend(str(tmp_path / "one"))
    index = Index.build(unique, cache=False)
    assert index.modules_for("io") == [f"{unique}.plugins.io"]
    assert index.modules_for("core") == [f"{unique}.core"]
    sub = Index.build(f"{unique}.plugins", cache=False)
    assert sub.names() == ["io"] and sub.modules_for("io") == [f"{unique}.plugins.io"]
    single = Index.build(f"{unique}.core", cache=False)
    assert single.modules_for("core") == [f"{unique}.core"]
    assert not [m for m in sys.modules if m.startswith(unique)]


def test_namespace_package_with_several_portions(tmp_path, monkeypatch):
    unique = f"hs_ns_{os.getpid()}_{id(tmp_path) % 10**6}"
    write(tmp_path, {f"a/{unique}/one.py": 'register("one")(A)\n',
                     f"b/{unique}/two.py": 'register("two")(B)\n',
                     f"b/{unique}/sub/three.py": 'register("three")(C)\n'})
    monkeypatch.syspath_prepend(str(tmp_path / "a"))
    monkeypatch.syspath_prepend(str(tmp_path / "b"))
    index = Index.build([unique], cache=False)
    assert {n: index.modules_for(n) for n in index.names()} == {
        "one": [f"{unique}.one"], "two": [f"{unique}.two"], "three": [f"{unique}.sub.three"]}


def test_multiple_roots_and_overlaps(tmp_path, monkeypatch):
    unique = f"hs_multi_{os.getpid()}_{id(tmp_path) % 10**6}"
    write(tmp_path, {"x/pkg_x/__init__.py": "", "x/pkg_x/a.py": 'register("a")(A)\n',
                     f"y/{unique}/__init__.py": "", f"y/{unique}/b.py": 'register("b")(B)\n'})
    monkeypatch.syspath_prepend(str(tmp_path / "y"))
    index = Index.build([tmp_path / "x" / "pkg_x", unique, str(tmp_path / "x" / "pkg_x")],
                        cache=False)
    assert {n: index.modules_for(n) for n in index.names()} == {"a": ["pkg_x.a"],
                                                                "b": [f"{unique}.b"]}
    assert index.files_scanned == 4  # the repeated root is not scanned twice


def test_one_name_registered_by_several_modules(tmp_path):
    root = write(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": 'register("x")(A)\n',
                            "pkg/b.py": 'register("x")(B)\nregister("x")(C)\n'})
    index = Index.build(root / "pkg", cache=False)
    assert [(e.module, e.qualname) for e in index.lookup("x")] == [("pkg.a", "A"),
                                                                   ("pkg.b", "B"),
                                                                   ("pkg.b", "C")]
    assert index.modules_for("x") == ["pkg.a", "pkg.b"]
    assert "x" in index and "y" not in index and len(index) == 1
    assert index.lookup("y") == [] and index.modules_for("y") == []


def test_skipped_directories_files_and_symlink_loops(tmp_path):
    root = write(tmp_path, {"pkg/__init__.py": "", "pkg/ok.py": 'register("ok")(A)\n',
                            "pkg/__pycache__/cached.py": 'register("cached")(A)\n',
                            "pkg/.hidden/h.py": 'register("hidden")(A)\n',
                            "pkg/not-a-package/n.py": 'register("dash")(A)\n',
                            "pkg/bad-name.py": 'register("badname")(A)\n',
                            "pkg/stub.pyi": 'register("stub")(A)\n',
                            "pkg/notes.txt": 'register("text")(A)\n',
                            "pkg/sub/__init__.py": ""})
    os.symlink(root / "pkg", root / "pkg" / "sub" / "loop")
    os.symlink(root / "pkg" / "ok.py", root / "pkg" / "sub" / "alias.py")
    index = Index.build(root / "pkg", cache=False)
    assert index.names() == ["ok"]
    assert index.modules_for("ok") == ["pkg.ok", "pkg.sub.alias"]


def test_bad_roots(tmp_path):
    with pytest.raises(FileNotFoundError):
        Index.build(tmp_path / "missing", cache=False)
    with pytest.raises(FileNotFoundError):
        Index.build("no/such/dir", cache=False)
    with pytest.raises(ModuleNotFoundError, match="no importable package"):
        Index.build("hs_surely_not_installed_pkg", cache=False)
    (tmp_path / "data.txt").write_text("x")
    with pytest.raises(ValueError, match="not a Python source file"):
        Index.build(tmp_path / "data.txt", cache=False)
    with pytest.raises(ValueError, match="not Python source"):
        Index.build("_json" if "_json" in sys.builtin_module_names else "sys", cache=False)
    with pytest.raises(TypeError):
        Index.build([3], cache=False)


def test_to_dict_round_trip(tmp_path):
    root = write(tmp_path, {"m.py": '@register("a", kind="k")\nclass A: ...\nregister(x)(B)\n'})
    index = Index.build(root / "m.py", Matcher(keep=("kind",)), cache=False)
    data = json.loads(json.dumps(index.to_dict()))
    assert set(data) == {"names", "warnings", "files_scanned", "files_parsed", "from_cache"}
    assert data["names"]["a"][0] == {"name": "a", "module": "m", "qualname": "A",
                                     "file": str(root / "m.py"), "line": 1,
                                     "metadata": {"kind": "k"}}
    again = Index.from_dict(data)
    assert again.to_dict() == index.to_dict()
    assert again.lookup("a") == index.lookup("a")
    assert "1 names, 1 warnings" in repr(index)


# -- the disk cache --------------------------------------------------------------------------

@pytest.fixture
def cached_pkg(tmp_path):
    root = write(tmp_path / "src", {"pkg/__init__.py": "", "pkg/a.py": 'register("a")(A)\n',
                                    "pkg/b.py": 'register("b")(B)\n', "pkg/c.py": "x = 1\n"})
    return root / "pkg", tmp_path / "cache"


def cache_files(cache: pathlib.Path) -> list[pathlib.Path]:
    return sorted((cache / "index").iterdir()) if (cache / "index").exists() else []


def test_cache_hit_gives_the_same_index(cached_pkg):
    pkg, cache = cached_pkg
    cold = Index.build(pkg, cache=cache)
    assert not cold.from_cache
    warm = Index.build(pkg, cache=cache)
    assert warm.from_cache
    assert {**warm.to_dict(), "from_cache": False} == cold.to_dict()
    assert warm.lookup("a") == cold.lookup("a")
    [stored] = cache_files(cache)
    assert stored.suffix == ".json" and stat.S_IMODE(stored.stat().st_mode) & 0o777 == \
        0o644 & ~_umask()
    assert stat.S_IMODE((cache / "index").stat().st_mode) == 0o700
    assert Index.build([str(pkg)], cache=str(cache)).from_cache  # str and list roots: same slot


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("change", ["mtime", "size", "new file", "removed file", "matcher"])
def test_cache_invalidation(cached_pkg, change):
    pkg, cache = cached_pkg
    Index.build(pkg, cache=cache)
    matcher = Matcher()
    if change == "mtime":
        then = time.time() - 30
        os.utime(pkg / "a.py", (then, then))
    elif change == "size":
        write(pkg, {"a.py": 'register("a2")(A)\n'})
    elif change == "new file":
        write(pkg, {"d.py": 'register("d")(D)\n'})
    elif change == "removed file":
        (pkg / "b.py").unlink()
    else:
        matcher = Matcher(keep=("kind",))
    rebuilt = Index.build(pkg, matcher, cache=cache)
    assert not rebuilt.from_cache
    expected = {"mtime": ["a", "b"], "size": ["a2", "b"], "new file": ["a", "b", "d"],
                "removed file": ["a"], "matcher": ["a", "b"]}[change]
    assert rebuilt.names() == expected
    assert Index.build(pkg, matcher, cache=cache).from_cache
    # one file per (roots, matcher): an edit overwrites it instead of adding another
    assert len(cache_files(cache)) == (2 if change == "matcher" else 1)


def test_files_younger_than_the_clock_granularity_are_not_cached(tmp_path):
    root = write(tmp_path, {"pkg/__init__.py": "", "pkg/a.py": 'register("a")(A)\n'}, age=0)
    assert not Index.build(root / "pkg", cache=tmp_path / "cache").from_cache
    assert not Index.build(root / "pkg", cache=tmp_path / "cache").from_cache
    assert cache_files(tmp_path / "cache") == []


@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "wrong format",
                                    "wrong key", "malformed index", "not an object"])
def test_a_damaged_cache_file_is_a_miss(cached_pkg, damage):
    pkg, cache = cached_pkg
    expected = Index.build(pkg, cache=cache).to_dict()
    [stored] = cache_files(cache)
    text = stored.read_bytes()
    payload = json.loads(text)
    if damage == "garbage":
        stored.write_bytes(os.urandom(512))
    elif damage == "truncated":
        stored.write_bytes(text[:len(text) // 2])
    elif damage == "empty":
        stored.write_bytes(b"")
    elif damage == "wrong format":
        stored.write_text(json.dumps({**payload, "format": "hotstart.registry.index-cache/0"}))
    elif damage == "wrong key":
        stored.write_text(json.dumps({**payload, "key": "0" * 64}))
    elif damage == "malformed index":
        payload["index"]["names"]["a"] = [{"name": "a", "module": 3}]
        stored.write_text(json.dumps(payload))
    else:
        stored.write_text("[1, 2, 3]")
    rebuilt = Index.build(pkg, cache=cache)
    assert not rebuilt.from_cache
    assert rebuilt.to_dict() == expected
    assert Index.build(pkg, cache=cache).from_cache  # the rebuild repaired the file


def test_an_unusable_cache_directory_only_disables_caching(cached_pkg, tmp_path):
    pkg, _ = cached_pkg
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    for cache in (blocker, blocker / "below"):
        assert Index.build(pkg, cache=cache).names() == ["a", "b"]
        assert not Index.build(pkg, cache=cache).from_cache
    index_is_a_file = tmp_path / "cache2"
    index_is_a_file.mkdir()
    (index_is_a_file / "index").write_text("x")
    assert not Index.build(pkg, cache=index_is_a_file).from_cache
    # a directory others can write to is not trusted (nor written)
    shared = tmp_path / "shared"
    (shared / "index").mkdir(parents=True)
    (shared / "index").chmod(0o777)
    Index.build(pkg, cache=shared)
    assert not Index.build(pkg, cache=shared).from_cache
    assert list((shared / "index").iterdir()) == []


def test_no_temporary_file_is_left_when_the_write_fails(cached_pkg, tmp_path):
    pkg, _ = cached_pkg
    cache = tmp_path / "c"
    Index.build(pkg, cache=cache)
    [stored] = cache_files(cache)
    stored.unlink()
    stored.mkdir()  # os.replace onto a directory fails
    then = time.time() - 20
    os.utime(pkg / "a.py", (then, then))  # a new key, so a write is attempted
    assert not Index.build(pkg, cache=cache).from_cache
    assert [p.name for p in cache_files(cache)] == [stored.name]


def test_default_cache_dir(monkeypatch, tmp_path):
    monkeypatch.setenv("HOTSTART_CACHE_DIR", str(tmp_path / "explicit"))
    assert default_cache_dir() == str(tmp_path / "explicit")
    monkeypatch.delenv("HOTSTART_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == str(tmp_path / "xdg" / "hotstart")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == str(tmp_path / "home" / ".cache" / "hotstart")


def test_cache_true_uses_the_default_directory(cached_pkg, monkeypatch, tmp_path):
    pkg, _ = cached_pkg
    monkeypatch.setenv("HOTSTART_CACHE_DIR", str(tmp_path / "default"))
    Index.build(pkg)
    assert Index.build(pkg).from_cache
    assert len(cache_files(tmp_path / "default")) == 1
