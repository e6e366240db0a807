"""The registry index and the spec reader under hostile input: alias bombs, deep nesting,
huge numbers, very large files, and calls named `register` that are not registrations.
Each case once hung, blew up or counted wrongly; each now has a bounded, exact answer."""

from __future__ import annotations

import ast
import json
import textwrap

import pytest
from conftest import run_hotstart

from hotstart.registry import index as index_module
from hotstart.registry.index import Index
from hotstart.spec import compute_preload, load_spec, type_uses

PLUGINS = {
    "shop/__init__.py": "",
    "shop/registry.py": "def register(name, **meta):\n    return lambda obj: obj\n",
    "shop/plugins.py": textwrap.dedent("""\
        from shop.registry import register

        @register("csv")
        class Csv: ...

        @register("zscore")
        class ZScore: ...
    """),
}


def assert_one_line_error(result, fragment: str) -> None:
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("hotstart: error:")]
    assert len(errors) == 1 and fragment in errors[0], result.stderr


def alias_bomb(levels: int = 9, width: int = 9) -> str:
    """A few hundred bytes of YAML naming width**levels paths to one object."""
    lines = ['a0: &a0 {"@type": "csv"}']
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [{','.join([f'*a{i - 1}'] * width)}]")
    return "\n".join(lines) + "\n"


# -- specs ---------------------------------------------------------------------------------------

def test_alias_bomb_is_walked_once_per_object(tmp_path):
    """9 levels of 9 aliases: 43 million paths to the same dict (17 s and 1 GB before)."""
    spec_file = tmp_path / "bomb.yaml"
    spec_file.write_text(alias_bomb())
    assert len(spec_file.read_bytes()) < 420
    uses = list(type_uses(load_spec(spec_file)))
    assert uses == [("$.a0", "csv")]


def test_alias_bomb_through_the_cli(project, tmp_path):
    root = project(PLUGINS)
    spec_file = tmp_path / "bomb.yaml"
    spec_file.write_text(alias_bomb())
    result = run_hotstart("preload", str(spec_file), "--package", str(root / "shop"),
                          "--no-cache", "--json", timeout=60)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["modules"] == ["shop.plugins"]


def test_yaml_cycle_is_walked_once(tmp_path):
    spec_file = tmp_path / "cycle.yaml"
    spec_file.write_text('a: &a {"@type": "csv", "self": *a}\n')
    assert list(type_uses(load_spec(spec_file))) == [("$.a", "csv")]


def test_deep_spec_that_loads_is_walked_without_recursion(tmp_path):
    depth = 900  # below the parsers' own limit: the walk itself must not recurse
    spec = {"@type": "csv"}
    for _ in range(depth):
        spec = {"x": [spec]}
    assert [path.count("[0]") for path, _ in type_uses(spec)] == [depth]


@pytest.mark.parametrize("suffix,text", [
    # past every version's parser limit (3.13's json reads 2,000 levels; 3.11's does not)
    (".json", '{"x":' * 100_000 + '{"@type": "csv"}' + "}" * 100_000),
    (".yaml", "[" * 100_000 + "]" * 100_000 + "\n"),
])
def test_spec_nested_past_the_parser_is_one_line_error(project, tmp_path, suffix, text):
    root = project(PLUGINS)
    spec_file = tmp_path / f"deep{suffix}"
    spec_file.write_text(text)
    result = run_hotstart("preload", str(spec_file), "--package", str(root / "shop"),
                          "--no-cache", timeout=60)
    assert_one_line_error(result, f"{spec_file}: nested too deeply")


@pytest.mark.parametrize("suffix,text", [
    (".json", '{"@type": "csv", "n": ' + "9" * 5000 + "}"),
    (".yaml", "'@type': csv\nn: " + "9" * 5000 + "\n"),
])
def test_huge_integer_is_one_line_error(project, tmp_path, suffix, text):
    root = project(PLUGINS)
    spec_file = tmp_path / f"big{suffix}"
    spec_file.write_text(text)
    result = run_hotstart("preload", str(spec_file), "--package", str(root / "shop"),
                          "--no-cache", timeout=60)
    assert_one_line_error(result, "a number has more than 4,300 digits")


