"""The environment a pool worker gets: a whitelist plus prefixes, everything else deleted.

A worker (and the template process it is forked from) must not see the parent's secrets:
cloud keys, API tokens, database URLs. Two steps:

    >>> env = scrubbed(allow=["AWS_REGION"], set={"OMP_NUM_THREADS": "1"})
    >>> subprocess.Popen([sys.executable, "-c", TEMPLATE], env=env)   # start the template
    ...
    >>> apply(env)          # in the template and in workers: os.environ becomes exactly env

`scrubbed` computes the mapping; `apply` makes the running process's environment equal to
it. Passing ``env=`` to a child replaces its whole environment, but merely *adding* names
to ``os.environ`` (or building ``env=`` from ``{**os.environ, ...}``) leaves every inherited
variable in place: variables must be deleted, which is what `apply` does, through
``os.environ`` so that the C-level environment (``unsetenv``/``putenv``) changes too and
child processes started with ``os.system``, ``subprocess`` or ``exec*`` see the result.

What gets through by default (`DEFAULT_ALLOW`, `DEFAULT_PREFIXES`), and why:

- identity and locale: ``PATH HOME USER LOGNAME LANG LANGUAGE TZ TERM`` and every ``LC_*``;
- temporary and per-user directories: ``TMPDIR TEMP TMP XDG_CACHE_HOME XDG_CONFIG_HOME
  XDG_DATA_HOME XDG_RUNTIME_DIR`` (the spill directory and hotstart's cache live there);
- the interpreter must import the same code as the parent, so the variables that shape
  ``sys.path`` and import behaviour pass: ``PYTHONPATH PYTHONHOME PYTHONSAFEPATH
  PYTHONNOUSERSITE PYTHONUSERBASE PYTHONPLATLIBDIR PYTHONDONTWRITEBYTECODE
  PYTHONPYCACHEPREFIX``, the active environment ``VIRTUAL_ENV CONDA_PREFIX
  CONDA_DEFAULT_ENV``, and ``LD_LIBRARY_PATH`` (conda and CUDA libraries are often found
  through it); plus output and determinism settings ``PYTHONHASHSEED PYTHONIOENCODING
  PYTHONUTF8 PYTHONUNBUFFERED PYTHONWARNINGS PYTHONFAULTHANDLER``;
- TLS trust stores: ``SSL_CERT_FILE SSL_CERT_DIR REQUESTS_CA_BUNDLE CURL_CA_BUNDLE``;
- thread counts and allocator arenas, which decide how much CPU and memory each of N workers
  takes: ``OMP_NUM_THREADS OMP_THREAD_LIMIT MKL_NUM_THREADS OPENBLAS_NUM_THREADS
  BLIS_NUM_THREADS VECLIB_MAXIMUM_THREADS NUMEXPR_NUM_THREADS NUMEXPR_MAX_THREADS
  NUMBA_NUM_THREADS RAYON_NUM_THREADS POLARS_MAX_THREADS MALLOC_ARENA_MAX``, and the device
  assignment ``CUDA_VISIBLE_DEVICES``;
- hotstart's own settings: every ``HOTSTART_*`` (``HOTSTART_PRELOAD``, ``HOTSTART_EAGER``...).

Deliberately *not* passed (add them with ``allow=`` when a worker needs them):

- there is no ``PYTHON`` prefix: ``PYTHONINSPECT`` would leave a worker sitting in an
  interactive prompt at exit, ``PYTHONSTARTUP`` and ``PYTHONBREAKPOINT`` run or import code of
  the parent's choosing, ``PYTHONPROFILEIMPORTTIME``/``PYTHONTRACEMALLOC``/``PYTHONDEVMODE``
  slow every worker, and a prefix would pass any future ``PYTHON...`` name (a user's
  ``PYTHON_API_TOKEN``); only the Python variables listed above pass;
- proxies (``HTTP_PROXY`` and friends: they often embed ``user:password@``), ``SSH_AUTH_SOCK``
  (an agent socket is a credential), ``DISPLAY``/``XAUTHORITY``, ``KUBECONFIG``, cloud profile
  and region names, ``LD_PRELOAD`` (code injection), ``PWD``/``OLDPWD`` (stale in a worker);
- variables exported by a conda environment's activation hooks (``GDAL_DATA``,
  ``PROJ_DATA``...): they are package specific; pass them with ``allow=``.

A name admitted *only* through a prefix is still dropped when it looks like a secret (it
contains ``SECRET``, ``TOKEN``, ``PASSW``, ``PASSPHRASE``, ``CREDENTIAL``, ``CREDS``,
``PRIVATE``, ``AUTH``, ``COOKIE``, ``APIKEY``, a word ending in ``PASS`` (``PASS``,
``DBPASS``), or a ``PWD``/``PW``/``KEY``/``KEYS``/``URL``/``URI``/``DSN`` word between
underscores, case-insensitively), so ``HOTSTART_API_TOKEN``, ``HOTSTART_DB_PASS``,
``LC_PASS`` or ``LC_DB_URL`` do not leak through a prefix. The check errs on the side of
dropping: ``HOTSTART_BYPASS_X`` is dropped too (pass it with ``allow=``). Exact names (`DEFAULT_ALLOW` and ``allow=``) are not subject to that
check: naming a variable is an explicit decision.

Standard library only; importing this module imports nothing but ``os``.
"""

