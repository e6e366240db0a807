"""hotstart's command line: one module per subcommand, imported only once it is chosen.

`hotstart --help` prints a fixed text and imports nothing: the CLI must start about as fast
as a bare interpreter. Each subcommand builds its argparse parser and imports the modules it
needs only once it has been chosen.
"""

import sys

HELP = """\
usage: hotstart <command> [options]

Make Python processes and workers start fast and lean.

commands:
  profile   run a target in fresh interpreters; show where start-up time and memory go
  show      render a saved profile again (tree, table, JSON, --why)
  diff      compare two saved profiles
  report    draw a profile: one self-contained HTML page (icicle chart, module table,
            chains, hot calls, audit classes, diff), or speedscope, trace (Perfetto) and
            folded stacks (flamegraph.pl)
  index     list a package's registrations, found in its source without importing it
  preload   the modules a job spec needs preloaded, and which spec entries need them
  audit     classify every import site (dead, side-effect, deferrable, typing-only,
            needed), find import-time hot spots, measure what each fix saves
  fix       rewrite imports from the audit (move, lazy, TYPE_CHECKING, lazy re-exports,
            remove dead), show a diff or write it, verify with the project's tests
  trial     run a target with every import lazy: which modules its path really uses,
            and the start-up a perfect cut of that path reaches (the bound)
  check     guard start-up in CI: forbidden modules (with their chains), the module-set
            lock, time and memory budgets judged without flaking ([tool.hotstart])
  lock      record the modules each configured entry loads, for 'check'
  env       snapshot an environment's activation once (conda: PATH, CONDA_*, env vars,
            activate.d exports; venv), bake it into a sh entrypoint, verify it live
  exec      run a command with a snapshot's activation applied, in this process: no
            'conda run', no second interpreter (hotstart exec SNAPSHOT -- COMMAND ...)
  worker    a container's entrypoint: preload a job's modules (HOTSTART_PRELOAD), report
            each, then run a Python command in the same process (-- -m MODULE ...)

options:
  -h, --help  show this help and exit
  --version   show hotstart's version and exit

Run 'hotstart <command> --help' for the options of a command.
"""

# The subcommands, each a module of this package with a `run(args) -> int`.
COMMANDS = ("profile", "show", "diff", "report", "index", "preload", "audit", "fix", "trial",
            "check", "lock", "env", "exec", "worker")


def main(argv: list[str] | None = None) -> int:
    import os  # loaded by the interpreter already: free

    if sys.stdout is None or sys.stderr is None:  # started with `>&-` or `2>&-`
        sys.stdout = sys.stdout or open(os.devnull, "w")
        sys.stderr = sys.stderr or open(os.devnull, "w")
    args = sys.argv[1:] if argv is None else list(argv)
    if not args or args[0] in ("-h", "--help"):
        sys.stdout.write(HELP)
        return 0
    if args[0] == "--version":
        from .. import __version__

        sys.stdout.write(f"hotstart {__version__}\n")
        return 0
    if args[0] not in COMMANDS:
        sys.stderr.write(f"hotstart: error: unknown command {args[0]!r}; "
                         f"commands: {', '.join(COMMANDS)} (see 'hotstart --help')\n")
        return 2
    from ..errors import BadInput, HotstartError

    # A terminal or pipe that cannot encode the output (PYTHONIOENCODING=ascii, a latin-1
    # locale) gets escapes for the characters it lacks, not a UnicodeEncodeError. Not for
    # `worker`: the command it runs gets the streams python would give it.
    if args[0] != "worker" and hasattr(sys.stdout, "reconfigure"):
        sys.stdout.reconfigure(errors="backslashreplace")
    try:
        import importlib

        try:
            os.getcwd()  # every command reads paths relative to it
        except OSError as exc:
            raise BadInput(f"the current directory cannot be read ({exc.strerror}): was it "
                           f"removed? cd to an existing directory") from None
        command = importlib.import_module(f".{args[0]}", __name__)
        return command.run(args[1:])
    except HotstartError as exc:
        from .._text import printable

        # The message quotes paths, names and target output: escaped, it is one safe line.
        sys.stderr.write(f"hotstart: error: {printable(exc)}\n")
        return exc.exit_code
    except KeyboardInterrupt:
        sys.stderr.write("hotstart: interrupted\n")
        return 130
    except BrokenPipeError:  # `hotstart ... | head`
        _drop_stdout()
        return 0
    except OSError as exc:
        import errno

        if exc.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EIO):
            raise
        _drop_stdout()  # the output is lost: do not fail again when Python flushes it
        from .._text import printable

        where = f"{exc.filename}" if exc.filename else "cannot write the output"
        sys.stderr.write(printable(f"hotstart: error: {where}: {exc.strerror}") + "\n")
        return 1


def _drop_stdout() -> None:
    import os

    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):  # no file descriptor behind it
        pass
