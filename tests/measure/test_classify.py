"""Where a module came from: kind, distribution, and whether its bytecode was cached."""

from __future__ import annotations

import importlib.util
import os
import py_compile
import sys

import pytest

from hotstart.measure._classify import (
    bytecode_of,
    distribution_of,
    editable_distribution,
    kind_of,
)
from hotstart.measure.model import KINDS

STDLIB = "/usr/lib/python3.11"


@pytest.mark.parametrize("origin, kind", [
    ("built-in", "builtin"),
    ("frozen", "frozen"),
    (f"{STDLIB}/lib-dynload/_json.cpython-311-x86_64-linux-gnu.so", "extension"),
    ("/venv/lib/python3.11/site-packages/numpy/core/_multiarray_umath.cpython-311-x86_64-linux-gnu.so",
     "extension"),
    ("/venv/lib/python3.11/site-packages/cryptography/hazmat/bindings/_rust.abi3.so", "extension"),
    ("/opt/lib/thing.so", "extension"),
    (f"{STDLIB}/json/__init__.py", "stdlib"),
    (f"{STDLIB}/collections/abc.py", "stdlib"),
    (f"{STDLIB}/site-packages/requests/__init__.py", "third-party"),
    ("/venv/lib/python3.11/site-packages/requests/__init__.py", "third-party"),
    ("/usr/lib/python3/dist-packages/yaml/__init__.py", "third-party"),
    ("/srv/app/src/app/__init__.py", "first-party"),
    ("/usr/lib/python3.11-tools/helper.py", "first-party"),  # a sibling, not inside stdlib
    ("namespace:/srv/app/src/nspkg|/srv/other/nspkg", "first-party"),
    ("namespace:/venv/lib/python3.11/site-packages/google", "third-party"),
])
def test_kind_of(origin, kind):
    assert kind_of(origin, STDLIB) == kind
    assert kind in KINDS


def test_kind_of_accepts_a_stdlib_dir_with_a_trailing_separator():
    assert kind_of(f"{STDLIB}/json/decoder.py", STDLIB + "/") == "stdlib"


def test_kind_of_without_a_known_stdlib_dir():
    assert kind_of(f"{STDLIB}/json/__init__.py", None) == "first-party"
    assert kind_of("built-in", None) == "builtin"


def test_kind_of_this_interpreters_real_modules():
    stdlib = getattr(sys, "_stdlib_dir", None) or os.path.dirname(os.__file__)
    import json

    assert kind_of(json.__spec__.origin, stdlib) == "stdlib"
    assert kind_of(os.__spec__.origin, stdlib) in ("frozen", "stdlib")  # frozen since 3.11
    assert kind_of(sys.__spec__.origin, stdlib) == "builtin"
    assert kind_of(pytest.__file__, stdlib) == "third-party"


# -- distribution_of -------------------------------------------------------------------------


def test_distribution_of_the_installed_pytest():
    assert distribution_of(pytest.__file__, "pytest") == "pytest"
    # A submodule of the same top-level package belongs to the same distribution.
    import _pytest.python

    assert distribution_of(_pytest.python.__file__, "_pytest.python") == "pytest"


def test_distribution_of_a_module_outside_site_packages_is_none():
    assert distribution_of("/srv/app/src/app/__init__.py", "app") is None
    assert distribution_of(os.__file__, "os") is None


def _site(tmp_path):
    site = tmp_path / "lib" / "python3.11" / "site-packages"
    site.mkdir(parents=True)
    return site


def _dist(site, dirname: str, name: str, files: dict[str, str]) -> None:
    info = site / dirname
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
    for filename, text in files.items():
        (info / filename).write_text(text)


def test_distribution_of_from_top_level_txt(tmp_path):
    site = _site(tmp_path)
    _dist(site, "My_Dist-1.0.dist-info", "My-Dist", {"top_level.txt": "mypkg\n"})
    (site / "mypkg").mkdir()
    (site / "mypkg" / "__init__.py").write_text("")
    assert distribution_of(str(site / "mypkg" / "__init__.py"), "mypkg") == "My-Dist"
    assert distribution_of(str(site / "mypkg" / "sub.py"), "mypkg.sub") == "My-Dist"
    assert distribution_of(str(site / "unowned" / "__init__.py"), "unowned") is None


