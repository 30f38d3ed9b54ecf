"""The public API as a notebook uses it: the same study, best, export, train and predict as
the command line, which is a thin layer over these functions."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import optuna
import yaml

import search
from tests.conftest import REPO, cli_env, run_cli


def test_all_lists_the_api():
    assert set(search.__all__) == {"run", "best", "export", "train", "predict"}
    assert all(callable(getattr(search, name)) for name in search.__all__)


def test_run_best_export_train_predict_from_python(workdir: Path):
    (workdir / "studies" / "smoke.yaml").write_text((REPO / "studies" / "smoke.yaml").read_text())
    script = textwrap.dedent(
        """
        import search
        study = search.run("smoke", n_trials=2, progress=False)
        print("STUDY", type(study).__name__, study.study_name, len(study.trials))
        record = search.best("studies/smoke.yaml")
        print("BEST", record["trial"], record["value"])
        search.export("smoke", "x.yaml")
        result = search.train("x.yaml", out="final", epochs=1, progress=False)
        print("TRAIN", result.best_epoch, len(result.classes))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=workdir,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines() if line}
    assert lines["STUDY"] == ["Study", "smoke", "2"]
    study = optuna.load_study(study_name="smoke", storage=f"sqlite:///{workdir}/runs/search.db")
    assert int(lines["BEST"][0]) == study.best_trial.number
    assert float(lines["BEST"][1]) == study.best_value
    exported = yaml.safe_load((workdir / "x.yaml").read_text())
    assert exported["search"]["metric"] == "val_macro_f1"
    assert lines["TRAIN"] == ["1", "10"]
    assert (workdir / "final" / "best" / "model.safetensors").is_file()


def test_best_and_export_take_the_study_file_path(finished_study: Path):
    by_path = run_cli("best", "--study", "studies/small.yaml", "--json", cwd=finished_study)
    by_name = run_cli("best", "--study", "small", "--json", cwd=finished_study)
    assert by_path.returncode == 0, by_path.stderr
    assert by_path.stdout == by_name.stdout
    out = finished_study / "from-path.yaml"
    exported = run_cli(
        "export", "--study", "studies/small.yaml", "-o", str(out), cwd=finished_study
    )
    assert exported.returncode == 0, exported.stderr
    assert yaml.safe_load(out.read_text())["model"] == "test_resnet"
