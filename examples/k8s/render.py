"""Render the worker Job's manifest on the master: the preload list computed from a job spec.

    python examples/k8s/render.py examples/jobrunner/jobs/clean.json --package jobrunner \\
        --image registry.example.com/jobrunner-worker:0.1 -o build/k8s/clean.yaml
    kubectl apply -f build/k8s/clean.yaml

It runs ``hotstart preload SPEC --package PACKAGE --format env`` (the master needs hotstart
and the job package's source, not its dependencies: the list is read from the source, nothing
is imported), then fills the template's ``${NAME}`` placeholders:

- ``HOTSTART_PRELOAD``: the list, ``a,b,c``;
- ``IMAGE``: the worker image (``--image``);
- ``SPEC``: the spec's path inside the image (``--jobs-dir``, default ``/jobs``, and the
  spec's file name);
- ``JOB_NAME``: ``jobrunner-`` and the spec's file name, as a Kubernetes name.

Each value is written as a double-quoted YAML scalar (JSON's string syntax, which YAML
reads), so no value can change the manifest's structure, whatever it holds. A spec with a type
nothing registers writes no manifest: ``hotstart preload``'s one-line error, exit 1. The
manifest is written atomically (a temporary file beside it, then renamed). Standard library
only.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

HERE = pathlib.Path(__file__).resolve().parent
PLACEHOLDER = re.compile(r"\$\{([A-Z_]+)\}")


def preload_value(spec: str, packages: list[str], hotstart: list[str]) -> str:
    """The ``HOTSTART_PRELOAD`` value for `spec`, from ``hotstart preload --format env``;
    `SystemExit` with its error and status when it fails."""
    command = [*hotstart, "preload", spec, "--format", "env"]
    for package in packages:
        command += ["--package", package]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stderr)
        raise SystemExit(result.returncode)
    name, sep, value = result.stdout.strip().partition("=")
    if name != "HOTSTART_PRELOAD" or not sep:
        raise SystemExit(f"render: error: unexpected output from {' '.join(command)}: "
                         f"{result.stdout.strip()!r}")
    return value


def fill(template: str, values: dict[str, str]) -> str:
    """`template` with each ``${NAME}`` replaced by ``values[NAME]`` as a quoted YAML scalar;
    `KeyError` naming a placeholder without a value."""
    def quoted(match: re.Match) -> str:
        return json.dumps(values[match.group(1)])

    return PLACEHOLDER.sub(quoted, template)


def job_name(spec: str) -> str:
    """``jobrunner-<spec's stem>`` as a Kubernetes name (lower case, digits, '-'; 63 at most)."""
    stem = re.sub(r"[^a-z0-9]+", "-", pathlib.Path(spec).stem.lower()).strip("-") or "job"
    return f"jobrunner-{stem}"[:63].rstrip("-")


def write_atomic(path: pathlib.Path, text: str) -> None:
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.chmod(temporary, 0o644)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Render the worker Job manifest with "
                                     "HOTSTART_PRELOAD computed from a job spec.")
    parser.add_argument("spec", help="the job spec (here, on the master)")
    parser.add_argument("--package", action="append", required=True,
                        help="where the spec's types are registered: a package or its source "
                             "path (repeatable)")
    parser.add_argument("--image", default="jobrunner-worker:0.1", help="the worker image")
    parser.add_argument("--jobs-dir", default="/jobs",
                        help="where the image (or a volume) has the job specs (default /jobs)")
    parser.add_argument("--template", default=str(HERE / "job.template.yaml"))
    parser.add_argument("-o", "--output", help="the manifest to write (default: stdout)")
    parser.add_argument("--hotstart", default=f"{sys.executable} -m hotstart",
                        help="how to run hotstart (default: this interpreter's)")
    args = parser.parse_args(argv)
    values = {
        "HOTSTART_PRELOAD": preload_value(args.spec, args.package, args.hotstart.split()),
        "IMAGE": args.image,
        "SPEC": f"{args.jobs_dir.rstrip('/')}/{pathlib.Path(args.spec).name}",
        "JOB_NAME": job_name(args.spec),
    }
    try:
        manifest = fill(pathlib.Path(args.template).read_text(encoding="utf-8"), values)
    except KeyError as exc:
        raise SystemExit(f"render: error: {args.template} uses ${{{exc.args[0]}}}, which "
                         f"this script does not fill") from None
    if args.output is None:
        sys.stdout.write(manifest)
    else:
        output = pathlib.Path(args.output)
        output.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(output, manifest)
        print(f"wrote {output}: HOTSTART_PRELOAD={values['HOTSTART_PRELOAD']}",
              file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
