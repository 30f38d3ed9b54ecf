"""`make bench`: each figure is a ratio against a baseline measured side by side, in this run.

Same data, model, batch size, device and thread count on both sides. Prints one table and
writes it as JSON (runs/bench/results.json). Not part of `make test`: it measures, it does not
assert.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
import torch
import yaml

from objectives.classify import ClassifyObjective
from search.store.checkpoint import BestKeeper
from search.store.storage import open_storage
from search.study.config import load_study_config
from search.study.create import create_or_resume
from search.study.runner import run_study
from search.trainer.config import DataConfig, TrainConfig
from search.trainer.data.load import load_dataset
from search.trainer.loop import Trainer
from search.trainer.model import create_model
from search.trainer.optim import create_optimizer
from tests.benchmarks.data_bench import bench_decode, bench_over_budget, bench_stream_vs_memory
from tests.benchmarks.suite import print_tables, run_suite

REPO = Path(__file__).resolve().parents[2]
warnings.filterwarnings("ignore", message=".*experimental.*")
LR_SCHED = REPO / "studies" / "lr-sched.yaml"
optuna.logging.set_verbosity(optuna.logging.ERROR)


def _log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


# --- 1. Trainer throughput against a hand-written loop -------------------------------------


def _plain_epoch(model, loader, optimizer, loss_fn) -> int:
    model.train()
    seen = 0
    for x, y in loader:
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        seen += len(y)
    return seen


def bench_throughput(epochs: int = 3, batch_size: int = 64) -> dict[str, Any]:
    config = TrainConfig(
        model="test_resnet", data=DataConfig(name="mnist"), batch_size=batch_size, epochs=epochs
    )
    dataset = load_dataset(config.data)
    trainer = Trainer(config, dataset)
    # The plain loop: float tensors normalised up front, a DataLoader, the five canonical calls,
    # the model in torch's default memory format and timm's optimizer with torch's own kernels.
    mean, std = dataset.mean[0], dataset.std[0]
    x = (dataset.train.images.float() / 255 - mean) / std
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(x, dataset.train.labels), batch_size=batch_size, shuffle=True
    )
    torch.manual_seed(0)
    model = create_model(config.model, num_classes=10, in_chans=1)
    optimizer = create_optimizer(model, config, fused=False)
    loss_fn = torch.nn.CrossEntropyLoss()
    trainer.train_one_epoch()
    _plain_epoch(model, loader, optimizer, loss_fn)  # warm-up both
    ours, plain = [], []
    for _ in range(epochs):  # interleaved, so that drift hits both sides alike
        start = time.perf_counter()
        trainer.train_one_epoch()
        ours.append(len(dataset.train) / (time.perf_counter() - start))
        start = time.perf_counter()
        n = _plain_epoch(model, loader, optimizer, loss_fn)
        plain.append(n / (time.perf_counter() - start))
    o, p = statistics.median(ours), statistics.median(plain)
    return {
        "ours_img_per_s": round(o),
        "plain_loop_img_per_s": round(p),
        "ratio": round(o / p, 3),
        "target": ">= 0.95",
    }


# --- 2. Fixed cost per trial --------------------------------------------------------------------


def _study_file(tmp: Path, changes: dict[str, Any], name: str = "bench") -> Path:
    """studies/lr-sched.yaml with `changes` ({"train.epochs": 3, "pruner": {...}}) applied."""
    data = yaml.safe_load(LR_SCHED.read_text())
    for dotted, value in changes.items():
        *parents, key = dotted.split(".")
        node = data
        for parent in parents:
            node = node[parent]
        node[key] = value
    path = tmp / f"{name}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def _run(
    tmp: Path,
    path: Path,
    name: str,
    *,
    n_trials: int,
    seed: int | None = None,
    callbacks: list[Callable] | None = None,
    timeout: float | None = None,
) -> optuna.Study:
    config = load_study_config(str(path))
    if seed is not None:
        config = config.with_overrides(train=config.train.replace(seed=seed))
    storage = open_storage(f"sqlite:///{tmp / 'bench.db'}", config.heartbeat)
    study = create_or_resume(name, config, storage, seed=seed)
    keeper = BestKeeper(tmp / "runs" / name)
    objective = ClassifyObjective(config, keeper)
    if callbacks is None and timeout is None:
        run_study(study, objective, keeper, n_trials=n_trials, timeout=None, progress=False)
        return study
    study.optimize(
        objective,
        n_trials=n_trials,
        timeout=timeout,
        callbacks=callbacks,
        catch=(Exception,),
    )
    return study


def bench_fixed_cost(n_trials: int = 6) -> dict[str, Any]:
    """What a trial costs beyond training and validating: from its start to the first
    optimizer step, from its last validation to its end (checkpoint, storage, the garbage
    collection that frees its trainer), and between trials."""
    first_steps: list[datetime.datetime] = []
    last_evaluations: list[datetime.datetime] = []
    seen_optimizers: set[int] = set()

    def on_step(optimizer, args, kwargs):
        if id(optimizer) not in seen_optimizers:
            seen_optimizers.add(id(optimizer))
            first_steps.append(datetime.datetime.now())
            last_evaluations.append(first_steps[-1])

    def evaluate(self, *args, **kwargs):
        try:
            return evaluate_untimed(self, *args, **kwargs)
        finally:
            last_evaluations[-1] = datetime.datetime.now()

    from torch.optim.optimizer import register_optimizer_step_pre_hook

    evaluate_untimed = Trainer.evaluate
    handle = register_optimizer_step_pre_hook(on_step)
    Trainer.evaluate = evaluate
    try:
        with tempfile.TemporaryDirectory() as tmp:
            path = _study_file(
                Path(tmp),
                {"train.epochs": 3, "pruner": {"name": "none"}, "budget": None},
            )
            load_dataset(
                load_study_config(str(path)).train.data
            )  # as `search run` does before trial 0
            study = _run(Path(tmp), path, "fixed", n_trials=n_trials)
    finally:
        handle.remove()
        Trainer.evaluate = evaluate_untimed
    trials = sorted(study.trials, key=lambda t: t.number)
    to_first = [(s - t.datetime_start).total_seconds() for s, t in zip(first_steps, trials)]
    after_last = [
        (t.datetime_complete - e).total_seconds() for e, t in zip(last_evaluations, trials)
    ]
    between = [
        (b.datetime_start - a.datetime_complete).total_seconds() for a, b in zip(trials, trials[1:])
    ]
    durations = [(t.datetime_complete - t.datetime_start).total_seconds() for t in trials]
    trial_time = statistics.median(durations)
    parts = [statistics.median(x) for x in (to_first, after_last, between)]
    return {
        "trial_s": round(trial_time, 3),
        "start_to_first_step_s": round(parts[0], 3),
        "last_validation_to_end_s": round(parts[1], 3),
        "between_trials_s": round(parts[2], 3),
        "share": round(sum(parts) / trial_time, 3),
        "target": "<= 0.05",
    }


# --- 3. Sample efficiency: the suite (tests/benchmarks/suite.py) -------------------------------


def bench_sample_efficiency(long: bool = False) -> dict[str, Any]:
    return run_suite(long=long, log=_log)


# --- 5. CLI start-up ---------------------------------------------------------------------------------


def _search(*args: str, cwd: str | Path, check: bool = True) -> subprocess.CompletedProcess:
    """`search ARGS` in its own process, as a user runs it."""
    return subprocess.run(
        [sys.executable, "-m", "search", *args],
        cwd=cwd,
        check=check,
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )


def _time_cmd(argv: list[str], cwd: Path, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(
            argv,
            cwd=cwd,
            capture_output=True,
            check=False,
            env={**os.environ, "PYTHONPATH": str(REPO)},
        )
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def bench_cli_startup() -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        (tmp_path / "studies").mkdir()
        (tmp_path / "studies" / "smoke.yaml").write_text(
            (REPO / "studies" / "smoke.yaml").read_text()
        )
        _search("run", "--study", "smoke", "--n-trials", "1", "--quiet", cwd=tmp)
        baseline = _time_cmd([sys.executable, "-c", "import torch, timm, optuna"], tmp_path)
        rows = {
            name: _time_cmd([sys.executable, "-m", "search", *args], tmp_path)
            for name, args in {
                "--help": ["--help"],
                "studies": ["studies"],
                "best": ["best", "--study", "smoke"],
            }.items()
        }
    return {
        "import_torch_timm_optuna_s": round(baseline, 2),
        **{f"search {k}_s": round(v, 2) for k, v in rows.items()},
        **{f"search {k}_ratio": round(v / baseline, 2) for k, v in rows.items()},
        "target": "< 1 s",
    }


# --- 6. Memory across trials -----------------------------------------------------------------------

_MEMORY_SCRIPT = r"""
import json, sys, optuna
from pathlib import Path
sys.path.insert(0, %(repo)r)
from tests.benchmarks.bench import _run, _study_file
rss = {}
def rss_mb():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20
def record(study, trial):
    n = len(study.trials)
    if n in (5, %(n)d):
        rss[n] = rss_mb()
