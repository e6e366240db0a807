"""`[tool.hotstart]`: found where a user expects it, every wrong key or type one clear line."""

from __future__ import annotations

import pathlib

import pytest
from conftest import run_hotstart, write_tree

from hotstart.check import ConfigError, find_config, load, load_config
from hotstart.check.config import resolve_entry


def config_file(tmp_path: pathlib.Path, body: str, name: str = "pyproject.toml") -> pathlib.Path:
    write_tree(tmp_path, {name: body})
    return tmp_path / name


def test_full_configuration_is_read(tmp_path):
    path = config_file(tmp_path, """
        [project]
        name = "x"
        [tool.hotstart]
        pythonpath = ["src"]
        lock-file = "locks/start.lock"
        rounds = 12
        max-rounds = 36
        [tool.hotstart.entries]
        import = "-c 'import pkg'"
        [tool.hotstart.entries.cli-help]
        run = "-m pkg.cli --help"
        forbid = ["torch", "pandas.*"]
        lock = "packages"
        budget-ms = 150
        max-modules = 300
        max-rss-mb = 60.5
        max-regression = "7.5%"
        python-versions = ">=3.11,<3.15,!=3.12"
    """)
    config = load_config(path)
    assert list(config.entries) == ["import", "cli-help"]
    assert config.entries["import"].run == "-c 'import pkg'"
    cli = config.entries["cli-help"]
    assert cli.forbid == ("torch", "pandas.*")
    assert cli.lock == "packages" and cli.budget_ms == 150 and cli.max_modules == 300
    assert cli.max_rss_mb == 60.5 and cli.max_regression == pytest.approx(0.075)
    assert cli.python_versions.allows((3, 11)) and not cli.python_versions.allows((3, 12))
    assert not cli.python_versions.allows((3, 15)) and cli.python_versions.allows((3, 14))
    assert config.lock_file == tmp_path / "locks" / "start.lock"
    assert (config.rounds, config.max_rounds) == (12, 36)
    env = config.environment()
    assert env["PYTHONPATH"].split(":")[0] == str(tmp_path / "src")


