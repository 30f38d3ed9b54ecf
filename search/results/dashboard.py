"""optuna-dashboard on the study's storage and artifact store, bound to loopback by default."""

from __future__ import annotations

from typing import Any


def dashboard_url(host: str, port: int, study_id: int | None = None) -> str:
    shown = f"[{host}]" if ":" in host else host
    path = f"/dashboard/studies/{study_id}" if study_id is not None else "/dashboard"
    return f"http://{shown}:{port}{path}"


def _check_port_free(host: str, port: int) -> None:
    import socket

    from search.errors import SearchError

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family) as probe:
        try:
            probe.bind((host, port))
        except OSError as err:
            raise SearchError(
                f"cannot serve on {host}:{port} ({err.strerror}); choose another with --port"
            ) from None


def serve(
    storage_url: str, artifact_store: Any, *, host: str, port: int, study: str | None = None
) -> None:
    """Blocks, serving until interrupted. Reads the same storage a running study writes to."""
    from optuna_dashboard import run_server

    from search.errors import SearchError
    from search.store.storage import open_storage
    from search.store.urls import redact

    _check_port_free(host, port)
    storage = open_storage(storage_url)
    study_id = None
    if study is not None:
        try:
            study_id = storage.get_study_id_from_name(study)
        except KeyError:
            raise SearchError(f"no study named {study!r} in {redact(storage_url)}") from None
    print(f"optuna-dashboard: {dashboard_url(host, port, study_id)}  (Ctrl-C to stop)", flush=True)
    run_server(storage, host=host, port=port, artifact_store=artifact_store)
