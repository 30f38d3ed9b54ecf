"""Scale-out: N workers on one study, on SQLite and on a real PostgreSQL server, across "machines"."""

from __future__ import annotations

import io
import json
import os
import threading
from contextlib import redirect_stdout
from pathlib import Path

import optuna
from optuna.trial import TrialState
from safetensors.torch import load_file

from search.env import THREADS_ENV
from search.store.checkpoint import WEIGHTS, BestKeeper
from search.store.paths import study_dir
from search.study import runner
from search.study.workers import worker_envs
from tests.conftest import SMALL_STUDY, popen_cli, run_cli, wait_for_file, write_study

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
SIX = SMALL_STUDY.replace("n_trials: 3", "n_trials: 6")


def test_each_worker_gets_its_own_gpu_or_its_share_of_cores():
    envs = worker_envs(4, gpus=["2", "3", "5", "7"], cores=16, base={})
    assert [e["CUDA_VISIBLE_DEVICES"] for e in envs] == ["2", "3", "5", "7"]
    assert [e["SEARCH_WORKER"] for e in envs] == ["0", "1", "2", "3"]
    assert [e[THREADS_ENV] for e in envs] == ["4"] * 4
    cpu = worker_envs(2, gpus=[], cores=8, base={"X": "1"})
    assert [e[THREADS_ENV] for e in cpu] == ["4", "4"] and all(
        "CUDA_VISIBLE_DEVICES" not in e for e in cpu
    )


def _check_study(study: optuna.Study, n: int, run_dir: Path) -> None:
    states = [t.state for t in study.trials]
    assert sum(s in FINISHED for s in states) == n and TrialState.RUNNING not in states, states
    keeper = BestKeeper(run_dir)
    assert keeper.current() == study.best_trial.number
    assert os.listdir(keeper.trials_dir) == [str(study.best_trial.number)]
    load_file(str(keeper.best_link / WEIGHTS))


def test_workers_on_default_sqlite_with_fake_device_ids(workdir: Path):
    write_study(workdir, "small", SIX)
    done = run_cli(
        "run",
        "--study",
        "small",
        "--workers",
        "2",
        cwd=workdir,
        env={"CUDA_VISIBLE_DEVICES": "4,6"},
    )
    assert done.returncode == 0, done.stderr
    assert "search: error" not in done.stderr and "exited with code" not in done.stderr, done.stderr
    study = optuna.load_study(
        study_name="small", storage=f"sqlite:///{workdir / 'runs' / 'search.db'}"
    )
    _check_study(study, 6, workdir / "runs" / "small")
    seen = {
        (t.user_attrs["worker"]["worker"], t.user_attrs["worker"]["cuda_visible_devices"])
        for t in study.trials
    }
    assert seen == {("0", "4"), ("1", "6")}  # each worker saw only its own device
    assert "[w1] trial" in done.stdout and "[w0] trial" in done.stdout


def test_three_workers_on_postgres_share_one_study_with_few_connections(workdir: Path, postgres):
    url = postgres.create_database("three")
    write_study(workdir, "small", SIX)
    peak = {"n": 0}
    stop = threading.Event()

    def watch():
        while not stop.is_set():
            peak["n"] = max(peak["n"], postgres.connections("three"))
            stop.wait(0.2)

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        done = run_cli("run", "--study", "small", "--workers", "3", "--storage", url, cwd=workdir)
    finally:
        stop.set()
        watcher.join()
    assert done.returncode == 0, done.stderr
    assert "search: error" not in done.stderr and "exited with code" not in done.stderr, done.stderr
    study = optuna.load_study(study_name="small", storage=url)
    _check_study(study, 6, workdir / study_dir("small", url))
    # None lost or duplicated; a trial that lost a race to the total stood down unrun.
    counted = [t for t in study.trials if t.user_attrs.get("fail_reason") != runner.SURPLUS]
    assert len({t.number for t in counted}) == len(counted) == 6
    assert 0 < peak["n"] <= 3 * 4, peak  # documented: at most 4 connections per worker