import os

TYPE_CHECKING = False  # not `from typing import ...`: typing alone costs milliseconds
if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["DEFAULT_ALLOW", "DEFAULT_PREFIXES", "apply", "scrubbed"]

#: Exact names a worker inherits by default (see the module docstring for the reasons).
DEFAULT_ALLOW: "frozenset[str]" = frozenset({
    # identity, locale, terminal
    "PATH", "HOME", "USER", "LOGNAME", "LANG", "LANGUAGE", "LC_ALL", "LC_CTYPE", "TZ", "TERM",
    # temporary and per-user directories
    "TMPDIR", "TEMP", "TMP",
    "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_RUNTIME_DIR",
    # the interpreter imports the same code as the parent
    "PYTHONPATH", "PYTHONHOME", "PYTHONSAFEPATH", "PYTHONNOUSERSITE", "PYTHONUSERBASE",
    "PYTHONPLATLIBDIR", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX",
    "VIRTUAL_ENV", "CONDA_PREFIX", "CONDA_DEFAULT_ENV", "LD_LIBRARY_PATH",
    # output, determinism, crash reports
    "PYTHONHASHSEED", "PYTHONIOENCODING", "PYTHONUTF8", "PYTHONUNBUFFERED", "PYTHONWARNINGS",
    "PYTHONFAULTHANDLER",
    # TLS trust stores
    "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE",
    # threads, allocator arenas, devices: what each of N workers may take
    "OMP_NUM_THREADS", "OMP_THREAD_LIMIT", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS",
    "BLIS_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMEXPR_NUM_THREADS", "NUMEXPR_MAX_THREADS",
    "NUMBA_NUM_THREADS", "RAYON_NUM_THREADS", "POLARS_MAX_THREADS", "MALLOC_ARENA_MAX",
    "CUDA_VISIBLE_DEVICES",
})

#: Name prefixes a worker inherits by default: the locale categories and hotstart's own.
DEFAULT_PREFIXES: "tuple[str, ...]" = ("LC_", "HOTSTART_")

# Substrings of "_" + NAME + "_" (upper-cased) that mark a prefix-matched name as a secret.
# "PASS_" is any word ending in PASS (DB_PASS, DBPASS); "PWD" only as a word (a PWD inside
# a longer word is rare, and the shell's own PWD is not admitted by any prefix).
_SECRET_MARKS = ("SECRET", "TOKEN", "PASSW", "PASSPHRASE", "CREDENTIAL", "CREDS", "PRIVATE",
                 "AUTH", "COOKIE", "APIKEY", "PASS_", "_PWD_", "_PW_", "_KEY_", "_KEYS_",
                 "_URL_", "_URI_", "_DSN_")


def _looks_secret(name: str) -> bool:
    padded = f"_{name.upper()}_"
    return any(mark in padded for mark in _SECRET_MARKS)


def _names(value: "Iterable[str]", argument: str) -> "frozenset[str]":
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{argument} must be a collection of names, not a single string "
                        f"({value!r}); write {argument}=[{value!r}]")
    return frozenset(value)


