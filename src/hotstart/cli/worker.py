"""`hotstart worker`: a worker's entrypoint: preload the job's modules in this process, report
what each cost, then run a Python command here with them imported (``-- -m MODULE``, ``--
SCRIPT``, ``-- -c CODE``, a console script). The code is `hotstart.worker`, which ``python -m
hotstart.worker`` and ``dask worker --preload hotstart.worker`` run too."""


def run(args: list[str]) -> int:
    from ..worker import main

    return main(args, prog="hotstart worker")
