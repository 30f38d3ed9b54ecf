"""`search` end to end, in real processes, as a user runs it."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import optuna
import timm
import yaml

from search.store.checkpoint import WEIGHTS
from search.store.clock import stored_spans, union_length
from search.store.paths import study_dir
from search.trainer.model import load_state_dict

from .conftest import REPO, SMALL_STUDY, cli_env, run_cli, write_study


def _finished(study: optuna.Study) -> int:
    return sum(
        t.state in (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.PRUNED)
        for t in study.trials
    )


def test_run_resume_best_and_the_stock_optuna_cli(workdir: Path):
    write_study(workdir, "small")
    first = run_cli("run", "--study", "small", "--n-trials", "2", cwd=workdir)
    assert first.returncode == 0, first.stderr
    assert "trial   0" in first.stdout and "trial   1" in first.stdout
    # Trial 0 is the starting configuration (the recipe's lr 5e-3 and loss ce here); 1 is TPE's.
    (zero,) = [line for line in first.stdout.splitlines() if line.startswith("trial   0")]
    assert "lr=0.005 loss=ce" in zero and zero.endswith("(the starting configuration)")
    assert "starting configuration" not in first.stdout.replace(zero, "")
    assert "best val_macro_f1=" in first.stdout

    # --n-trials is the study's total: resuming to 3 runs exactly one more trial.
    again = run_cli("run", "--study", "small", "--n-trials", "3", cwd=workdir)
    assert again.returncode == 0, again.stderr
    assert "trial   2" in again.stdout and "trial   0" not in again.stdout
    url = f"sqlite:///{workdir / 'runs' / 'search.db'}"
    study = optuna.load_study(study_name="small", storage=url)
    assert _finished(study) == 3 and len(study.trials) == 3

    best = run_cli("best", "--study", "small", "--json", cwd=workdir)
    assert best.returncode == 0, best.stderr
    record = json.loads(best.stdout)
    assert record["trial"] == study.best_trial.number and record["value"] == study.best_value
    assert record["params"] == study.best_trial.params
    assert record["storage"] == "sqlite:///runs/search.db"
    # How the best evolved, in the study's time: both runs' spans, and the run's last line.
    assert record["progress"].startswith(f"best {study.best_value:.4f} at ")
    assert record["value_se"] == study.best_trial.user_attrs["value_se"] > 0
    assert record["progress"].endswith(
        f"±{record['value_se']:.3f} (bootstrap standard error): smaller gains may be luck"
    )
    shown = run_cli("best", "--study", "small", cwd=workdir)
    value = f"val_macro_f1={record['value']:.4f} ± {record['value_se']:.3f}"
    assert f"best       {value}  trial {record['trial']}" in shown.stdout.splitlines()
    assert len(stored_spans(study)) == 2
    assert record["spent_s"] == union_length(list(stored_spans(study).values()))
    assert again.stdout.strip().splitlines()[-1] == record["progress"]
    checkpoint = Path(record["checkpoint"])
    config = yaml.safe_load((checkpoint / "config.yaml").read_text())
    for key, value in record["params"].items():
        assert config[key] == value
    model = timm.create_model(config["model"], num_classes=10, in_chans=1)
    model.load_state_dict(load_state_dict(str(checkpoint / WEIGHTS)))  # strict: every key matches
    metrics = json.loads((checkpoint / "metrics.json").read_text())
    assert metrics["value"] == study.best_value and metrics["trial"] == study.best_trial.number

    optuna_cli = Path(sys.executable).parent / "optuna"
    listed = subprocess.run(
        [
            str(optuna_cli),
            "trials",
            "--study-name",
            "small",
            "--storage",
            "sqlite:///runs/search.db",
            "-f",
            "json",
        ],
        cwd=workdir,
        capture_output=True,
        text=True,
        check=True,
    )
    rows = json.loads(listed.stdout)
    assert sorted(r["number"] for r in rows) == [0, 1, 2]

    studies = run_cli("studies", cwd=workdir)
    assert studies.returncode == 0 and "small" in studies.stdout


def test_a_changed_search_space_is_refused(workdir: Path):
    write_study(workdir, "small")
    assert run_cli("run", "--study", "small", "--n-trials", "1", cwd=workdir).returncode == 0
    before = (workdir / "runs" / "search.db").read_bytes()
    write_study(workdir, "small", SMALL_STUDY.replace("high: 1.0e-2", "high: 5.0e-2"))
    changed = run_cli("run", "--study", "small", cwd=workdir)
    assert changed.returncode == 2
    lines = changed.stderr.strip().splitlines()
    assert len(lines) == 1 and "different study file" in lines[0] and "space.lr.high" in lines[0]
    assert "--name small-2" in lines[0]
    assert (workdir / "runs" / "search.db").read_bytes() == before


def test_smoke_study_runs_through_the_cli(workdir: Path):
    (workdir / "studies" / "smoke.yaml").write_text((REPO / "studies" / "smoke.yaml").read_text())
    url = f"sqlite:///{workdir / 'other.db'}"
    done = run_cli("run", "--study", "smoke", "--storage", url, cwd=workdir)
    assert done.returncode == 0, done.stderr
    study = optuna.load_study(study_name="smoke", storage=f"sqlite:///{workdir / 'other.db'}")
    assert _finished(study) == 4
    assert not (workdir / "runs" / "search.db").exists()
    # Another storage, another run directory: runs/smoke-<8 hex>/.
    assert (workdir / study_dir("smoke", url) / "best" / WEIGHTS).is_file()
    assert not (workdir / "runs" / "smoke").exists()


def test_the_csv_example_study_runs_through_the_cli(workdir: Path):
    shutil.copytree(REPO / "studies", workdir / "studies", dirs_exist_ok=True)
    done = run_cli("run", "--study", "csv-example", "--n-trials", "2", "--quiet", cwd=workdir)
    assert done.returncode == 0, done.stderr
    assert "data: 6 classes" in done.stdout and "in memory (auto: fits" in done.stdout
    study = optuna.load_study(study_name="csv-example", storage="sqlite:///runs/search.db")
    assert _finished(study) == 2
    assert study.trials[0].user_attrs["data"]["cache"] == "memory"
    config = yaml.safe_load((workdir / "runs" / "csv-example" / "best" / "config.yaml").read_text())
    assert config["data"]["group_column"] == "maker" and config["data"]["image_size"] == 32


def test_model_select_records_cost_and_oom_retries_and_the_report_plots_them(workdir: Path):
    shutil.copytree(REPO / "studies", workdir / "studies", dirs_exist_ok=True)
    # A device that fits 32 images: every trial at batch 64 retries in halves.
    done = run_cli(
        "run",
        "--study",
        "model-select",
        "--n-trials",
        "4",
        "--quiet",
        cwd=workdir,
        env={"SEARCH_FAULT_OOM_ABOVE": "32"},
    )
    assert done.returncode == 0, done.stderr
    study = optuna.load_study(study_name="model-select", storage="sqlite:///runs/search.db")
    assert len({t.params["model"] for t in study.trials}) > 1
    for trial in study.trials:
        assert trial.user_attrs["cost"]["model"] == trial.params["model"]
        assert trial.user_attrs["oom_retries"][0] == {
            "epoch": 1,
            "micro_batch": 32,
            "accumulation": 2,
        }
    rows = json.loads(
        run_cli("trials", "--study", "model-select", "--format", "json", cwd=workdir).stdout
    )
    assert all(r["train_s"] > 0 and r["params"] > 0 and r["img_per_s"] > 0 for r in rows)
    report = run_cli("report", "--study", "model-select", cwd=workdir)
    assert report.returncode == 0, report.stderr
    assert (workdir / "runs" / "model-select" / "report" / "cost.png").is_file()


def test_help_teaches_with_examples(workdir: Path):
    from search.cli import COMMANDS

    assert set(COMMANDS) == {
        "data",
        "run",
        "studies",
        "best",
        "trials",
        "export",
        "train",
        "evaluate",
        "predict",
        "report",
        "dashboard",
    }
    for command in COMMANDS:
        out = run_cli(command, "--help", cwd=workdir)
        assert (
            out.returncode == 0 and "examples:" in out.stdout and f"search {command}" in out.stdout
        )


def test_read_only_commands_do_not_import_torch_or_timm(finished_study: Path):
    for argv in (["--help"], ["studies"], ["best", "--study", "small"]):
        code = (
            "import sys\nfrom search.cli import main\ntry:\n    main(%r)\nexcept SystemExit:\n    pass\n"
            "heavy = [m for m in ('torch', 'timm', 'torchvision') if m in sys.modules]\n"
            "assert not heavy, heavy\n" % argv
        )
        done = subprocess.run(
            [sys.executable, "-c", code],
            cwd=finished_study,
            capture_output=True,
            text=True,
            env=cli_env(),
        )
        assert done.returncode == 0, (argv, done.stderr)