def _check(name: object, value: object) -> None:
    """Raise unless `name`=`value` can be put in the environment (checked before any change)."""
    if not isinstance(name, str) or not isinstance(value, str):
        raise TypeError(f"environment names and values must be str, got {name!r}={value!r}")
    if not name or "=" in name or "\0" in name:
        raise ValueError(f"invalid environment variable name {name!r}")
    if "\0" in value:
        raise ValueError(f"environment variable {name} has a NUL character in its value")


def scrubbed(environ: "Mapping[str, str] | None" = None, *, allow: "Iterable[str]" = (),
             prefixes: "Iterable[str]" = (), deny: "Iterable[str]" = (),
             set: "Mapping[str, str] | None" = None,
             replace_defaults: bool = False) -> "dict[str, str]":
    """The environment a worker gets, computed from `environ` (default: ``os.environ``).

    A variable of `environ` is kept when its name is
      - in the allowed names: `DEFAULT_ALLOW` | `allow` (only `allow` if `replace_defaults`), or
      - starts with an allowed prefix: `DEFAULT_PREFIXES` + `prefixes` (only `prefixes` if
        `replace_defaults`) and does not look like a secret (see the module docstring),
    and is not in `deny` (deny beats allow and prefixes). Then every item of `set` is added
    or overrides, whatever the lists say (set beats everything, `deny` included).

    Names are compared exactly (case-sensitively). `allow`, `prefixes` and `deny` are
    collections of strings; a bare string raises `TypeError` rather than being read as its
    characters. A name or value of `set` that cannot be put in an environment (empty name,
    ``=`` or NUL in the name, NUL in the value, not a str) raises `ValueError`/`TypeError`.

    Returns a new dict, in the order of `environ` followed by the new names of `set`;
    `environ` is not modified. Pass it as ``env=`` to start a process, or to `apply`.
    """
    source = os.environ if environ is None else environ
    names = _names(allow, "allow")
    starts = tuple(_names(prefixes, "prefixes"))
    denied = _names(deny, "deny")
    overrides = dict(set) if set is not None else {}
    for name, value in overrides.items():
        _check(name, value)
    if not replace_defaults:
        names = names | DEFAULT_ALLOW
        starts = DEFAULT_PREFIXES + starts
    result: dict[str, str] = {}
    for name, value in source.items():
        if name in denied:
            continue
        if name in names or (name.startswith(starts) and not _looks_secret(name)):
            result[name] = value
    result.update(overrides)
    return result


def apply(env: "Mapping[str, str]") -> None:
    """Make this process's environment exactly `env`: delete every other variable, set the rest.

    Works through ``os.environ``, whose deletions and assignments call ``unsetenv``/``putenv``,
    so the C-level environment changes too: children started afterwards (``os.system``,
    ``subprocess`` without ``env=``, ``os.exec*``) inherit exactly `env`. Every name and value
    is checked first, so an invalid one (`TypeError`/`ValueError`, as for `scrubbed`'s
    ``set``) leaves the environment untouched. `env` may be ``os.environ`` itself or a
    snapshot of it (``apply(dict(os.environ))`` restores a saved environment).

    A variable put at the C level behind Python's back (``os.putenv`` called directly, or
    ``setenv`` in an extension module) is not listed in ``os.environ``: it is found in the
    C array itself (`_cenviron`) and deleted too. Where that array cannot be read (no
    ctypes), such a variable stays: call `apply` before importing code that might put one
    (the template does so first thing).
    """
    target = dict(env)
    for name, value in target.items():
        _check(name, value)
    environ = os.environ
    for name in [name for name in environ if name not in target]:
        try:
            del environ[name]
        except KeyError:  # removed meanwhile (another thread): the goal is reached anyway
            pass
    for name, value in target.items():
        if environ.get(name) != value:
            environ[name] = value
    _unset_c_only(target)


def _unset_c_only(target: dict[str, str]) -> None:
    """Delete the variables of the C environment that `apply`'s `target` does not name."""
    from . import _cenviron

    wanted = {os.fsencode(name) for name in target}
    for entry in _cenviron.entries() or ():
        name = entry.partition(b"=")[0]
        if name and name not in wanted:
            try:
                os.unsetenv(name)
            except (OSError, ValueError):  # a name unsetenv refuses ("=" in it, from C)
                pass
