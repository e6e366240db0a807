"""Sinks: where a job's result goes."""

from __future__ import annotations

import json
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from jobrunner.log import get_logger
from jobrunner.registry import register
from jobrunner.util import frame_summary

if TYPE_CHECKING:
    from jobrunner.pipeline import RunResult

log = get_logger()


def _number(value: float, precision: int) -> str:
    """Format *value* with *precision* decimals, never as "-0.000"."""
    text = f"{value:.{precision}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


@register(
    "print_sink",
    kind="sink",
    summary="Print row counts, the first rows and per-column numbers.",
)
class PrintSink:
    """Print row counts, the first rows and per-column numbers."""

    def __init__(self, max_rows: int = 10, precision: int = 3) -> None:
        self.max_rows = max_rows
        self.precision = precision

    def write(self, result: RunResult) -> None:
        """Write a human-readable summary of *result* to stdout."""
        summary = frame_summary(result.frame)
        fmt = partial(_number, precision=self.precision)

        print(f"job: {result.name}")
        print(f"rows: {result.rows_in} read, {result.rows_out} kept")
        print(f"columns: {', '.join(summary['columns'])}")
        print()
        head = result.frame.head(self.max_rows)
        print(head.to_string(index=False, float_format=fmt))
        if result.rows_out > len(head):
            print(f"... {result.rows_out - len(head)} more rows")

        if summary["numeric"]:
            print()
            width = max(len("column"), *(len(name) for name in summary["numeric"]))
            print(f"{'column':<{width}}  {'mean':>10}  {'min':>10}  {'max':>10}")
            for name, stats in summary["numeric"].items():
                cells = "  ".join(f"{fmt(stats[key]):>10}" for key in ("mean", "min", "max"))
                print(f"{name:<{width}}  {cells}")


@register(
    "json_sink",
    kind="sink",
    summary="Write the resulting rows as JSON to a file or to stdout.",
)
class JsonSink:
    """Write the resulting rows as JSON to a file or to stdout."""

    def __init__(
        self,
        path: str | None = None,
        orient: Literal["records", "split", "index", "columns", "values"] = "records",
        indent: int = 2,
    ) -> None:
        if orient not in ("records", "split", "index", "columns", "values"):
            raise ValueError(f"unknown orient {orient!r}")
        self.path = path
        self.orient = orient
        self.indent = indent

    def write(self, result: RunResult) -> None:
        """Serialise the rows of *result*; a file's name is logged, stdout gets the JSON."""
        rows = json.loads(result.frame.to_json(orient=self.orient))
        text = json.dumps({"job": result.name, "rows": rows}, indent=self.indent)
        if self.path is None:
            print(text)
            return
        Path(self.path).write_text(text + "\n", encoding="utf-8")
        log.info("%s: wrote %d rows to %s", result.name, result.rows_out, self.path)