def test_distribution_of_from_record_and_for_namespace_packages(tmp_path):
    site = _site(tmp_path)
    _dist(site, "other_dist-2.0.dist-info", "other-dist", {"RECORD": (
        "otherpkg/__init__.py,sha256=abc,10\n"
        "otherpkg/core.py,sha256=def,20\n"
        "other_dist-2.0.dist-info/METADATA,,\n"
        "../../../bin/other,,\n")})
    # Newer importlib.metadata lists only the RECORD entries that exist on disk.
    (site / "otherpkg").mkdir()
    (site / "otherpkg" / "__init__.py").write_text("")
    (site / "otherpkg" / "core.py").write_text("")
    assert distribution_of(str(site / "otherpkg" / "core.py"), "otherpkg.core") == "other-dist"
    assert distribution_of(f"namespace:{site / 'otherpkg'}|/elsewhere", "otherpkg") == "other-dist"


def test_editable_distribution_by_normalised_name(tmp_path):
    site = _site(tmp_path)
    # An editable install records only a .pth (and maybe a finder) in site-packages.
    _dist(site, "my_proj-0.1.dist-info", "My.Proj", {"RECORD": (
        "__editable__.my_proj-0.1.pth,,\nmy_proj-0.1.dist-info/METADATA,,\n")})
    assert editable_distribution("my_proj.cli", ["/srv/app/src", str(site)]) == "My.Proj"
    assert editable_distribution("something_else", [str(site)]) is None
    assert editable_distribution("my_proj", ["/srv/app/src"]) is None  # no site dir searched


# -- bytecode_of -----------------------------------------------------------------------------


TAG = sys.implementation.cache_tag


def _compile(source) -> str:
    cfile = importlib.util.cache_from_source(str(source))
    # TIMESTAMP explicitly: with SOURCE_DATE_EPOCH set py_compile would write a hash-based pyc.
    py_compile.compile(str(source), cfile=cfile, doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.TIMESTAMP)
    return cfile


def test_bytecode_source_then_pyc_then_source_again_after_a_change(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("x = 1\n")
    assert bytecode_of(str(source), TAG) == "source"

    cfile = _compile(source)
    assert os.path.basename(cfile) == f"mod.{TAG}.pyc"
    assert bytecode_of(str(source), TAG) == "pyc"

    source.write_text("x = 1  # longer now\n")  # size changes
    assert bytecode_of(str(source), TAG) == "source"

    _compile(source)
    assert bytecode_of(str(source), TAG) == "pyc"
    stat = source.stat()
    os.utime(source, (stat.st_atime, stat.st_mtime + 10))  # same size, new mtime
    assert bytecode_of(str(source), TAG) == "source"


def test_bytecode_pyc_of_another_interpreter_does_not_count(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("x = 1\n")
    _compile(source)
    assert bytecode_of(str(source), "cpython-299") == "source"


def test_bytecode_truncated_pyc_is_source(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("x = 1\n")
    cfile = _compile(source)
    with open(cfile, "r+b") as handle:
        handle.truncate(10)
    assert bytecode_of(str(source), TAG) == "source"


def test_bytecode_hash_based_pyc_counts_as_pyc(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("x = 1\n")
    py_compile.compile(str(source), cfile=importlib.util.cache_from_source(str(source)),
                       doraise=True,
                       invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    source.write_text("x = 2  # changed\n")
    assert bytecode_of(str(source), TAG) == "pyc"


@pytest.mark.parametrize("origin", ["built-in", "frozen", "/x/mod.cpython-311-x86_64-linux-gnu.so"])
def test_bytecode_of_modules_without_source(origin):
    assert bytecode_of(origin, TAG) is None


def test_bytecode_without_cache_tag_or_missing_file(tmp_path):
    source = tmp_path / "mod.py"
    source.write_text("x = 1\n")
    assert bytecode_of(str(source), None) is None
    assert bytecode_of(str(tmp_path / "gone.py"), TAG) is None
