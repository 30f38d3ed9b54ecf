"""`search run --workers N`: N worker processes on one study, one GPU each when there are several.

Coordination is Optuna's storage alone: each worker runs the same study function until the
study holds its total of finished trials, and a worker that dies is recovered by the others
through its trial's stale heartbeat.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from collections.abc import Callable

from search.env import THREADS_ENV, WORKER_ENV

WorkerTarget = Callable[[int], int]
"""A worker's work: given its index, run, and return its exit code."""


def worker_envs(
    n: int, *, gpus: list[str], cores: int, base: dict[str, str]
) -> list[dict[str, str]]:
    """Per worker: its own GPU through CUDA_VISIBLE_DEVICES when there are several, else its
    share of the CPU cores. With more workers than GPUs, workers share GPUs round-robin."""
    envs = []
    for i in range(n):
        env = dict(base)
        env[WORKER_ENV] = str(i)
        if len(gpus) > 1:
            env["CUDA_VISIBLE_DEVICES"] = gpus[i % len(gpus)]
        env[THREADS_ENV] = str(max(1, cores // n))  # data and CPU training share the cores
        envs.append(env)
    return envs


def visible_gpus() -> list[str]:
    """The GPU ids this process may use, as CUDA_VISIBLE_DEVICES names them."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [d.strip() for d in visible.split(",") if d.strip()]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def _worker(target: WorkerTarget, index: int, env: dict[str, str]) -> None:
    # Before anything imports torch: CUDA reads CUDA_VISIBLE_DEVICES once, when it starts.
    os.environ.clear()
    os.environ.update(env)
    sys.exit(target(index))


def run_workers(target: WorkerTarget, n: int) -> int:
    """Run `target(i)` in N fresh processes (spawned: no CUDA state is inherited) and wait.

    Returns 0 when the workers finished the study (beside workers killed by a signal, whose
    trials the others recover), else the first failure's exit code.
    """
    context = multiprocessing.get_context("spawn")
    envs = worker_envs(n, gpus=visible_gpus(), cores=os.cpu_count() or 1, base=dict(os.environ))
    procs = [context.Process(target=_worker, args=(target, i, env)) for i, env in enumerate(envs)]
    for p in procs:
        p.start()
    print(f"started {n} workers: pids {' '.join(str(p.pid) for p in procs)}", flush=True)

    def forward(signum: int, frame: object) -> None:
        for p in procs:
            if p.is_alive() and p.pid is not None:
                os.kill(p.pid, signum)

    previous = signal.signal(signal.SIGTERM, forward), signal.signal(signal.SIGINT, signal.SIG_IGN)
    # Ctrl-C reaches every worker through the terminal's process group; forwarding it again
    # would interrupt a worker while it records its interrupted trial.
    try:
        for p in procs:
            p.join()
    finally:
        signal.signal(signal.SIGTERM, previous[0])
        signal.signal(signal.SIGINT, previous[1])
    codes = [p.exitcode if p.exitcode is not None else 1 for p in procs]
    for i, (p, code) in enumerate(zip(procs, codes)):
        if code != 0:
            print(
                f"search: worker {i} (pid {p.pid}) exited with code {code}; "
                "its trial is retried by the others",
                file=sys.stderr,
            )
    if any(code == 0 for code in codes) and all(code <= 0 for code in codes):
        return 0
    failed = next(code for code in codes if code != 0)
    return failed if failed > 0 else 128 - failed
