"""Real environments for the activation tests, and the reference they are compared with.

No conda can be installed here, so a conda prefix is built the way conda lays one out: a real
venv (for a real python in ``bin/``) plus ``conda-meta/`` (``history``, ``state`` with
``env_vars``), ``etc/conda/env_vars.d/*.json`` and ``etc/conda/activate.d/*.sh`` /
``deactivate.d/*.sh`` scripts. `live_conda` activates it the way conda's own POSIX activator
does, independently of hotstart: the commands ``conda shell.posix activate`` prints (``export
NAME='value'`` for PATH, CONDA_* and the env vars, then ``. "script"`` for each
``activate.d/*.sh`` in sorted order), evaluated by ``sh``, then ``env -0``.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import tempfile


#: Every subprocess of these tests ends within this many seconds, or the test fails.
TIMEOUT = 60

#: The console script, as users run it.
HOTSTART = [str(pathlib.Path(sys.executable).with_name("hotstart"))]

#: The variables `sh` maintains itself, and conda's deactivation bookkeeping: never compared.
NOT_COMPARED = {"PWD", "OLDPWD", "SHLVL", "_"}


def hotstart(*args: str, env: dict[str, str] | None = None, cwd: str | None = None,
             timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """Run ``hotstart ARGS``; output as bytes."""
    return subprocess.run([*HOTSTART, *args], env=env, cwd=cwd, capture_output=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def caller_env(**extra: str) -> dict[str, str]:
    """A job's environment: what a container gives it, plus `extra` (None removes)."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": os.path.expanduser("~"),
           "LANG": "C.UTF-8", "HOSTNAME": "job-7"}
    env.update(extra)
    return {k: v for k, v in env.items() if v is not None}


def make_venv(path: pathlib.Path) -> pathlib.Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True,
                   timeout=TIMEOUT, capture_output=True)
    return path


def make_conda(path: pathlib.Path, scripts: dict[str, str | bytes] | None = None,
               env_vars: dict[str, str] | None = None,
               package_vars: dict[str, dict[str, str]] | None = None,
               deactivate: dict[str, str] | None = None) -> pathlib.Path:
    """A conda-layout prefix at `path` (see the module docstring)."""
    make_venv(path)
    meta = path / "conda-meta"
    meta.mkdir()
    (meta / "history").write_text("==> 2026-12-01 10:00:00 <==\n# cmd: conda create\n")
    if env_vars is not None:
        (meta / "state").write_text(json.dumps({"env_vars": env_vars}))
    for name, text in (scripts or {}).items():
        write(path / "etc/conda/activate.d" / name, text)
    for name, text in (deactivate or {}).items():
        write(path / "etc/conda/deactivate.d" / name, text)
    for name, variables in (package_vars or {}).items():
        write(path / "etc/conda/env_vars.d" / name, json.dumps(variables))
    return path


def write(path: pathlib.Path, text: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)


def parse_env(data: bytes) -> dict[bytes, bytes]:
    """``env -0`` output -> {name: value}, as bytes (nothing decoded, nothing lost)."""
    pairs = (entry.partition(b"=") for entry in data.split(b"\0") if entry)
    return {name: value for name, _, value in pairs}


def comparable(env: dict[bytes, bytes]) -> dict[bytes, bytes]:
    return {k: v for k, v in env.items()
            if k.decode() not in NOT_COMPARED and not k.startswith((b"_CONDA_", b"__CONDA_"))}


def default_env_name(prefix: pathlib.Path) -> str:
    return prefix.name if prefix.parent.name == "envs" else str(prefix)


