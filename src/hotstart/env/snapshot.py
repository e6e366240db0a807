"""Take a snapshot: activate an environment once, for real, and record what it did.

A venv's activation is fixed by the venv module (``VIRTUAL_ENV``, ``PREFIX/bin`` before
``PATH``, ``PYTHONHOME`` unset): it is computed here, without a shell. A conda/mamba prefix
is activated the way ``conda activate`` does it in a POSIX shell: conda exports ``PATH``
(``PREFIX/bin`` first), ``CONDA_PREFIX``, ``CONDA_SHLVL``, ``CONDA_DEFAULT_ENV``,
``CONDA_PROMPT_MODIFIER`` and the environment's variables (``etc/conda/env_vars.d/*``, then
``conda-meta/state``'s ``env_vars``; names upper-cased, ``***unset***`` skipped, as conda
does by default), then sources ``etc/conda/activate.d/*.sh`` in sorted order. Here that runs
in a clean ``sh`` (only ``PATH`` and ``HOME``), and ``env -0`` dumps the environment before
the first script and after each one, to files; Python diffs the dumps. Nothing a script
prints is ever evaluated: its stdout and stderr go to files, read only for notes and errors.

Which values depend on the caller? Two runs answer it. The first starts from the clean
environment, with a marker directory at the end of ``PATH``: whatever the scripts put before
or after the marker's segment is what they add to the caller's ``PATH``. The second run gives
each variable the scripts set a unique probe value first: a script that prepends to
``LD_LIBRARY_PATH`` leaves ``<its dirs>:<probe>``, one that keeps a caller's value leaves the
probe alone; either is recorded as "built around the caller's value" (`Snapshot.with_caller`).

A script that ends the shell (``exit``, ``exec``), does not finish within the timeout, or
replaces ``PATH`` instead of adding to it, gets one error naming it. Its exit status alone is
not an error: conda ignores it too (``[ -n "$X" ] && export Y=...`` ends with status 1).
"""

from __future__ import annotations

import os

from ..errors import BadInput, HotstartError
from .model import Dependency, Snapshot, script_names, valid_name

__all__ = ["ActivationError", "DEFAULT_TIMEOUT", "kind_of", "live_environment", "take"]

DEFAULT_TIMEOUT = 30.0
#: The clean shell's PATH, before the marker: where `env` and the usual tools are.
CLEAN_PATH = "/usr/bin:/bin"
ENV_TOOL = "/usr/bin/env" if os.path.exists("/usr/bin/env") else "/bin/env"
#: What the shell itself maintains: not part of an activation.
SHELL_OWN = frozenset({"PWD", "OLDPWD", "SHLVL", "_"})
#: conda's deactivation bookkeeping (``_CONDA_BACKUP_CC``, ``__CONDA_SHLVL_0_X``): recorded
#: as the clean run left them, never probed.
BOOKKEEPING = ("_CONDA_", "__CONDA_")
UNSET_MARK = "***unset***"  # conda's value for "this variable is unset in the environment"


class ActivationError(HotstartError):
    """The activation cannot be recorded: a script ended the shell, hung, or replaced PATH."""


def kind_of(prefix: str) -> str:
    """"conda" (a ``conda-meta`` directory) or "venv" (a ``pyvenv.cfg``); `BadInput` else."""
    if not os.path.isdir(prefix):
        raise BadInput(f"{prefix!r} is not a directory: give the prefix of a conda "
                       f"environment or a virtual environment")
    if os.path.isdir(os.path.join(prefix, "conda-meta")):
        return "conda"
    if os.path.isfile(os.path.join(prefix, "pyvenv.cfg")):
        return "venv"
    raise BadInput(f"{prefix!r} is neither a conda environment (no conda-meta/) nor a "
                   f"virtual environment (no pyvenv.cfg)")


