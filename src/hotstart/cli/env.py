"""`hotstart env snapshot|shim|verify`: record an environment's activation once, bake it into
a POSIX entrypoint, and check a snapshot against a live activation (`hotstart.env`)."""

import sys

from ._common import MAX_SECONDS, check_number, make_parser

EPILOG = """\
examples:
  hotstart env snapshot /opt/conda/envs/worker -o /opt/worker.env.json
  hotstart exec /opt/worker.env.json -- python -m worker       # per job: no 'conda run'
  hotstart env shim /opt/worker.env.json -o /entrypoint.sh --python
  hotstart env verify /opt/worker.env.json                       # exit 1 on drift

A snapshot records PATH as directories added to the caller's PATH at run time, never as a
frozen PATH; see docs/env.md for what is recorded, staleness and the limits.
"""


def run(args: list[str]) -> int:
    import argparse

    parser = make_parser(
        "env", "Snapshot an environment's activation once (a conda/mamba prefix: PATH, "
        "CONDA_*, its env_vars and what etc/conda/activate.d/*.sh export, run in a clean sh; "
        "a venv: VIRTUAL_ENV and PATH), then start jobs with it without a second interpreter: "
        "'hotstart exec', or a sh entrypoint with the values baked in.", epilog=EPILOG)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    raw = {"formatter_class": argparse.RawDescriptionHelpFormatter}

    take = actions.add_parser(
        "snapshot", help="record what activating PREFIX does (JSON)", **raw,
        description="Activate the environment at PREFIX once, for real, and record what it "
                    "does, with the files it depends on (scripts, conda-meta/state: paths, "
                    "mtimes, sha256) so that a change makes the snapshot stale.")
    take.add_argument("prefix", metavar="PREFIX", help="a conda/mamba environment or a venv")
    take.add_argument("-o", "--output", metavar="FILE",
                      help="write the snapshot here, atomically (default: print it)")
    _timeout(take)

    shim = actions.add_parser(
        "shim", help="write a POSIX sh entrypoint with the snapshot baked in", **raw,
        description="Write a sh script that applies the snapshot (values quoted, PATH added "
                    "to the runtime PATH) and execs its arguments: a Dockerfile ENTRYPOINT "
                    "that needs no hotstart, no conda, no second interpreter. Variables whose "
                    "names look secret are left out unless named with --allow.")
    shim.add_argument("snapshot", metavar="SNAPSHOT", help="a snapshot file")
    shim.add_argument("-o", "--output", metavar="FILE", required=True,
                      help="the script to write (atomically, mode 0755)")
    shim.add_argument("--python", action="store_true",
                      help="exec the environment's python with the arguments (CMD: -m MODULE "
                           "...) instead of the arguments as a command")
    shim.add_argument("--allow", action="append", default=[], metavar="NAME",
                      help="write this secret-looking variable anyway (repeatable)")
    shim.add_argument("--keep", action="append", default=[], metavar="NAME",
                      help="when the caller has NAME, its value wins (repeatable)")
    shim.add_argument("--allow-stale", action="store_true",
                      help="write it even if the environment changed since the snapshot")

    verify = actions.add_parser(
        "verify", help="compare a snapshot with a live activation; exit 1 on drift", **raw,
        description="Activate the snapshot's environment again and list every difference "
                    "from the snapshot: changed scripts or state, PATH directories, each "
                    "variable; then check that the snapshot gives a caller the environment a "
                    "live activation gives it. Exit status 1 on any difference (for CI and "
                    "image builds), 0 when they agree.")
    verify.add_argument("snapshot", metavar="SNAPSHOT", help="a snapshot file")
    _timeout(verify)

    namespace = parser.parse_args(args)
    return {"snapshot": _snapshot, "shim": _shim, "verify": _verify}[namespace.action](namespace)


def _timeout(subparser) -> None:
    subparser.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS",
                           help="time allowed for each run of the activation scripts "
                                "(default 30)")


def _snapshot(namespace) -> int:
    from .._files import check_writable, write_atomic
    from .._text import printable
    from ..env.snapshot import take

    check_number("--timeout", namespace.timeout, above=0, high=MAX_SECONDS, unit="seconds")
    if namespace.output is not None:
        check_writable(namespace.output)
    notes: list[str] = []
    snapshot = take(namespace.prefix, timeout=namespace.timeout, notes=notes)
    for note in notes:
        sys.stderr.write(f"hotstart: note: {printable(note)}\n")
    if namespace.output is None:
        sys.stdout.write(snapshot.to_json())
        return 0
    write_atomic(namespace.output, snapshot.to_json())
    sys.stdout.write(printable(f"wrote {namespace.output}: {describe(snapshot)}") + "\n")
    return 0


def _shim(namespace) -> int:
    from .._files import check_writable
    from .._text import printable
    from ..env.model import load
    from ..env.shim import secret_names, write_shim

    check_writable(namespace.output)
    snapshot = load(namespace.snapshot)
    if not namespace.allow_stale:
        snapshot.check_fresh(namespace.snapshot)
    write_shim(namespace.output, snapshot, python=namespace.python, allow=namespace.allow,
               keep=namespace.keep, source=namespace.snapshot)
    runs = "the environment's python with its arguments" if namespace.python else \
        "its arguments"
    sys.stdout.write(printable(f"wrote {namespace.output} (mode 0755): runs {runs} in "
                               f"{snapshot.prefix}'s activation") + "\n")
    left_out = [name for name in secret_names(snapshot) if name not in namespace.allow]
    if left_out:
        sys.stdout.write(f"left out, as their names look secret: {', '.join(left_out)} (the "
                         f"caller's values pass through; --allow NAME writes one)\n")
    return 0


def _verify(namespace) -> int:
    from .._text import printable
    from ..env.model import load
    from ..env.verify import verify_snapshot

    check_number("--timeout", namespace.timeout, above=0, high=MAX_SECONDS, unit="seconds")
    snapshot = load(namespace.snapshot)
    differences = verify_snapshot(snapshot, timeout=namespace.timeout)
    where = f"{namespace.snapshot} and a live activation of {snapshot.prefix}"
    if not differences:
        sys.stdout.write(printable(f"ok: {where} agree: {describe(snapshot)}") + "\n")
        return 0
    count = len(differences)
    sys.stdout.write(printable(f"drift: {count} difference{'s' * (count != 1)} between "
                               f"{where}:") + "\n")
    for line in differences:
        sys.stdout.write(f"  {printable(line)}\n")
    sys.stdout.write(printable(f"take it again: hotstart env snapshot {snapshot.prefix} -o "
                               f"{namespace.snapshot}") + "\n")
    return 1


def describe(snapshot) -> str:
    """One line: what the snapshot does (for the commands' reports)."""
    kind = "conda environment" if snapshot.kind == "conda" else "venv"
    added = len(snapshot.path_prepend) + len(snapshot.path_append)
    parts = [f"{kind} {snapshot.prefix}", f"PATH +{added} director{'y' if added == 1 else 'ies'}",
             f"{len(snapshot.set)} variable{'s' * (len(snapshot.set) != 1)}"]
    if snapshot.with_caller:
        parts[-1] += f" ({len(snapshot.with_caller)} built around the caller's)"
    if snapshot.unset:
        parts.append(f"unsets {', '.join(snapshot.unset)}")
    scripts = sum(len(names) for d, names in snapshot.listings.items()
                  if d.endswith("activate.d"))
    if snapshot.kind == "conda":
        parts.append(f"{scripts} activation script{'s' * (scripts != 1)}")
    return "; ".join(parts)
