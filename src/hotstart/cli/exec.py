"""`hotstart exec SNAPSHOT|PREFIX -- COMMAND [ARGS]`: a job's start, with an environment's
activation applied and the command exec'd in this process.

This runs on every job start, so it imports as little as it can: no argparse (its options
are read by hand below), no json module, no subprocess unless it is given a PREFIX to
activate in memory. `tests/env/test_exec.py` pins the modules it loads.
"""

import sys

HELP = """\
usage: hotstart exec [options] SNAPSHOT|PREFIX [--] COMMAND [ARGS...]

Run COMMAND with an environment's activation applied, in this process: the snapshot is
applied to the caller's environment (the caller's variables stay; PATH gets the
environment's directories in front of the caller's PATH) and COMMAND is exec'd: no child
process, no second interpreter. Its pid, exit status and signals are its own. COMMAND is
looked up in the activated PATH, so 'python' is the environment's python.

arguments:
  SNAPSHOT           a snapshot written by 'hotstart env snapshot PREFIX -o SNAPSHOT'
  PREFIX             an environment's directory (conda/mamba or venv), activated now, in
                     memory: a conda prefix's activate.d scripts run in sh first, which
                     costs tens of ms per start (take a snapshot once instead)
  COMMAND [ARGS...]  the command and its arguments (after '--' when it starts with '-')

options:
  -h, --help         show this help and exit
  --keep NAME        when the caller has NAME, its value wins over the environment's
                     (repeatable)
  --allow-stale      run even when the environment changed since the snapshot was taken
                     (by default: refused, one line saying what changed, exit status 2)
  --timeout SECONDS  PREFIX: time allowed for the activation scripts (default 30)

exit status: the command's; 2 when SNAPSHOT or PREFIX cannot be used (unreadable, invalid,
stale); 126 when COMMAND cannot be run; 127 when it is not found.
"""


def run(args: list[str]) -> int:
    from ..errors import BadInput

    keep: list[str] = []
    allow_stale = False
    timeout: float | None = None
    index = 0
    while index < len(args):
        arg = args[index]
        if arg in ("-h", "--help"):
            sys.stdout.write(HELP)
            return 0
        if arg == "--allow-stale":
            allow_stale = True
        elif arg.split("=", 1)[0] in ("--keep", "--timeout"):
            option, sep, value = arg.partition("=")
            if not sep:
                index += 1
                if index >= len(args):
                    raise BadInput(f"{option} needs a value; see 'hotstart exec --help'")
                value = args[index]
            if option == "--keep":
                keep.append(value)
            else:
                timeout = _seconds(value)
        elif arg == "--":
            raise BadInput("give SNAPSHOT or PREFIX before '--'; see 'hotstart exec --help'")
        elif arg.startswith("-") and arg != "-":
            raise BadInput(f"unknown option {arg!r}; see 'hotstart exec --help'")
        else:
            break
        index += 1
    if index >= len(args):
        raise BadInput("no SNAPSHOT or PREFIX given; see 'hotstart exec --help'")
    source, command = args[index], args[index + 1:]
    if command[:1] == ["--"]:
        command = command[1:]
    if not command:
        raise BadInput(f"no command given: hotstart exec {source} -- COMMAND [ARGS...]")
    for name in keep:
        if name == "PATH" or not (name.isascii() and name.isidentifier()):
            raise BadInput(f"--keep {name!r}: give the name of a variable other than PATH")
    import os

    if os.path.isdir(source):
        from ..env.snapshot import DEFAULT_TIMEOUT, take

        # Notes (a script that printed) are not shown: stderr is the command's from here.
        snapshot = take(source, timeout=DEFAULT_TIMEOUT if timeout is None else timeout)
    else:
        from ..env.model import load

        snapshot = load(source)
        if not allow_stale:
            snapshot.check_fresh(source)
    from ..env.apply import exec_command

    exec_command(snapshot, command, keep=keep)
    return 127  # not reached: exec_command replaces this process or raises


def _seconds(text: str) -> float:
    from ..errors import BadInput
    from ._common import MAX_SECONDS, check_number

    try:
        value = float(text)
    except ValueError:
        raise BadInput(f"--timeout {text!r}: give a number of seconds") from None
    check_number("--timeout", value, above=0, high=MAX_SECONDS, unit="seconds")
    return value
