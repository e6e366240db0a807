"""Task functions for tests/pool/test_executor_api.py: exceptions that travel, that cannot be
raised as themselves, and that attack the parent while they are unpickled (importable by name
in the template and its workers, as ``pooltasks``)."""

from __future__ import annotations

import os
import sys
import time


def divide(a, b):
    print(f"dividing {a} by {b}")
    return a / b


def sleep_then(seconds, value):
    time.sleep(seconds)
    return value


def pid():
    return os.getpid()


def exit_task(code):
    sys.exit(code)


def interrupt_task():
    raise KeyboardInterrupt("raised by the task")


def _raise_on_load(kind, text):
    """Called by pickle in the parent while it loads a `HostileOnLoad` exception."""
    raise {"SystemExit": SystemExit, "KeyboardInterrupt": KeyboardInterrupt,
           "MemoryError": MemoryError}[kind](text)


class HostileOnLoad(Exception):
    """An exception that pickles fine and raises `kind` when the parent unpickles it."""

    def __init__(self, kind):
        super().__init__(kind)
        self.kind = kind

    def __reduce__(self):
        return _raise_on_load, (self.kind, "raised while unpickling")


def raise_hostile(kind):
    raise HostileOnLoad(kind)


class LoadsAsNumber(Exception):
    """An exception whose pickle loads as an int: not an exception at all."""

    def __reduce__(self):
        return int, ("5",)


def raise_loads_as_number():
    raise LoadsAsNumber("an int once loaded")


def write_after(seconds, path, text):
    """Sleep, then write `text` to `path`: proof, read after the parent exited, that the
    task ran to its end."""
    time.sleep(seconds)
    with open(path, "w") as out:
        out.write(text)
    return text