@pytest.mark.parametrize("body, expected", [
    ("[tool.hotstart]\nbudgetms = 3\n", "[tool.hotstart] unknown key 'budgetms'"),
    ("[tool.hotstart.entries.a]\nrun = '-c pass'\nbudgetms = 3\n",
     "[tool.hotstart.entries.a] unknown key 'budgetms'; did you mean 'budget-ms'?"),
    ("[tool.hotstart.entries.a]\nrun = '-c pass'\nbudget-ms = 'fast'\n",
     "[tool.hotstart.entries.a] budget-ms: expected a number, got 'fast'"),
    ("[tool.hotstart.entries.a]\nrun = '-c pass'\nforbid = 3\n",
     "forbid: expected a list of non-empty strings, got 3"),
    ("[tool.hotstart.entries.a]\nrun = '-c pass'\nforbid = ['ok', 'no spaces']\n",
     "forbid: 'no spaces' is not a module name or glob"),
    ("[tool.hotstart.entries.a]\nrun = '-c pass'\nlock = 'yes'\n",
     "lock: expected true, false, \"modules\" or \"packages\", got 'yes'"),
    ("[tool.hotstart.entries.a]\nrun = '-c pass'\nmax-modules = 1.5\n",
     "max-modules: expected a whole number, got 1.5"),
    ("[tool.hotstart.entries.a]\nrun = '-c pass'\nmax-regression = 'lots'\n",
     "max-regression: expected a share like \"5%\" or 0.05"),
    ("[tool.hotstart.entries.a]\nrun = '-c pass'\npython-versions = '3.x'\n",
     "python-versions: '3.x' is not a clause"),
    ("[tool.hotstart.entries.a]\nforbid = ['x']\n", "[tool.hotstart.entries.a] needs run ="),
    ("[tool.hotstart.entries]\na = 3\n", "[tool.hotstart.entries.a] must be a command"),
    ("[tool.hotstart]\nentries = 'x'\n", "[tool.hotstart.entries] must be a table"),
    ("[tool.hotstart]\nrounds = 2\n", "rounds: 2 is out of range (12 to 1000)"),
    ("[tool.hotstart]\nconfidence = 0.999\nrounds = 18\n", "rounds: 18 is out of range (22 to"),
    ("[tool.hotstart]\npython = ' '\n", "python: empty"),
    ("[tool.hotstart.entries]\na = '-c'\n", "[tool.hotstart.entries.a] run: -c needs an"),
    ("[tool.hotstart.entries]\na = \"-m 'os; x'\"\n", "run: 'os; x' is not a module name"),
    ("[tool.hotstart.entries]\na = \"-c 'unclosed\"\n", "run: No closing quotation"),
    ("[tool.hotstart]\nrounds = true\n", "rounds: expected a whole number, got True"),
    ("[tool.hotstart]\nconfidence = 1.5\n", "confidence: 1.5 is out of range"),
    ("[tool.hotstart.entries.'a b']\nrun = '-c pass'\n", "rename 'a b'"),
    ("[tool.hotstart\n", "invalid TOML"),
])
def test_bad_configuration_is_one_line_naming_the_key(tmp_path, body, expected):
    config_file(tmp_path, "[project]\nname = 'x'\n" + body)
    with pytest.raises(ConfigError) as caught:
        load(tmp_path)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message and message.startswith(("pyproject.toml", str(tmp_path)))
    result = run_hotstart("check", "--no-timing", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and expected in result.stderr
    assert "Traceback" not in result.stderr


def test_hostile_files_are_refused_in_one_line(tmp_path):
    config_file(tmp_path, "[tool.hotstart]\nx = " + "[" * 5000 + "]" * 5000 + "\n",
                name="hotstart.toml")
    result = run_hotstart("check", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("hotstart: error: hotstart.toml: ")
    (tmp_path / "hotstart.toml").write_bytes(b"\xff\xfe[entries]\n")
    result = run_hotstart("check", cwd=tmp_path)
    assert result.returncode == 2 and "not UTF-8 text" in result.stderr


def test_hotstart_toml_is_used_when_pyproject_has_no_table(tmp_path):
    write_tree(tmp_path, {
        "pyproject.toml": "[project]\nname = 'x'\n",
        "hotstart.toml": "[entries]\nimport = '-c pass'\n",
        "sub/dir/keep.txt": "",
    })
    assert find_config(tmp_path / "sub" / "dir") == tmp_path / "hotstart.toml"
    assert list(load(tmp_path / "sub").entries) == ["import"]
    (tmp_path / "pyproject.toml").write_text(
        "[project]\nname = 'x'\n[tool.hotstart.entries]\nfrom-pyproject = '-c pass'\n")
    assert list(load(tmp_path).entries) == ["from-pyproject"]


def test_search_stops_at_the_repository_root(tmp_path):
    write_tree(tmp_path, {"hotstart.toml": "[entries]\na = '-c pass'\n",
                          "repo/.git/HEAD": "ref: refs/heads/main\n", "repo/pkg/x.py": ""})
    assert find_config(tmp_path / "repo" / "pkg") is None
    result = run_hotstart("check", cwd=tmp_path / "repo" / "pkg")
    assert result.returncode == 2 and "no [tool.hotstart]" in result.stderr


def test_unknown_entry_name_lists_the_known_ones(tmp_path):
    config_file(tmp_path, "[tool.hotstart.entries]\none = '-c pass'\ntwo = '-c pass'\n")
    result = run_hotstart("check", "--entry", "three", cwd=tmp_path)
    assert result.returncode == 2
    assert "no entry named 'three' (entries: one, two)" in result.stderr


def test_resolve_entry_reads_names_and_leaves_commands(tmp_path):
    config_file(tmp_path, "[tool.hotstart.entries]\ncli-help = '-m pkg.cli --help'\n")
    assert resolve_entry("cli-help", tmp_path) == "-m pkg.cli --help"
    assert resolve_entry("-m other", tmp_path) == "-m other"
    assert resolve_entry("script.py", tmp_path) == "script.py"
    assert resolve_entry("pkg", tmp_path) == "pkg"  # not configured: a module name
