"""Spec -> preload list, on real packages scanned by the real index."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap

import pytest

from hotstart.registry.index import Index
from hotstart.registry.registry import Registry, attribute_resolver
from hotstart.spec import (PRELOAD_ENV, AliasTable, SpecError, compute_preload, decode_preload,
                           encode_preload, load_spec)

SHOP = {
    "shop/__init__.py": "",
    "shop/registry.py": "REGISTRY = {}\ndef register(name, **meta):\n    return lambda obj: obj\n",
    "shop/plugins/__init__.py": "",
    "shop/plugins/io.py": """
        from shop.registry import register

        @register("csv", help="read CSV")
        class Csv: ...
    """,
    "shop/plugins/maths.py": """
        from shop.registry import register

        @register("zscore")
        class ZScore: ...

        @register("scale")
        def scale(): ...
    """,
    "shop/sinks.py": """
        from shop.registry import register

        register("print")(print)
    """,
}

SPEC = {
    "@type": "pipeline_missing",
    "source": {"@type": "csv", "path": "in.csv"},
    "steps": [
        {"@type": "zscore", "column": "price"},
        {"@type": "scale", "by": "lambda x: np.log(x) + pd.Timestamp(0).value"},
        {"@type": "zscroe"},
        {"@type": "${kind}"},
        {"@type": 3},
    ],
    "sink": {"@type": "print"},
}


@pytest.fixture
def shop(project):
    root = project({k: textwrap.dedent(v).lstrip("\n") for k, v in SHOP.items()})
    return Index.build(str(root / "shop"), cache=False)


def test_modules_in_first_need_order_with_reasons(shop):
    preload = compute_preload(SPEC, shop, always=["shop.registry"])
    assert preload.modules == ["shop.registry", "shop.plugins.io", "shop.plugins.maths",
                               "shop.sinks"]
    assert preload.required_by["shop.plugins.maths"] == ["$.steps[0] zscore", "$.steps[1] scale"]
    assert preload.required_by["shop.registry"] == ["always"]
    assert [(u.name, u.path) for u in preload.unknown] == [("pipeline_missing", "$"),
                                                           ("zscroe", "$.steps[2]")]
    assert preload.suggestions["zscroe"][0] == "zscore"
    assert preload.dynamic == ["$.steps[3]", "$.steps[4]"]
    assert preload.env_value == "shop.registry,shop.plugins.io,shop.plugins.maths,shop.sinks"


def test_alias_hints_share_one_table_with_evaluation(shop):
    aliases = AliasTable({"np": "numpy", "pd": "pandas"})
    preload = compute_preload(SPEC, shop, hints=[aliases])
    assert preload.modules[-2:] == ["numpy", "pandas"]
    assert preload.required_by["numpy"] == ["$.steps[1].by (hint)"]
    expression = SPEC["steps"][1]["by"]
    assert eval(expression, aliases.namespace())(1.0) == 0.0  # the same table evaluates it
    assert aliases.modules_in("numpy.x + xnp.y + np .z") == ["numpy"]


def test_custom_type_key_prefixes_and_minimal_list(shop):
    spec = {"kind": "zscore", "a": {"kind": "np.linalg.norm"}, "b": {"kind": "csv"}}
    preload = compute_preload(spec, shop, type_key="kind", prefixes={"np.": ["numpy"]},
                              always=["shop.plugins"])
    # `always` comes first and stays, even where its submodules would import it anyway
    assert preload.modules == ["shop.plugins", "shop.plugins.maths", "numpy", "shop.plugins.io"]
    assert not preload.unknown


def test_registry_resolvers_and_registered_objects(shop):
    registry = Registry("shop", index=shop)
    registry.add_resolver("np.", attribute_resolver("numpy", "np."), modules=["numpy"])
    registry.register("inline", json.dumps)
    spec = [{"@type": "np.sqrt"}, {"@type": "inline"}, {"@type": "csv"}]
    preload = compute_preload(spec, registry=registry)
    assert preload.modules == ["numpy", "json", "shop.plugins.io"]


def test_preload_env_round_trip(monkeypatch):
    assert encode_preload([" a.b ", "c", "a.b", "d"]) == "a.b,c,d"
    monkeypatch.setenv(PRELOAD_ENV, " a.b, ,c,a.b ,d ")
    assert decode_preload() == ["a.b", "c", "d"]
    assert decode_preload("") == []
    with pytest.raises(ValueError, match="'a b' is not a module name"):
        encode_preload(["a b"])
    with pytest.raises(ValueError, match="HOTSTART_PRELOAD: '1x' is not a module name"):
        decode_preload("ok,1x")


# -- load_spec: every format and every failure ----------------------------------------------

def test_json_toml_and_yaml(tmp_path):
    (tmp_path / "a.json").write_text(json.dumps(SPEC))
    assert load_spec(tmp_path / "a.json") == SPEC
    (tmp_path / "a.toml").write_text('name = "x"\n[source]\n"@type" = "csv"\n')
    assert load_spec(tmp_path / "a.toml") == {"name": "x", "source": {"@type": "csv"}}
    (tmp_path / "a.yaml").write_text("source:\n  '@type': csv\nsteps:\n  - '@type': zscore\n")
    assert load_spec(tmp_path / "a.yaml") == {"source": {"@type": "csv"},
                                              "steps": [{"@type": "zscore"}]}


@pytest.mark.parametrize("name, text, message", [
    ("bad.json", '{"a": 1,,}', r"bad.json:1: not valid JSON"),
    ("bad.toml", "a = = 1", r"bad.toml: not valid TOML"),
    ("bad.yaml", "a: [1, 2\nb: 3\n", r"bad.yaml:\d+: not valid YAML"),
    ("spec.ini", "[x]", r"unknown spec format '.ini'"),
])
def test_unreadable_specs_are_one_line_errors(tmp_path, name, text, message):
    (tmp_path / name).write_text(text)
    with pytest.raises(SpecError, match=message) as error:
        load_spec(tmp_path / name)
    assert "\n" not in str(error.value)


def test_missing_spec(tmp_path):
    with pytest.raises(SpecError, match="spec '.*nope.json' not found"):
        load_spec(tmp_path / "nope.json")


def test_yaml_without_pyyaml_says_what_to_install(tmp_path):
    (tmp_path / "a.yaml").write_text("a: 1\n")
    code = ("import sys; sys.modules['yaml'] = None\n"  # as if PyYAML were not installed
            "from hotstart.spec import load_spec, SpecError\n"
            f"try:\n    load_spec({str(tmp_path / 'a.yaml')!r})\n"
            "except SpecError as e:\n    print(e)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert "reading YAML needs PyYAML (pip install pyyaml)" in out


def test_cue_needs_the_cue_binary(tmp_path, monkeypatch):
    (tmp_path / "job.cue").write_text('source: {"@type": "csv"}\n')
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    with pytest.raises(SpecError, match="reading CUE needs the 'cue' binary on PATH"):
        load_spec(tmp_path / "job.cue")


def test_cue_export_through_the_binary(tmp_path, monkeypatch):
    # No real `cue` can be installed on this machine (no PyPI, Debian or npm package ships the
    # binary), so this is a stand-in executable speaking its CLI for JSON-compatible input:
    # `cue export --out json FILE` prints the JSON, and a failure exits 1 with a message.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    cue = bin_dir / "cue"
    cue.write_text(f"#!{sys.executable}\n"
                   "import json, sys\n"
                   "assert sys.argv[1:4] == ['export', '--out', 'json'], sys.argv\n"
                   "try:\n    print(json.dumps(json.load(open(sys.argv[4]))))\n"
                   "except ValueError as e:\n"
                   "    print(f'{sys.argv[4]}: expected operand', file=sys.stderr); sys.exit(1)\n")
    cue.chmod(cue.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    (tmp_path / "ok.cue").write_text('{"source": {"@type": "csv"}}')
    assert load_spec(tmp_path / "ok.cue") == {"source": {"@type": "csv"}}
    (tmp_path / "bad.cue").write_text("source: {")
    with pytest.raises(SpecError, match="bad.cue: cue export failed: .*expected operand"):
        load_spec(tmp_path / "bad.cue")


def test_importing_spec_loads_nothing_but_hotstart():
    # Workers import it to read HOTSTART_PRELOAD: no reader, no difflib, no subprocess.
    code = ("import sys; before = set(sys.modules); import hotstart.spec\n"
            "print(sorted(set(sys.modules) - before))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout
    assert out.strip() == str(["hotstart", "hotstart.lazy", "hotstart.registry",
                               "hotstart.registry.spec", "hotstart.spec"])