def live_conda(prefix: pathlib.Path, caller: dict[str, str]) -> dict[bytes, bytes]:
    """The environment `caller` has after conda's POSIX activation of `prefix` (the module
    docstring): the reference every snapshot is compared with."""
    name = default_env_name(prefix)
    variables: dict[str, str] = {}
    for item in sorted((prefix / "etc/conda/env_vars.d").glob("*")):
        variables.update(json.loads(item.read_text()))
    state = prefix / "conda-meta" / "state"
    if state.exists():
        variables.update(json.loads(state.read_text()).get("env_vars", {}))
    path = caller["PATH"]
    exports = {"PATH": f"{prefix}/bin:{path}", "CONDA_PREFIX": str(prefix), "CONDA_SHLVL": "1",
               "CONDA_DEFAULT_ENV": name, "CONDA_PROMPT_MODIFIER": f"({name}) "}
    exports.update({k.upper(): v for k, v in variables.items() if v != "***unset***"})
    lines = [f"export {k}='{v}'" for k, v in exports.items()]  # conda's export_var_tmpl
    lines += [f'. "{script}"' for script in sorted(prefix.glob("etc/conda/activate.d/*.sh"))]
    return _dump_after(lines, caller)


def _dump_after(lines: list[str], caller: dict[str, str]) -> dict[bytes, bytes]:
    """Run `lines` in sh with `caller`'s environment, then ``env -0`` into a file ($0), so
    that what the scripts print is not mistaken for the environment."""
    with tempfile.NamedTemporaryFile() as out:
        result = subprocess.run(["/bin/sh", "-c", "\n".join([*lines, 'exec env -0 >"$0"']),
                                 out.name], env=caller, capture_output=True, timeout=TIMEOUT,
                                stdin=subprocess.DEVNULL)
        assert result.returncode == 0, result.stderr
        return parse_env(pathlib.Path(out.name).read_bytes())


def live_venv(prefix: pathlib.Path, caller: dict[str, str]) -> dict[bytes, bytes]:
    """`caller` after ``. PREFIX/bin/activate`` in sh, without the prompt variables."""
    env = _dump_after([f'. "{prefix}/bin/activate"'], caller)
    env.pop(b"PS1", None)
    env.pop(b"VIRTUAL_ENV_PROMPT", None)
    return env


def via_exec(target: str, caller: dict[str, str], *options: str) -> dict[bytes, bytes]:
    """The environment ``hotstart exec TARGET -- env -0`` gives a command."""
    result = hotstart("exec", *options, target, "--", "env", "-0", env=caller)
    assert result.returncode == 0, result.stderr
    return parse_env(result.stdout)


def via_shim(shim: pathlib.Path, caller: dict[str, str]) -> dict[bytes, bytes]:
    """The environment ``sh SHIM env -0`` gives a command."""
    result = subprocess.run(["/bin/sh", str(shim), "env", "-0"], env=caller,
                            capture_output=True, timeout=TIMEOUT, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stderr
    return parse_env(result.stdout)


def snapshot(prefix: pathlib.Path, out: pathlib.Path, *options: str) -> pathlib.Path:
    result = hotstart("env", "snapshot", str(prefix), "-o", str(out), *options)
    assert result.returncode == 0, result.stderr
    return out


#: activate.d scripts of the kinds conda-forge packages ship (GDAL, PROJ, a compiler).
GDAL = """\
#!/bin/sh
# as conda-forge's gdal: keep the caller's value for deactivate, then set ours
if [ -n "${GDAL_DATA:-}" ]; then
    export _CONDA_SET_GDAL_DATA=${GDAL_DATA:-}
fi
export GDAL_DATA=${CONDA_PREFIX}/share/gdal
export GDAL_DRIVER_PATH=${CONDA_PREFIX}/lib/gdalplugins
"""
PROJ = """\
export PROJ_DATA="${CONDA_PREFIX}/share/proj"
export PROJ_NETWORK="${PROJ_NETWORK:-OFF}"
"""
LIBS = """\
# prepends to the caller's values, guarded and unguarded
export LD_LIBRARY_PATH="${CONDA_PREFIX}/lib${LD_LIBRARY_PATH:+:${LD_LIBRARY_PATH}}"
export MANPATH="${CONDA_PREFIX}/man:${MANPATH}"
export PATH="${CONDA_PREFIX}/opt/tools/bin:${PATH}:${CONDA_PREFIX}/fallback/bin"
"""
DEACTIVATE = """\
unset GDAL_DATA
export DEACTIVATED=yes
"""