tmp = Path(%(tmp)r)
path = _study_file(tmp, {"train.epochs": 1, "pruner": {"name": "none"}, "budget": None})
_run(tmp, path, "memory", n_trials=%(n)d, callbacks=[record])
print(json.dumps(rss))
"""


def bench_memory(n: int = 50) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run(
            [sys.executable, "-c", _MEMORY_SCRIPT % {"repo": str(REPO), "tmp": tmp, "n": n}],
            capture_output=True,
            text=True,
            check=True,
        )
    rss = {int(k): v for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items()}
    return {
        "rss_after_5_trials_mb": round(rss[5]),
        f"rss_after_{n}_trials_mb": round(rss[n]),
        "ratio": round(rss[n] / rss[5], 3),
        "target": "~1.0 (no growth)",
    }


# --- 7. Workers: trials per hour ------------------------------------------------------------------------


def bench_workers(n_trials: int = 8) -> dict[str, Any]:
    rates = {}
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as tmp:
            (Path(tmp) / "studies").mkdir()
            _study_file(
                Path(tmp) / "studies",
                {"train.epochs": 2, "pruner": {"name": "none"}, "budget": None},
                name="workers",
            )
            start = time.perf_counter()
            _search(
                "run",
                "--study",
                "workers",
                "--n-trials",
                str(n_trials),
                "--workers",
                str(workers),
                "--quiet",
                cwd=tmp,
            )
            rates[workers] = n_trials / (time.perf_counter() - start) * 3600
    return {
        "trials_per_hour_1_worker": round(rates[1]),
        "trials_per_hour_2_workers": round(rates[2]),
        "ratio": round(rates[2] / rates[1], 2),
        "note": f"{os.cpu_count()} cores, {n_trials} trials of 2 epochs",
    }


# --- 8. Many workers on one database: direct connections against Optuna's gRPC proxy --------------

_STORAGE_CLIENT = r"""
import sys, optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
target, name, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
if target.startswith("grpc://"):
    host, port = target[len("grpc://"):].split(":")
    storage = optuna.storages.GrpcStorageProxy(host=host, port=int(port))