def take(prefix: str, *, timeout: float = DEFAULT_TIMEOUT,
         notes: list[str] | None = None) -> Snapshot:
    """Activate the environment at `prefix` and record what it does. `notes` (when given)
    receives one line per thing worth telling that is not an error (a script that printed,
    a value the model cannot follow)."""
    prefix = os.path.abspath(prefix)
    if ":" in prefix:  # PREFIX/bin goes into PATH, where ':' separates entries
        raise BadInput(f"{prefix!r} contains ':', so PREFIX/bin cannot be put in PATH: "
                       f"activation would not work there either")
    notes = [] if notes is None else notes
    if kind_of(prefix) == "venv":
        return Snapshot("venv", prefix, path_prepend=(os.path.join(prefix, "bin"),),
                        set={"VIRTUAL_ENV": prefix}, unset=("PYTHONHOME",),
                        files=(Dependency.of(os.path.join(prefix, "pyvenv.cfg")),))
    exports, files, listings = _conda_exports(prefix)
    scripts_dir = os.path.join(prefix, "etc", "conda", "activate.d")
    listings[scripts_dir] = tuple(script_names(scripts_dir))
    scripts = [os.path.join(scripts_dir, name) for name in listings[scripts_dir]]
    files += [Dependency.of(script) for script in scripts]
    token = os.urandom(6).hex()
    marker = f"/hotstart-caller-path-{token}"
    caller_path = f"{CLEAN_PATH}:{marker}"
    clean = {"PATH": caller_path, "HOME": os.path.expanduser("~")}
    activated = {**clean, **exports, "PATH": f"{os.path.join(prefix, 'bin')}:{caller_path}"}
    dumps = _run(scripts, activated, timeout, notes)
    final = dumps[-1]
    prepend, append = _split_path(final, dumps, scripts, caller_path)
    values = {}
    for name, value in final.items():
        if name in SHELL_OWN or name == "PATH" or clean.get(name) == value:
            continue
        if marker in value:
            if name.startswith(BOOKKEEPING):
                continue
            raise ActivationError(f"{_blame(dumps, scripts, name)} sets {name} from PATH "
                                  f"({_short(value)}): a value computed from the caller's "
                                  f"PATH cannot be recorded")
        values[name] = value
    unset = [name for name in clean if name not in final]  # (PATH: _split_path refused)
    with_caller = _probe(scripts, clean, exports, values, activated["PATH"], timeout, notes,
                         token)
    return Snapshot("conda", prefix, path_prepend=prepend, path_append=append, set=values,
                    with_caller=with_caller, unset=tuple(unset), files=tuple(files),
                    listings=listings)


def live_environment(snapshot: Snapshot, caller: dict[str, str], *,
                     timeout: float = DEFAULT_TIMEOUT) -> dict[str, str]:
    """The environment a real activation of the snapshot's prefix gives `caller` now: conda's
    exports and ``activate.d`` scripts, or the venv's own ``bin/activate``, sourced in ``sh``
    (for `verify`: the reference the snapshot is compared with)."""
    prefix = snapshot.prefix
    if snapshot.kind == "venv":
        dumps = _run([os.path.join(prefix, "bin", "activate")], dict(caller), timeout, [])
        final = dumps[-1]
        for name in ("PS1", "VIRTUAL_ENV_PROMPT"):  # the prompt: for interactive shells only
            final.pop(name, None)
    else:
        exports, _, _ = _conda_exports(prefix)
        scripts_dir = os.path.join(prefix, "etc", "conda", "activate.d")
        scripts = [os.path.join(scripts_dir, name) for name in script_names(scripts_dir)]
        path = caller.get("PATH") or os.defpath
        env = {**caller, **exports, "PATH": f"{os.path.join(prefix, 'bin')}:{path}"}
        final = _run(scripts, env, timeout, [])[-1]
    return {name: value for name, value in final.items() if name not in SHELL_OWN}


# -- conda's own part -------------------------------------------------------------------------

def _conda_exports(prefix: str) -> tuple[dict[str, str], list[Dependency], dict]:
    """What conda exports before the scripts run, the files that decide it, and the listing
    of ``env_vars.d``."""
    name = _default_env(prefix)
    exports = {"CONDA_PREFIX": prefix, "CONDA_SHLVL": "1", "CONDA_DEFAULT_ENV": name,
               "CONDA_PROMPT_MODIFIER": f"({name}) "}
    files: list[Dependency] = []
    variables: dict[str, object] = {}
    env_vars_dir = os.path.join(prefix, "etc", "conda", "env_vars.d")
    listed = tuple(script_names(env_vars_dir, suffix=""))
    for entry in listed:  # packages' variables first, sorted, then the environment's own
        path = os.path.join(env_vars_dir, entry)
        files.append(Dependency.of(path))
        variables.update(_json_object(path, None))
    state = os.path.join(prefix, "conda-meta", "state")
    files.append(Dependency.of(state))
    if files[-1].sha256 is not None:
        variables.update(_json_object(state, "env_vars"))
    for key, value in variables.items():
        if not isinstance(value, str):
            raise BadInput(f"{state}: env_vars: the value of {key!r} is not a string")
        if value == UNSET_MARK:
            continue
        upper = key.upper()  # conda's default (envvars_force_uppercase)
        if not valid_name(upper) or "\0" in value:
            raise BadInput(f"{state}: env_vars: {key!r} is not a variable name a shell can set")
        if upper == "PATH" or upper in exports:
            raise BadInput(f"{state}: env_vars sets {upper}, which conda's activation sets "
                           f"itself")
        exports[upper] = value
    return exports, files, {env_vars_dir: listed}


