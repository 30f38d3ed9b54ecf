"""Kills, interrupts and faults inside trials lose nothing, and the study still finishes."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import optuna
import pytest
import timm
import torch
from optuna.trial import TrialState

from objectives.classify import ClassifyObjective
from search.store.checkpoint import WEIGHTS, BestKeeper
from search.store.storage import open_storage
from search.study.config import load_study_config
from search.study.create import create_or_resume
from search.study.runner import run_study
from search.trainer.model import load_state_dict
from tests.conftest import (
    SMALL_STUDY,
    image_folder,
    popen_cli,
    run_cli,
    wait_for_file,
    write_study,
)

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def _load(workdir: Path, name: str = "small") -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{workdir / 'runs' / 'search.db'}")


def assert_study_whole(workdir: Path, n_trials: int, name: str = "small") -> optuna.Study:
    """Exactly n finished trials, none RUNNING, and `best` is the study's best and loads."""
    study = _load(workdir, name)
    states = [t.state for t in study.trials]
    assert sum(s in FINISHED for s in states) == n_trials, states
    assert TrialState.RUNNING not in states
    keeper = BestKeeper(workdir / "runs" / name)
    assert keeper.current() == study.best_trial.number
    model = timm.create_model("test_resnet", num_classes=10, in_chans=1)
    model.load_state_dict(load_state_dict(str(keeper.best_link / WEIGHTS)))
    leftovers = sorted(p.name for p in (workdir / "runs" / name).iterdir())
    assert leftovers == [".lock", "best", "trials"], leftovers
    assert os.listdir(keeper.trials_dir) == [str(study.best_trial.number)]
    return study


@pytest.mark.parametrize("fault", ["epoch:3", "checkpoint:2", "promote:2", "between-trials:1"])
def test_killed_run_resumes_to_exactly_n_trials(workdir: Path, fault: str):
    # Trial 0 at the space's lowest lr, 1e-3, which later trials beat in 2 epochs: a second
    # checkpoint is written (the starting recipe's lr 5e-3 can stay the best, and checkpoint:2
    # then never be reached).
    write_study(workdir, "small", SMALL_STUDY.replace("epochs: 2", "epochs: 2\n  lr: 0.001"))
    killed = run_cli("run", "--study", "small", "--quiet", cwd=workdir, env={"SEARCH_FAULT": fault})
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    resumed = run_cli("run", "--study", "small", "--quiet", cwd=workdir)
    assert resumed.returncode == 0, resumed.stderr
    study = assert_study_whole(workdir, 3)
    if fault == "epoch:3":
        # The trial killed mid-training was failed by its stale heartbeat and retried as it was.
        failed = [t for t in study.trials if t.state == TrialState.FAIL]
        assert len(failed) == 1
        retry = [t for t in study.trials if t.system_attrs.get("failed_trial") == failed[0].number]
        assert (
            len(retry) == 1 and retry[0].params == failed[0].params and retry[0].state in FINISHED
        )


def _held(workdir: Path, point: str, name: str = "hold") -> tuple[dict[str, str], Path]:
    """The environment that pauses `search run` at `point`, and the folder it reports to."""
    hold = workdir / name
    hold.mkdir()
    return {"SEARCH_HOLD": point, "SEARCH_HOLD_DIR": str(hold)}, hold


@pytest.mark.parametrize(
    "signum, code, point",
    [
        (signal.SIGINT, 130, "epoch:1"),
        (signal.SIGTERM, 143, "epoch:1"),
        (signal.SIGTERM, 143, "checkpoint:1"),  # inside the checkpoint write
    ],
)
def test_interrupt_fails_the_running_trial_and_a_rerun_continues(
    workdir: Path, signum, code, point
):
    write_study(workdir, "small", SMALL_STUDY.replace("epochs: 2", "epochs: 4"))
    env, hold = _held(workdir, point)
    proc = popen_cli("run", "--study", "small", "--quiet", cwd=workdir, env=env)
    try:
        wait_for_file(hold / f"held-{proc.pid}", proc)
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == code, err
    assert "Traceback" not in err and "interrupted" in err
    trials = _load(workdir).trials
    assert [t.state for t in trials][-1] == TrialState.FAIL
    assert trials[-1].user_attrs["fail_reason"] == "interrupted"
    assert TrialState.RUNNING not in [t.state for t in trials]
    resumed = run_cli("run", "--study", "small", "--quiet", cwd=workdir)
    assert resumed.returncode == 0, resumed.stderr
    assert_study_whole(workdir, 3)


def test_a_worker_paused_past_the_grace_period_drops_its_taken_over_trial(workdir: Path):
    write_study(workdir, "small")  # heartbeat every 1 s, stale after 3 s
    env, hold = _held(workdir, "epoch:1")
    paused = popen_cli("run", "--study", "small", "--quiet", cwd=workdir, env=env)
    try:
        wait_for_file(hold / f"held-{paused.pid}", paused)
        paused.send_signal(signal.SIGSTOP)  # no heartbeat from now on
        # Another worker waits for the paused trial to go stale, fails it, retries it, finishes.
        other = run_cli("run", "--study", "small", "--quiet", cwd=workdir)
        assert other.returncode == 0, other.stderr
        (hold / "release").touch()
        paused.send_signal(signal.SIGCONT)
        out, err = paused.communicate(timeout=120)
    finally:
        if paused.poll() is None:
            paused.kill()
    assert paused.returncode == 0, err
    assert "Traceback" not in err and "Cannot tell" not in err
    assert "its result is dropped" in out
    study = assert_study_whole(workdir, 3)
    (stale,) = [t for t in study.trials if t.state == TrialState.FAIL]
    assert "fail_reason" not in stale.user_attrs  # recorded as the worker's death, nothing else