def test_yaml_keys_that_are_not_strings_get_a_path(tmp_path):
    spec_file = tmp_path / "keys.yaml"
    spec_file.write_text("7: {'@type': csv}\n2024-01-01: {'@type': zscore}\n")
    # a date key raised TypeError from json.dumps
    assert [path for path, _ in type_uses(load_spec(spec_file))] == [
        "$[7]", "$[datetime.date(2024, 1, 1)]"]


# -- --always ------------------------------------------------------------------------------------

def test_always_modules_come_first_and_are_never_dropped(project):
    root = project(PLUGINS)
    index = Index.build(str(root / "shop"), cache=False)
    result = compute_preload({"@type": "csv"}, index, always=["shop", "json"])
    # `shop` is a package of shop.plugins, so it used to be dropped as "imported anyway"
    assert result.modules == ["shop", "json", "shop.plugins"]


def test_always_in_the_text_output(project, tmp_path):
    root = project(PLUGINS)
    spec_file = tmp_path / "job.json"
    spec_file.write_text('{"@type": "zscore"}')
    result = run_hotstart("preload", str(spec_file), "--package", str(root / "shop"),
                          "--no-cache", "--always", "shop", "--always", "shop.plugins")
    assert result.returncode == 0, result.stderr
    rows = [line.split()[0] for line in result.stdout.splitlines()[1:-1]]
    assert rows == ["shop", "shop.plugins"]
    assert result.stdout.splitlines()[-1] == "HOTSTART_PRELOAD=shop,shop.plugins"
    assert "always, $ zscore" in result.stdout


# -- the index -----------------------------------------------------------------------------------

def test_stdlib_register_calls_are_not_registrations(project):
    root = project({**PLUGINS, "shop/exits.py": textwrap.dedent("""\
        import atexit, codecs
        import atexit as ae
        import collections.abc
        from atexit import register
        from collections.abc import (
            Mapping,
            Sequence as Seq,
        )
        from shop.registry import register as reg

        def bye(): ...
        class S: ...

        atexit.register(bye)
        ae.register(bye)
        codecs.register(lambda name: None)
        register(bye)
        Seq.register(S)
        Mapping.register(S)
        collections.abc.Sequence.register(S)

        @atexit.register
        def bye2(): ...

        @reg("kept")
        def kept(): ...
    """)})
    index = Index.build(str(root / "shop"), cache=False)
    assert index.warnings == [], [w.message for w in index.warnings]
    assert index.names() == ["csv", "zscore"]  # `reg` is not a registering callable name


def test_large_file_is_parsed_in_linear_bytes(project, monkeypatch):
    """The chunked parse used to pad each chunk with all the newlines before it: quadratic in
    file size (a 4 MB file took 77 s). The bytes handed to ast.parse now add up to the file."""
    chunk = textwrap.dedent("""\
        @register("n{i}")
        def f{i}(x):
            return x
    """) + "y = 1\n" * 30
    source = "from shop.registry import register\n" + "".join(
        chunk.format(i=i) for i in range(2000))
    root = project({**PLUGINS, "shop/big.py": source})
    parsed: list[int] = []
    real_parse = ast.parse

    def counting_parse(source, *args, **kwargs):
        parsed.append(len(source))
        return real_parse(source, *args, **kwargs)

    monkeypatch.setattr(index_module.ast, "parse", counting_parse)
    index = Index.build(str(root / "shop" / "big.py"), cache=False)
    assert len(index.names()) == 2000
    assert sum(parsed) <= len(source.encode())
    # and the line numbers are those of the file
    for i in (0, 1234, 1999):
        (entry,) = index.lookup(f"n{i}")
        assert source.splitlines()[entry.line - 1] == f'@register("n{i}")'