def _default_env(prefix: str) -> str:
    """``CONDA_DEFAULT_ENV`` as conda names it: the name of an environment under ``envs/``,
    "base" for a conda installation's own prefix, else the prefix's path."""
    if os.path.basename(os.path.dirname(prefix)) == "envs":
        return os.path.basename(prefix)
    if os.path.exists(os.path.join(prefix, "condabin", "conda")):
        return "base"
    return prefix


def _json_object(path: str, key: str | None) -> dict:
    import json

    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except OSError as exc:
        raise BadInput(f"cannot read {path!r}: {exc.strerror or exc}") from None
    except (ValueError, RecursionError) as exc:
        raise BadInput(f"{path}: not valid JSON ({exc}); conda could not activate this "
                       f"environment either") from None
    if key is not None:
        data = data.get(key, {}) if isinstance(data, dict) else None
    if not isinstance(data, dict):
        raise BadInput(f"{path}: {key or 'the file'} is not a JSON object of variables")
    return data


# -- running the scripts ----------------------------------------------------------------------

def _quote(text: str) -> str:
    return "'" + text.replace("'", "'\\''") + "'"


def _run(scripts: list[str], env: dict[str, str], timeout: float,
         notes: list[str]) -> list[dict[str, str]]:
    """Source `scripts` in order in ``sh`` started with exactly `env`; the environment before
    the first script and after each one. `ActivationError` naming the script that ended the
    shell or ran out of time."""
    import shutil
    import signal
    import subprocess
    import tempfile

    work = tempfile.mkdtemp(prefix="hotstart-env-")
    try:
        cwd = os.path.join(work, "cwd")  # what a script writes relative to it, we remove
        os.mkdir(cwd)
        # `command` with quoted words: no alias or function a script defines replaces it.
        dump = f"'command' {_quote(ENV_TOOL)} -0 >{_quote(os.path.join(work, '%d'))} || exit 125"
        lines = [dump % 0]
        for index, script in enumerate(scripts, 1):
            out, err = (_quote(os.path.join(work, f"{stream}.{index}")) for stream in "oe")
            lines += [f". {_quote(script)} >{out} 2>{err} </dev/null", dump % index]
        with open(os.path.join(work, "sh.err"), "wb") as sh_err:
            process = subprocess.Popen(["/bin/sh", "-c", "\n".join(lines) + "\n"], env=env,
                                       cwd=cwd, stdin=subprocess.DEVNULL,
                                       stdout=subprocess.DEVNULL, stderr=sh_err,
                                       start_new_session=True)
            try:
                status, timed_out = process.wait(timeout), False
            except subprocess.TimeoutExpired:
                status, timed_out = None, True
            finally:  # the scripts' background children go too
                try:
                    os.killpg(process.pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass
                process.wait()
        dumps = []
        for index in range(len(scripts) + 1):
            try:
                with open(os.path.join(work, str(index)), "rb") as handle:
                    dumps.append(_parse_dump(handle.read(), notes))
            except FileNotFoundError:
                break
        if len(dumps) == len(scripts) + 1 and not timed_out:  # the activation completed
            for index, script in enumerate(scripts, 1):
                _note_output(work, index, script, notes)
            return dumps
        if not dumps:
            raise ActivationError(f"cannot start the activation in /bin/sh: "
                                  f"{_first_line(os.path.join(work, 'sh.err'))}")
        script = scripts[len(dumps) - 1] if len(dumps) <= len(scripts) else scripts[-1]
        if timed_out:
            raise ActivationError(f"{script} did not finish within {timeout:g} s (a loop, or "
                                  f"waiting for something?); raise --timeout if it needs more")
        said = _first_line(os.path.join(work, f"e.{len(dumps)}"))
        raise ActivationError(f"{script} ended the shell (exit status {status}) before the "
                              f"activation finished: a sourced script must not exit or exec"
                              + (f"; it said: {said}" if said else ""))
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _parse_dump(data: bytes, notes: list[str]) -> dict[str, str]:
    env = {}
    for entry in data.split(b"\0"):
        name, sep, value = entry.partition(b"=")
        if not sep:
            continue
        # As os.environ decodes them: bytes that are not UTF-8 become lone surrogates, and
        # are encoded back to the same bytes by os.execve and the shim.
        key = name.decode("utf-8", "surrogateescape")
        if valid_name(key):
            env[key] = value.decode("utf-8", "surrogateescape")
        elif not any(key in note for note in notes):
            notes.append(f"{key!r} is not a variable name a shell can set: left out")
    return env


def _note_output(work: str, index: int, script: str, notes: list[str]) -> None:
    for stream, what in (("o", "stdout"), ("e", "stderr")):
        path = os.path.join(work, f"{stream}.{index}")
        if os.path.getsize(path):
            notes.append(f"{script} wrote to {what} (not part of the environment; a job "
                         f"started with the snapshot does not see it): {_first_line(path)}")


def _first_line(path: str) -> str:
    try:
        with open(path, "rb") as handle:
            data = handle.read(4096)
    except OSError:
        return ""
    lines = data.decode("utf-8", "backslashreplace").strip().splitlines()
    return _short(lines[0]) if lines else ""


def _short(text: str, limit: int = 120) -> str:
    return text if len(text) <= limit else text[:limit] + "..."


# -- reading the dumps ------------------------------------------------------------------------

def _blame(dumps: list[dict[str, str]], scripts: list[str], name: str) -> str:
    """The script after which `name` first had its final value (or lost it)."""
    final = dumps[-1].get(name)
    for index in range(1, len(dumps)):
        if dumps[index].get(name) == final and dumps[index - 1].get(name) != final:
            return scripts[index - 1]
    return "an activation script"


def _split_path(final: dict[str, str], dumps: list[dict[str, str]], scripts: list[str],
                caller_path: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The directories the activation put before and after the caller's PATH segment."""
    entries = final.get("PATH", "").split(":")
    segment = caller_path.split(":")
    for start in range(len(entries) - len(segment), -1, -1):
        if entries[start:start + len(segment)] == segment:
            return tuple(entries[:start]), tuple(entries[start + len(segment):])
    raise ActivationError(f"{_blame(dumps, scripts, 'PATH')} replaces PATH (now "
                          f"{_short(final.get('PATH', '(unset)'))}) instead of adding to it; "
                          f"hotstart records PATH as directories added to the caller's PATH")


def _probe(scripts: list[str], clean: dict[str, str], exports: dict[str, str],
           values: dict[str, str], path: str, timeout: float, notes: list[str],
           token: str) -> dict[str, tuple[str, str]]:
    """Run again with a probe value in each variable the scripts set: those built around the
    caller's own value (see the module docstring)."""
    names = [n for n in values if n not in exports and not n.startswith(BOOKKEEPING)]
    if not names:
        return {}
    probes = {name: f"/hotstart-probe-{token}/{name}" for name in names}
    dumps = _run(scripts, {**clean, **probes, **exports, "PATH": path}, timeout, [])
    final = dumps[-1]
    result = {}
    for name in names:
        value = final.get(name)
        others = [other for other, probe in probes.items()
                  if other != name and value is not None and probe in value]
        if value is not None and value.count(probes[name]) == 1 and not others:
            before, after = value.split(probes[name])
            result[name] = (before, after)
        elif value != values[name] or others:
            what = (f"computes it from the caller's {others[0]}" if others else
                    "unsets it" if value is None else
                    "uses the caller's value more than once" if probes[name] in value else
                    "sets another value")
            notes.append(f"{_blame(dumps, scripts, name)}: when the caller has {name}, the "
                         f"activation {what}; recorded as in a clean environment "
                         f"({_short(values[name])})")
    for name in final:
        if name not in values and name not in clean and not name.startswith(BOOKKEEPING) \
                and name not in probes and name not in SHELL_OWN:
            notes.append(f"{_blame(dumps, scripts, name)} sets {name} only when the caller "
                         f"has one of {', '.join(names)}: not recorded")
    return result
