"""optuna-dashboard over HTTP on a study that `search run` is writing, and in a real browser."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import SMALL_STUDY, popen_cli, write_study

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dashboard exited: {proc.stderr.read() if proc.stderr else ''}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on port {port}")


@pytest.fixture
def live(workdir: Path):
    """`search run` writing a study and `search dashboard` serving it, both running."""
    write_study(workdir, "small", SMALL_STUDY.replace("n_trials: 3", "n_trials: 8"))
    run = popen_cli("run", "--study", "small", "--quiet", cwd=workdir)
    # The dashboard starts once the storage exists, as a user would open it after `search run`.
    deadline = time.monotonic() + 120
    while not (workdir / "runs" / "search.db").exists() and time.monotonic() < deadline:
        time.sleep(0.2)
    port = free_port()
    dashboard = popen_cli("dashboard", "--study", "small", "--port", str(port), cwd=workdir)
    procs = [run, dashboard]
    try:
        wait_for_port(port, dashboard)
        yield workdir, port, run
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()


def _study_page(port: int) -> tuple[int, dict]:
    studies = get_json(f"http://127.0.0.1:{port}/api/studies")["study_summaries"]
    (study,) = [s for s in studies if s["study_name"] == "small"]
    return study["study_id"], get_json(f"http://127.0.0.1:{port}/api/studies/{study['study_id']}")


def test_dashboard_serves_trials_while_the_study_runs(live):
    workdir, port, run = live
    seen_running_study = False
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        study_id, detail = _study_page(port)
        values = [t for t in detail["trials"] if t["intermediate_values"]]
        if run.poll() is None and values:
            seen_running_study = True
        if run.poll() is not None and len(detail["trials"]) >= 8:
            break
        time.sleep(0.5)
    assert run.returncode == 0, run.stderr.read()
    assert seen_running_study  # it answered while `search run` was writing
    _, detail = _study_page(port)
    trials = detail["trials"]
    assert len(trials) == 8
    first = trials[0]
    assert [v["step"] for v in first["intermediate_values"]][0] == 1
    assert {"lr", "loss"} <= {p["name"] for p in first["params"]}
    # The best trial's page lists its checkpoint files from the artifact store.
    best = max((t for t in trials if t["state"] == "Complete"), key=lambda t: t["values"][0])
    names = {a["filename"] for a in best["artifacts"]}
    assert {"model.safetensors", "config.yaml", "metrics.json"} <= names


def test_dashboard_binds_to_loopback_by_default(live):
    _, port, _ = live
    addresses = [a for a in _local_addresses() if not a.startswith("127.")]
    for address in addresses:
        with socket.socket() as s:
            s.settimeout(1)
            assert s.connect_ex((address, port)) != 0, f"dashboard reachable on {address}"


def _local_addresses() -> list[str]:
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [a for a in out.split() if ":" not in a]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_headless_chromium_shows_the_study_charts(live, tmp_path):
    workdir, port, run = live
    run.wait(timeout=240)
    study_id, _ = _study_page(port)
    shot = tmp_path / "study.png"
    subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}",
            "--window-size=1400,1400",
            "--hide-scrollbars",
            "--virtual-time-budget=20000",
            f"--screenshot={shot}",
            f"http://127.0.0.1:{port}/dashboard/studies/{study_id}",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    pixels = np.asarray(Image.open(shot).convert("RGB"))
    colours = len(np.unique(pixels.reshape(-1, 3), axis=0))
    assert colours > 200, f"the page looks empty ({colours} colours)"
    # Plotly charts draw their markers in a blue of this family; an empty page has none.
    blue = (pixels[..., 2] > 150) & (pixels[..., 0] < 120)
    assert blue.sum() > 500
    shutil.copy(shot, workdir / "dashboard.png")
