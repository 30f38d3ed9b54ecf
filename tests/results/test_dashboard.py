"""optuna-dashboard over HTTP on a study that `search run` is writing, and in a real browser."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.conftest import (
    SMALL_STUDY,
    free_port,
    popen_cli,
    wait_for_file,
    wait_for_port,
    write_study,
)

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def get_json(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.loads(response.read())


@pytest.fixture
def live(workdir: Path):
    """`search run` paused in its first trial's first epoch, and `search dashboard` serving it.

    The run waits at a pause point (SEARCH_HOLD) until the test writes hold/release, so the
    dashboard is certainly seen mid-run.
    """
    write_study(workdir, "small", SMALL_STUDY.replace("n_trials: 3", "n_trials: 8"))
    hold = workdir / "hold"
    hold.mkdir()
    run = popen_cli(
        "run",
        "--study",
        "small",
        "--quiet",
        cwd=workdir,
        env={"SEARCH_HOLD": "epoch:1", "SEARCH_HOLD_DIR": str(hold)},
    )
    port = free_port()
    procs = [run]
    try:
        wait_for_file(hold / f"held-{run.pid}", run)
        dashboard = popen_cli("dashboard", "--study", "small", "--port", str(port), cwd=workdir)
        procs.append(dashboard)
        wait_for_port(port, dashboard)
        yield workdir, port, run
    finally:
        (hold / "release").touch()
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


def _finish(workdir: Path, run: subprocess.Popen) -> None:
    (workdir / "hold" / "release").touch()
    _, err = run.communicate(timeout=300)
    assert run.returncode == 0, err


def test_dashboard_serves_trials_while_the_study_runs(live):
    workdir, port, run = live
    # Mid-run: the paused trial is RUNNING and its first epoch's value is already visible.
    _, detail = _study_page(port)
    (running,) = detail["trials"]
    assert running["state"] == "Running"
    assert [v["step"] for v in running["intermediate_values"]] == [1]
    _finish(workdir, run)
    _, detail = _study_page(port)
    trials = detail["trials"]
    assert len(trials) == 8
    first = trials[0]
    assert next(v["step"] for v in first["intermediate_values"]) == 1
    assert {"lr", "loss"} <= {p["name"] for p in first["params"]}
    # The best trial's page lists its checkpoint files from the artifact store.
    best = max((t for t in trials if t["state"] == "Complete"), key=lambda t: t["values"][0])
    names = {a["filename"] for a in best["artifacts"]}
    assert {"model.safetensors", "config.yaml", "metrics.json"} <= names


def _listening_addresses(port: int) -> list[str]:
    """The local IPv4 addresses with a socket listening on `port`, read from /proc/net/tcp."""
    addresses = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        address, port_hex = local.split(":")
        if state == "0A" and int(port_hex, 16) == port:  # 0A: LISTEN
            addresses.append(socket.inet_ntoa(bytes.fromhex(address)[::-1]))
    return addresses


def test_dashboard_binds_to_loopback_by_default(live):
    _, port, _ = live
    assert _listening_addresses(port) == ["127.0.0.1"]
    for address in _local_addresses():
        with socket.socket() as s:
            s.settimeout(1)
            assert s.connect_ex((address, port)) != 0, f"dashboard reachable on {address}"


def _local_addresses() -> list[str]:
    try:
        out = subprocess.run(["hostname", "-I"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [a for a in out.split() if ":" not in a and not a.startswith("127.")]


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_headless_chromium_shows_the_study_charts(live, tmp_path):
    workdir, port, run = live
    _finish(workdir, run)
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
