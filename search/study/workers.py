"""`search run --workers N`: N worker processes on one study, one GPU each when there are several.

Coordination is Optuna's storage alone: each worker is a plain `search run` that stops when the
study holds its total of finished trials, and a worker that dies is recovered by the others
through its trial's stale heartbeat.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from search.env import THREADS_ENV, WORKER_ENV


def worker_argv(argv: list[str]) -> list[str]:
    """The same command line with --workers removed (each child is one worker)."""
    out: list[str] = []
    skip = False
    for arg in argv:
        if skip:
            skip = False
        elif arg == "--workers":
            skip = True
        elif not arg.startswith("--workers="):
            out.append(arg)
    return out


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


def run_workers(argv: list[str], n: int) -> int:
    args = worker_argv(argv)
    envs = worker_envs(n, gpus=visible_gpus(), cores=os.cpu_count() or 1, base=dict(os.environ))
    procs = []
    for i, env in enumerate(envs):
        extra = [] if i == 0 else ["--quiet"]  # one progress bar; every worker prints its trials
        procs.append(subprocess.Popen([sys.executable, "-m", "search", *args, *extra], env=env))
    print(f"started {n} workers: pids {' '.join(str(p.pid) for p in procs)}", flush=True)

    def forward(signum: int, frame: object) -> None:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    # Ctrl-C reaches every worker through the terminal's process group; forwarding it again
    # would interrupt a worker while it records its interrupted trial.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    codes = [p.wait() for p in procs]
    for i, (p, code) in enumerate(zip(procs, codes)):
        if code != 0:
            print(
                f"search: worker {i} (pid {p.pid}) exited with code {code}; its trial is retried by the others",
                file=sys.stderr,
            )
    # Workers that finished the study, beside workers killed by a signal, are a success.
    if any(code == 0 for code in codes) and all(code <= 0 for code in codes):
        return 0
    failed = next(code for code in codes if code != 0)
    return failed if failed > 0 else 128 - failed
