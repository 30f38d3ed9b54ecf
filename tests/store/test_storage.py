"""The storage as workers share it: a real SQLite file, real processes."""

from __future__ import annotations

import multiprocessing
import time

import optuna

from search.store.storage import open_storage

POPS = 10


def _pop_waiting(url: str, at: float, out) -> None:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.load_study(study_name="q", storage=open_storage(url))
    while time.time() < at:  # both workers start popping at the same instant
        pass
    out.put([study._pop_waiting_trial_id() for _ in range(POPS)])


def test_two_workers_never_take_the_same_waiting_trial_on_sqlite(tmp_path):
    # Enqueued starting trials and retried trials wait in the study until a worker takes one.
    url = f"sqlite:///{tmp_path}/q.db"
    study = optuna.create_study(study_name="q", storage=open_storage(url))
    for x in range(2 * POPS):
        study.enqueue_trial({"x": float(x)})
    spawn = multiprocessing.get_context("spawn")
    out = spawn.Queue()
    at = time.time() + 4.0  # after both have imported and opened the storage
    workers = [spawn.Process(target=_pop_waiting, args=(url, at, out)) for _ in range(2)]
    for w in workers:
        w.start()
    taken = [out.get(timeout=60) for _ in workers]
    for w in workers:
        w.join()
    first, second = taken
    assert None not in first + second  # there was a waiting trial for every pop
    assert not set(first) & set(second), "both workers took the same trial"
    assert len(set(first + second)) == 2 * POPS