else:
    storage = optuna.storages.RDBStorage(target, engine_kwargs={"pool_size": 2, "max_overflow": 2})
study = optuna.load_study(study_name=name, storage=storage)
study.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2 + t.suggest_int("y", 0, 9), n_trials=n)
"""

_PROXY_SERVER = r"""
import sys, optuna
optuna.logging.set_verbosity(optuna.logging.ERROR)
optuna.storages.run_grpc_proxy_server(optuna.storages.get_storage(sys.argv[1]), host="127.0.0.1", port=int(sys.argv[2]))
"""


def bench_storage_proxy(workers: int = 8, trials_each: int = 40) -> dict[str, Any]:
    """Storage throughput with many workers: each on its own connections, or through the proxy."""
    try:
        import grpc  # noqa: F401
    except ImportError:
        return {"skipped": "grpcio is not installed (make bench installs it)"}
    sys.path.insert(0, str(REPO))
    from tests import pg
    from tests.conftest import free_port, wait_for_port

    if not pg.available():
        return {"skipped": "PostgreSQL 15 is not installed"}
    server = pg.PostgresServer()
    rows = {}
    try:
        for label in ("direct", "grpc proxy"):
            db = label.replace(" ", "_")
            url = server.create_database(db)
            optuna.create_study(study_name="load", storage=url)
            proxy = None
            target = url
            if label == "grpc proxy":
                port = free_port()
                proxy = subprocess.Popen([sys.executable, "-c", _PROXY_SERVER, url, str(port)])
                wait_for_port(port, proxy)
                target = f"grpc://127.0.0.1:{port}"
            peak = 0
            start = time.perf_counter()
            clients = [
                subprocess.Popen(
                    [sys.executable, "-c", _STORAGE_CLIENT, target, "load", str(trials_each)]
                )
                for _ in range(workers)
            ]
            while any(c.poll() is None for c in clients):
                peak = max(peak, server.connections(db))
                time.sleep(0.1)
            elapsed = time.perf_counter() - start
            if proxy is not None:
                proxy.terminate()
                proxy.wait()
            assert all(c.returncode == 0 for c in clients), [c.returncode for c in clients]
            rows[label] = {
                "trials_per_s": round(workers * trials_each / elapsed, 1),
                "peak_db_connections": peak,
            }
    finally:
        server.stop()
    return {
        "workers": workers,
        "trials_each": trials_each,
        **rows,
        "ratio_proxy_vs_direct": round(
            rows["grpc proxy"]["trials_per_s"] / rows["direct"]["trials_per_s"], 2
        ),
    }


BENCHES: dict[str, Callable[[], dict[str, Any]]] = {
    "throughput": bench_throughput,
    "fixed_cost": bench_fixed_cost,
    "cli_startup": bench_cli_startup,
    "memory": bench_memory,
    "workers": bench_workers,
    "storage_proxy": bench_storage_proxy,
    "sample_efficiency": bench_sample_efficiency,
    "stream_vs_memory": bench_stream_vs_memory,
    "decode": bench_decode,
    "over_budget": bench_over_budget,
}


def machine() -> dict[str, Any]:
    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cores": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "device": "cuda" if torch.cuda.is_available() else "cpu",
        "cpu": platform.processor() or platform.machine(),
        "date": time.strftime("%Y-%m-%d"),
    }


def render(results: dict[str, Any]) -> str:
    lines = ["| figure | measured | baseline | ratio | target |", "|---|---|---|---|---|"]
    r = results
    if "throughput" in r:
        t = r["throughput"]
        lines.append(
            f"| trainer throughput (img/s) | {t['ours_img_per_s']} | plain loop {t['plain_loop_img_per_s']} | {t['ratio']} | {t['target']} |"
        )
    if "fixed_cost" in r:
        f = r["fixed_cost"]
        lines.append(
            f"| fixed cost per trial (s) | start→first step {f['start_to_first_step_s']} + last validation→end {f['last_validation_to_end_s']} + between {f['between_trials_s']} | trial {f['trial_s']} | {f['share']} | {f['target']} |"
        )
    if "cli_startup" in r:
        c = r["cli_startup"]
        for name in ("--help", "studies", "best"):
            lines.append(
                f"| `search {name}` start-up (s) | {c[f'search {name}_s']} | import torch, timm, optuna {c['import_torch_timm_optuna_s']} | {c[f'search {name}_ratio']} | {c['target']} |"
            )
    if "memory" in r:
        m = r["memory"]
        last = [k for k in m if k.startswith("rss_after_") and not k.startswith("rss_after_5_")][0]
        lines.append(
            f"| worker RSS (MB) | {last.split('_')[2]} trials: {m[last]} | 5 trials: {m['rss_after_5_trials_mb']} | {m['ratio']} | {m['target']} |"
        )
    if "storage_proxy" in r and "skipped" not in r["storage_proxy"]:
        g = r["storage_proxy"]
        lines.append(
            f"| storage, {g['workers']} workers (trials/s; peak DB connections) | gRPC proxy: {g['grpc proxy']['trials_per_s']}; {g['grpc proxy']['peak_db_connections']} | direct: {g['direct']['trials_per_s']}; {g['direct']['peak_db_connections']} | {g['ratio_proxy_vs_direct']} | (measured, no target) |"
        )
    if "stream_vs_memory" in r:
        s = r["stream_vs_memory"]
        lines.append(
            f"| data pipeline throughput ({s['images']} images, {s['size']} px; img/s) | stream {s['stream_img_per_s']} | memory {s['memory_img_per_s']} | {s['ratio']} | {s['target']} |"
        )
    if "decode" in r:
        d = r["decode"]
        for kind, v in d["kinds"].items():
            lines.append(
                f"| decoding into memory ({v['images']} {kind}; s) | measured choice: {v['chosen_s']} ({d['threads']} threads always: {v['threads_s']}) | one thread: {v['one_thread_s']} | {v['ratio']} | (speed-up; >= ~0.9 where threads lose) |"
            )
    if "over_budget" in r:
        o = r["over_budget"]
        lines.append(
            f"| data over the budget ({o['images']} images, {o['decoded_mb']} MB decoded, budget {o['budget_mb']} MB; peak RSS growth MB) | {o['chosen']}: {o['stream_rss_growth_mb']} (workers' peak {o['stream_worker_peak_rss_mb']}) | memory: {o['memory_rss_growth_mb']} | {o['ratio']} | {o['target']} |"
        )
    if "workers" in r:
        w = r["workers"]
        lines.append(
            f"| trials per hour | 2 workers: {w['trials_per_hour_2_workers']} | 1 worker: {w['trials_per_hour_1_worker']} | {w['ratio']} | ({w['note']}) |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=list(BENCHES), help="run only these figures")
    parser.add_argument("-o", "--output", default=str(REPO / "runs" / "bench" / "results.json"))
    parser.add_argument("--long", action="store_true", help="the suite's budgets 5x longer")
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine()}
    start = time.perf_counter()
    for name, bench in BENCHES.items():
        if args.only and name not in args.only:
            continue
        _log(f"{name} ...")
        t0 = time.perf_counter()
        results[name] = bench(long=args.long) if bench is bench_sample_efficiency else bench()
        _log(f"{name}: {results[name]}  ({time.perf_counter() - t0:.0f}s)")
    results["total_s"] = round(time.perf_counter() - start)
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(results, indent=2))
    print(f"\nmachine: {results['machine']}\n")
    print(render(results))
    if "sample_efficiency" in results:
        print("\nSample efficiency (median of seeds; tests/benchmarks/suite.py):\n")
        print_tables(results["sample_efficiency"])
    print(f"\n{results['total_s']} s in all; JSON: {args.output}")


if __name__ == "__main__":
    main()