def test_a_killed_worker_is_recovered_by_the_others(workdir: Path, postgres):
    url = postgres.create_database("killed")
    write_study(workdir, "small", SIX)
    done = run_cli(
        "run",
        "--study",
        "small",
        "--workers",
        "2",
        "--storage",
        url,
        cwd=workdir,
        env={"SEARCH_FAULT": "epoch:1", "SEARCH_FAULT_WORKER": "1"},
    )
    assert done.returncode == 0, done.stderr
    assert "worker 1" in done.stderr and "exited with code -9" in done.stderr
    assert "search: error" not in done.stderr
    study = optuna.load_study(study_name="small", storage=url)
    _check_study(study, 6, workdir / study_dir("small", url))
    failed = [
        t
        for t in study.trials
        if t.state == TrialState.FAIL and t.user_attrs.get("fail_reason") != runner.SURPLUS
    ]
    assert len(failed) == 1
    assert any(
        t.system_attrs.get("failed_trial") == failed[0].number and t.state in FINISHED
        for t in study.trials
    )


def test_two_machines_share_only_the_database_and_the_artifact_store(tmp_path: Path, postgres):
    """The README's scale-out section, followed as written, with two working directories."""
    url = postgres.create_database("machines")
    four = SMALL_STUDY.replace("n_trials: 3", "n_trials: 4")
    shared = tmp_path / "shared-artifacts"
    machines = [tmp_path / "machine-a", tmp_path / "machine-b"]
    env = {
        "SEARCH_STORAGE": url,
        "SEARCH_ARTIFACTS": str(shared),
        "SEARCH_NUM_THREADS": "1",
    }
    for machine in machines:
        write_study(machine, "small", four)
        (machine / "hold").mkdir()
    # Each machine pauses in its first trial until both are there: both certainly run trials.
    procs = [
        popen_cli(
            "run",
            "--study",
            "small",
            "--quiet",
            cwd=m,
            env={**env, "SEARCH_HOLD": "epoch:1", "SEARCH_HOLD_DIR": str(m / "hold")},
        )
        for m in machines
    ]
    for machine, proc in zip(machines, procs):
        wait_for_file(machine / "hold" / f"held-{proc.pid}", proc)
    for machine in machines:
        (machine / "hold" / "release").touch()
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-800:] for o in outputs]
    study = optuna.load_study(study_name="small", storage=url)
    assert sum(t.state in FINISHED for t in study.trials) == 4
    hosts = {t.user_attrs["worker"]["pid"] for t in study.trials}
    assert len(hosts) == 2  # both machines ran trials
    records = []
    for machine in machines:
        best = run_cli("best", "--study", "small", "--json", cwd=machine, env=env)
        assert best.returncode == 0, best.stderr
        records.append(json.loads(best.stdout))
    assert records[0]["trial"] == records[1]["trial"] == study.best_trial.number
    weights = [load_file(str(Path(r["checkpoint"]) / WEIGHTS)) for r in records]
    assert all(Path(r["checkpoint"]).is_relative_to(m) for r, m in zip(records, machines))
    assert all((weights[0][k] == weights[1][k]).all() for k in weights[0])


def test_a_trial_created_past_the_total_by_a_race_stands_down(tmp_path: Path, monkeypatch):
    """Two workers read the totals at the same moment and both create a trial: the later one
    fails unrun, and the study still ends at exactly n_trials."""
    storage = optuna.storages.RDBStorage(f"sqlite:///{tmp_path / 'race.db'}")
    study = optuna.create_study(study_name="race", storage=storage, direction="maximize")
    study.tell(study.ask(), 0.5)
    other = study.ask()  # another worker's trial, created after this worker read the totals
    real_counts = runner.finished_and_running
    # The stale view, as this worker read it before the other worker created its trial.
    monkeypatch.setattr(
        runner, "finished_and_running", lambda s: (1, 0) if len(s.trials) == 2 else real_counts(s)
    )
    finisher = threading.Timer(1.0, lambda: study.tell(other, 0.7))
    ran: list[int] = []

    def objective(trial: optuna.Trial) -> float:
        ran.append(trial.number)
        return 0.9

    finisher.start()
    try:
        with redirect_stdout(io.StringIO()) as out:
            summary = runner.run_study(
                study,
                objective,
                BestKeeper(tmp_path / "runs"),
                n_trials=2,
                timeout=30,
                progress=False,
            )
    finally:
        finisher.join()
    assert ran == []  # the surplus trial never trained
    assert summary.stopped_by == "n_trials" and summary.finished == 2
    states = [t.state for t in study.trials]
    assert states == [TrialState.COMPLETE, TrialState.COMPLETE, TrialState.FAIL]
    assert study.trials[2].user_attrs["fail_reason"] == runner.SURPLUS
    assert "trial   2 FAIL" in out.getvalue() and runner.SURPLUS in out.getvalue()
