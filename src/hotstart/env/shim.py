"""Write a snapshot as a POSIX ``sh`` entrypoint: the activation baked in, no hotstart needed.

    #!/bin/sh
    export CONDA_PREFIX='/opt/conda/envs/worker'
    ...
    export PATH='/opt/conda/envs/worker/bin:'"${PATH:-/bin:/usr/bin}"
    exec "$@"

It gives the command exactly the environment `hotstart exec` gives it (the tests compare the
two): the same values over the caller's environment, ``PATH`` built around the caller's
``PATH`` when the shim runs, a variable the activation builds around the caller's value
built the same way, ``--keep`` names left to the caller.

Quoting: every value is one single-quoted word (``'`` written ``'\\''``), which ``sh`` takes
literally: no expansion, no command substitution, newlines and quotes included. A value with
bytes that are not UTF-8, or with control characters other than newline and tab, is produced
by ``printf`` from an ASCII format of octal escapes instead (``printf '\\377x'`` with a
trailing ``x`` that is then stripped, so trailing newlines survive the command substitution):
the file itself is always printable UTF-8. Names are checked when the snapshot is read (only
``[A-Za-z_][A-Za-z0-9_]*``), so no name can be code.

Secrets: a variable whose name looks like a secret (the rules of `hotstart.pool.env`:
``TOKEN``, ``SECRET``, ``PASSWORD``, ``_KEY``...) is left out of the file, unless it is named
with ``allow``: an image layer is no place for a credential. The shim then passes on the
caller's value, if any; the file says which names were left out.
"""

from __future__ import annotations

import os

from ..errors import BadInput
from .apply import DEFAULT_PATH

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable

    from .model import Snapshot

__all__ = ["render_shim", "secret_names", "write_shim"]


def secret_names(snapshot: "Snapshot") -> list[str]:
    """The names the snapshot sets that look like secrets (left out of shims by default)."""
    from ..pool.env import _looks_secret

    return sorted(name for name in snapshot.set if _looks_secret(name))


def render_shim(snapshot: "Snapshot", *, python: bool = False, allow: "Iterable[str]" = (),
                keep: "Iterable[str]" = (), source: str = "the snapshot") -> str:
    """The shim's text. `python`: exec the environment's python with the arguments instead
    of the arguments as a command. `allow`: secret-looking names to write anyway (each must
    be one the snapshot sets); `keep`: names whose caller's value wins when the caller has
    them. `BadInput` for an `allow` or `keep` name that makes no sense."""
    from .. import __version__
    from .._text import printable

    allow, keep = set(allow), set(keep)
    secrets = secret_names(snapshot)
    for name in sorted(allow - set(secrets)):
        known = f" (it sets these: {', '.join(secrets)})" if secrets else ""
        raise BadInput(f"--allow {name}: the snapshot sets no secret-looking variable "
                       f"{name}{known}")
    _check_keep(snapshot, keep)
    left_out = [name for name in secrets if name not in allow]
    words = _Words()
    kind = "conda environment" if snapshot.kind == "conda" else "virtual environment"
    runs = "the environment's python with its arguments" if python else "its arguments"
    import textwrap

    about = (f"The activation of the {kind} {printable(snapshot.prefix)}, baked in by hotstart "
             f"{__version__} ('hotstart env shim' from {printable(source)}). It runs {runs} in "
             f"that environment, in this process (exec: no 'conda run', no second interpreter, "
             f"no hotstart needed). Write it again when the environment changes: 'hotstart env "
             f"verify {printable(source)}' says when.")
    lines = ["#!/bin/sh", *(f"# {line}" for line in textwrap.wrap(about, 86))]
    if left_out:
        lines += [f"# {line}" for line in textwrap.wrap(
            f"Left out, as their names look secret (the caller's value passes through; write "
            f"them with --allow NAME): {', '.join(left_out)}", 86)]
    if keep:
        lines.append(f"# The caller's value wins for: {', '.join(sorted(keep))}")
    lines += [f"unset {name}" for name in snapshot.unset if name not in keep]
    for name, value in snapshot.set.items():
        if name in left_out:
            continue
        around = snapshot.with_caller.get(name)
        if around:
            before, after = (words.word(part, empty="") for part in around)
            plain = words.word(value)
            statement = (f'if [ -n "${{{name}-}}" ]; then {name}={before}"${{{name}}}"{after}; '
                         f'else {name}={plain}; fi; export {name}')
        else:
            statement = f"export {name}={words.word(value)}"
        if name in keep:
            statement = f'if [ -z "${{{name}+x}}" ]; then {statement}; fi'
        lines += words.setup() + [statement]
    head = words.word("".join(f"{d}:" for d in snapshot.path_prepend), empty="")
    tail = words.word("".join(f":{d}" for d in snapshot.path_append), empty="")
    lines += words.setup()
    lines.append(f'export PATH={head}"${{PATH:-{DEFAULT_PATH}}}"{tail}')
    if python:
        program = words.word(snapshot.python)
        lines += words.setup() + words.cleanup() + [f'exec {program} "$@"']
    else:
        lines += words.cleanup() + [
            'if [ "$#" -eq 0 ]; then',
            '    echo "usage: $0 COMMAND [ARGS...]: runs COMMAND in the environment" >&2',
            "    exit 2",
            "fi",
            'exec "$@"',
        ]
    return "\n".join(lines) + "\n"


def write_shim(path: str, snapshot: "Snapshot", **options: object) -> str:
    """Write the shim to `path` atomically, mode 0755; returns its text (`render_shim`'s
    options)."""
    from .._files import check_writable, write_atomic

    check_writable(path)
    text = render_shim(snapshot, **options)
    write_atomic(path, text, mode=0o755)
    return text


def _check_keep(snapshot: "Snapshot", keep: set[str]) -> None:
    from .model import valid_name

    for name in sorted(keep):
        if name == "PATH":
            raise BadInput("--keep PATH: PATH is always the caller's, with the environment's "
                           "directories added")
        if not valid_name(name):
            raise BadInput(f"--keep {name!r}: not a variable name a shell can set")


class _Words:
    """Shell words for values; a value that needs ``printf`` is put in a temporary variable
    first (`setup`), and the temporaries are removed before the exec (`cleanup`)."""

    def __init__(self) -> None:
        self.pending: list[str] = []
        self.count = 0

    def word(self, value: str, empty: str = "''") -> str:
        """`value` as a shell word; `empty` for "" (nothing, where it is glued to others)."""
        if not value:
            return empty
        if all(char.isprintable() or char in "\n\t" for char in value):
            return "'" + value.replace("'", "'\\''") + "'"
        temp = f"__hotstart_{self.count}"
        self.count += 1
        self.pending.append(f"{temp}=$(printf '{_printf_format(value)}x'); {temp}=${{{temp}%x}}")
        return f'"${{{temp}}}"'

    def setup(self) -> list[str]:
        lines, self.pending = self.pending, []
        return lines

    def cleanup(self) -> list[str]:
        return [f"unset {' '.join(f'__hotstart_{i}' for i in range(self.count))}"] \
            if self.count else []


def _printf_format(value: str) -> str:
    """`value`'s bytes (lone surrogates: the undecodable bytes os.environ stands them for) as
    a printf format of printable ASCII: octal escapes for everything else, ``%%``, ``\\\\``,
    and ``'`` as ``\\047`` so the format is one single-quoted word."""
    out = []
    for byte in os.fsencode(value):
        char = chr(byte)
        if char == "%":
            out.append("%%")
        elif 0x20 <= byte < 0x7F and char not in "\\'":
            out.append(char)
        else:
            out.append(f"\\{byte:03o}")
    return "".join(out)
