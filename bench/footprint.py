"""Installed footprint of each install variant of hotstart: what a worker image pays on disk.

    python bench/footprint.py                  # the README's table: ., .[tools], .[dask], .[ray]
    python bench/footprint.py --variant tools --python /usr/bin/python3.12

Each variant is installed, from a copy of this source tree (the build writes beside the
source) and the package registry as pip is set up, into a fresh virtual environment made without pip (``python -m venv --without-pip``; this
interpreter's pip installs into it with ``pip --python``), so its site-packages holds exactly
what the variant brings: hotstart and its dependencies. pip compiles bytecode as it does by
default in an image (PYTHONDONTWRITEBYTECODE is unset for the install). The table gives the
distributions installed and the total size of the files added to site-packages (apparent
sizes, MB = 10^6 bytes). Standard library only; needs pip 22.3 or newer (``--python``).
"""

from __future__ import annotations

import argparse
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
#: variant -> the extra installed ("" for plain `pip install .`)
VARIANTS = {"plain": "", "tools": "tools", "dask": "dask", "ray": "ray"}


def copy_tree(workdir: pathlib.Path) -> pathlib.Path:
    """What a build of hotstart reads, copied to `workdir`."""
    tree = workdir / "hotstart"
    tree.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(ROOT / "src" / "hotstart", tree / "src" / "hotstart",
                    ignore=shutil.ignore_patterns("__pycache__", ".ruff_cache"))
    return tree


def measure(variant: str, python: str, workdir: pathlib.Path, tree: pathlib.Path) -> dict:
    extra = VARIANTS[variant]
    venv = workdir / f"venv-{variant}"
    subprocess.run([python, "-m", "venv", "--without-pip", str(venv)], check=True)
    target = venv / "bin" / "python"
    requirement = f"{tree}[{extra}]" if extra else str(tree)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "pip", "--python", str(target), "install", "--quiet",
                    requirement], check=True, env=env)
    site = pathlib.Path(subprocess.run(
        [str(target), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True).stdout.strip())
    size = sum(path.stat().st_size for path in site.rglob("*")
               if path.is_file() and not path.is_symlink())
    dists = sorted(path.name.split("-")[0] for path in site.glob("*.dist-info"))
    return {"variant": variant, "command": f"pip install '.[{extra}]'" if extra
            else "pip install .", "size": size, "dists": dists}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variant", action="append", choices=sorted(VARIANTS),
                        help="measure only this variant (repeatable; default all)")
    parser.add_argument("--python", default=sys.executable,
                        help="the interpreter the environments are made with (default this one)")
    args = parser.parse_args(argv)
    version = subprocess.run([args.python, "-c", "import sys; print(sys.version.split()[0])"],
                             check=True, capture_output=True, text=True).stdout.strip()
    rows = []
    with tempfile.TemporaryDirectory(prefix="hotstart-footprint-") as workdir:
        tree = copy_tree(pathlib.Path(workdir))
        for variant in args.variant or list(VARIANTS):
            rows.append(measure(variant, args.python, pathlib.Path(workdir), tree))
            row = rows[-1]
            print(f"{row['command']}: {len(row['dists'])} distributions, "
                  f"{row['size'] / 1e6:.1f} MB", file=sys.stderr, flush=True)
    print(f"CPython {version}, {sys.platform}\n")
    print("| install | distributions | site-packages |")
    print("|---|---:|---:|")
    for row in rows:
        print(f"| `{row['command']}` | {len(row['dists'])} | {row['size'] / 1e6:.1f} MB |")
    print()
    for row in rows:
        print(f"{row['command']}: {', '.join(row['dists'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
