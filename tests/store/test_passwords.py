"""No output of any command, and no file `search` writes, holds a storage password."""

from __future__ import annotations

import json

import optuna

from tests.conftest import SMALL_STUDY, free_port, run_cli, write_study

SECRET = "S3cretPW"
ONE = SMALL_STUDY.replace("n_trials: 3", "n_trials: 2").replace("epochs: 2", "epochs: 1")


def test_a_password_bearing_url_is_never_shown_or_written(workdir, postgres):
    url = postgres.create_database("secret")
    postgres.create_database("emptydb")
    # The test server trusts loopback, so it takes any password: the secret reaches the driver.
    in_userinfo = url.replace("postgres@", f"postgres:{SECRET}@")
    in_query = f"{url}?password={SECRET}"
    write_study(workdir, "small", ONE)
    commands = [
        ["run", "--study", "small", "--storage", in_userinfo],
        ["studies", "--storage", in_userinfo],
        ["studies", "--storage", in_userinfo.replace("/secret", "/emptydb")],
        ["best", "--study", "small", "--json", "--storage", in_query],
        ["best", "--study", "small", "--storage", in_userinfo],
        ["trials", "--study", "small", "--storage", in_query],
        ["export", "--study", "small", "-o", "best.yaml", "--storage", in_userinfo],
        ["report", "--study", "small", "--storage", in_userinfo],
        ["dashboard", "--study", "nosuch", "--port", str(free_port()), "--storage", in_query],
        # refused: nothing listens on port 1
        ["run", "--study", "small", "--storage", f"postgresql://postgres:{SECRET}@127.0.0.1:1/x"],
    ]
    seen = []
    for argv in commands:
        done = run_cli(*argv, cwd=workdir)
        seen.append((argv[0], done.returncode, done.stdout + done.stderr))
    assert [code for _, code, _ in seen[:8]] == [0] * 8, seen
    assert [code for _, code, _ in seen[8:]] == [2, 2], seen[8:]
    assert "no study named 'nosuch'" in seen[8][2] and "password=***" in seen[8][2]
    assert "***@" in seen[0][2]  # the URL is shown, masked
    for command, _, text in seen:
        assert SECRET not in text, (command, text)
    written = [p for p in workdir.rglob("*") if p.is_file()]
    assert any(p.name == "best.yaml" for p in written) and any(p.suffix == ".png" for p in written)
    for path in written:
        assert SECRET.encode() not in path.read_bytes(), path
    # Nor does the study itself, which every worker and the dashboard read.
    study = optuna.load_study(study_name="small", storage=url)
    stored = json.dumps(
        [study.user_attrs, study._storage.get_study_system_attrs(study._study_id)]
        + [[t.user_attrs, t.system_attrs] for t in study.trials],
        default=str,
    )
    assert SECRET not in stored
