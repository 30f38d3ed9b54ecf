from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

SMALL_STUDY = """
objective: classify
n_trials: 3
train:
  model: test_resnet
  data: {name: mnist-longtail}
  epochs: 2
space:
  lr: {type: float, low: 1.0e-3, high: 1.0e-2, log: true}
  loss: {type: categorical, choices: [ce, focal]}
  focal_gamma: {type: float, low: 1.0, high: 2.0, when: {loss: focal}}
sampler: {name: tpe, seed: 0}
pruner: {name: median, options: {n_startup_trials: 1}}
heartbeat: {interval: 1, grace_period: 3}
"""


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty project directory with a studies/ folder, as the cwd; no SEARCH_STORAGE."""
    (tmp_path / "studies").mkdir()
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SEARCH_STORAGE", raising=False)
    return tmp_path


def write_study(directory: Path, name: str, text: str = SMALL_STUDY) -> Path:
    path = directory / "studies" / f"{name}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This environment without the user's SEARCH_* settings, with the repo importable."""
    env = {k: v for k, v in os.environ.items() if k not in ("SEARCH_STORAGE", "SEARCH_ARTIFACTS")}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra or {})
    return env


def run_cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess:
    """Run `search ARGS` as a user would, in its own process, and wait for it."""
    return subprocess.run(
        [sys.executable, "-m", "search", *args],
        cwd=cwd,
        env=cli_env(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _interruptible() -> None:
    # A shell that runs the tests in the background ignores SIGINT in them, and exec keeps
    # that; the CLI under test must see Ctrl-C as it would in a terminal.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def popen_cli(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start `search ARGS` in its own process, with its output piped, without waiting."""
    return subprocess.Popen(
        [sys.executable, "-m", "search", *args],
        cwd=cwd,
        env=cli_env(env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_interruptible,
    )


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen | None = None, timeout: float = 60) -> None:
    """Wait until something listens on 127.0.0.1:port; fail early if `proc` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"exited: {proc.stderr.read() if proc.stderr else ''}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise AssertionError(f"nothing listens on port {port}")


def wait_for_file(path: Path, proc: subprocess.Popen | None = None, timeout: float = 240) -> None:
    """Wait until `path` exists (a pause point reached, say); fail early if `proc` exits."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"exited with {proc.returncode} before {path.name} appeared")
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} did not appear within {timeout} s")
        time.sleep(0.05)


def image_folder(
    root: Path,
    classes: dict[str, int],
    *,
    mode: str | tuple[str, ...] = "RGB",
    size: int | tuple[int, int] = 12,
) -> Path:
    """Generated PNGs, a sub-directory per class; with several modes, images cycle through them.
    `size` is a side, or (height, width) for portraits."""
    from PIL import Image

    height, width = (size, size) if isinstance(size, int) else size
    modes = (mode,) if isinstance(mode, str) else mode
    for i, (name, n) in enumerate(classes.items()):
        (root / name).mkdir(parents=True, exist_ok=True)
        for j in range(n):
            m = modes[j % len(modes)]
            color = (i * 80, j * 10, 0) if m == "RGB" else (i * 80 + j) % 256
            Image.new(m, (width, height), color=color).save(root / name / f"{j}.png")
    return root


@pytest.fixture(scope="session")
def finished_study(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project directory holding the small study, run to 4 trials once for the whole session."""
    from search.cli import main

    root = tmp_path_factory.mktemp("finished")
    write_study(root, "small", SMALL_STUDY.replace("n_trials: 3", "n_trials: 4"))
    cwd = os.getcwd()
    os.chdir(root)
    try:
        assert main(["run", "--study", "small", "--quiet"]) == 0
    finally:
        os.chdir(cwd)
    return root


@pytest.fixture(scope="session")
def postgres():
    """A PostgreSQL 15 server started for this test session, stopped after it."""
    from tests import pg

    if not pg.available():
        pytest.skip(
            "PostgreSQL 15 server binaries are not installed (apt-get install postgresql-15)"
        )
    server = pg.PostgresServer()
    try:
        yield server
    finally:
        server.stop()