def test_two_processes_started_together_propose_different_trials(workdir: Path):
    write_study(workdir, "small", SMALL_STUDY.replace("n_trials: 3", "n_trials: 2"))
    procs, holds = [], []
    for i in range(2):
        # Both have loaded the study before either asks for a trial.
        env, hold = _held(workdir, "study-ready", f"hold{i}")
        procs.append(popen_cli("run", "--study", "small", "--quiet", cwd=workdir, env=env))
        holds.append(hold)
    for proc, hold in zip(procs, holds):
        wait_for_file(hold / f"held-{proc.pid}", proc)
    for hold in holds:
        (hold / "release").touch()
    outputs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-500:] for o in outputs]
    first, second = _load(workdir).trials[:2]
    assert first.params != second.params


def test_three_workers_share_the_default_sqlite_storage(workdir: Path):
    write_study(workdir, "small", SMALL_STUDY.replace("n_trials: 3", "n_trials: 6"))
    done = run_cli("run", "--study", "small", "--workers", "3", "--quiet", cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert "database is locked" not in done.stdout + done.stderr
    assert "exited with code" not in done.stderr
    study = assert_study_whole(workdir, 6)
    assert all(t.state in FINISHED for t in study.trials)  # no failure, none lost or duplicated
    assert {t.user_attrs["worker"]["worker"] for t in study.trials} <= {"0", "1", "2"}


# Faults inside a trial, injected in-process: each fails that trial with its reason, the study goes on.


def _run_in_process(workdir: Path, n_trials: int = 3, text: str = SMALL_STUDY) -> optuna.Study:
    config = load_study_config(str(write_study(workdir, "small", text)))
    storage = open_storage(f"sqlite:///{workdir / 'runs' / 'search.db'}", config.heartbeat)
    study = create_or_resume("small", config, storage)
    keeper = BestKeeper(workdir / "runs" / "small")
    run_study(
        study,
        ClassifyObjective(config, keeper),
        keeper,
        n_trials=n_trials,
        timeout=None,
        progress=False,
    )
    return study


def test_nan_loss_fails_one_trial_and_the_study_completes(workdir: Path, monkeypatch):
    from search.trainer import loop

    real = loop.create_loss
    calls = {"n": 0}

    class NaNLoss(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, logits, y):
            return self.inner(logits, y) * float("nan")

    def poisoned(config, counts):
        calls["n"] += 1
        loss = real(config, counts)
        return NaNLoss(loss) if calls["n"] == 2 else loss

    monkeypatch.setattr(loop, "create_loss", poisoned)
    study = _run_in_process(workdir)
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert len(failed) == 1 and failed[0].number == 1
    assert failed[0].user_attrs["fail_reason"].startswith("training loss became nan")
    assert sum(t.state in FINISHED for t in study.trials) == 3


def test_out_of_memory_fails_one_trial_and_names_the_batch_size(workdir: Path, monkeypatch):
    from search.trainer import loop

    real = loop.Trainer.train_one_epoch
    calls = {"n": 0}

    def sometimes_oom(self):
        calls["n"] += 1
        if calls["n"] == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real(self)

    monkeypatch.setattr(loop.Trainer, "train_one_epoch", sometimes_oom)
    study = _run_in_process(workdir)
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert len(failed) == 1
    assert failed[0].user_attrs["fail_reason"] == "CUDA out of memory at batch_size=64"
    assert sum(t.state in FINISHED for t in study.trials) == 3


def test_undecodable_image_is_skipped_and_recorded(workdir: Path):
    root = image_folder(workdir / "imgs", {f"c{k}": 8 for k in range(3)}, mode="L", size=16)
    (root / "c1" / "corrupt.png").write_bytes(b"\x89PNG broken")
    text = SMALL_STUDY.replace(
        "data: {name: mnist-longtail}", f"data: {{path: {root}, image_size: 16}}"
    )
    study = _run_in_process(workdir, n_trials=2, text=text)
    assert sum(t.state in FINISHED for t in study.trials) == 2
    assert "corrupt.png" in study.trials[0].user_attrs["data_warning"]


def test_consecutive_failures_stop_the_study_with_a_clear_error(workdir: Path, monkeypatch):
    from search.errors import SearchError
    from search.trainer import loop

    def broken(self):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(loop.Trainer, "train_one_epoch", broken)
    with pytest.raises(SearchError, match="5 trials in a row failed"):
        _run_in_process(workdir)
    reasons = {t.user_attrs["fail_reason"] for t in _load(workdir).trials}
    assert reasons == {"RuntimeError: disk on fire"}
