"""Files and directories that are whole or absent, never torn, even across a kill.

The pattern of timm's CheckpointSaver: write under a temporary name in the same directory,
fsync, then rename over the target, and fsync the directory so the rename itself survives.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temporary(target: Path) -> Path:
    # Hidden, in the same directory (a rename across file systems is not atomic), and unique so
    # that two writers of one target never share a temporary file.
    return target.parent / f".tmp-{target.name}-{uuid.uuid4().hex[:8]}"


def write_bytes(target: Path, data: bytes) -> Path:
    """Replace `target` with `data` atomically; its directory must exist."""
    target = Path(target)
    tmp = _temporary(target)
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(target.parent)
    return target


def write_text(target: Path, text: str) -> Path:
    return write_bytes(target, text.encode("utf-8"))


@contextlib.contextmanager
def directory(target: Path) -> Iterator[Path]:
    """Yield a temporary directory to fill; on success it replaces `target` whole.

    A directory cannot replace a non-empty one in one rename, so the old one is moved aside
    first: `target` is at every moment absent or whole, never mixed. On any error the
    temporary directory is removed and `target` is left as it was.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(target)
    tmp.mkdir()
    try:
        yield tmp
        fsync_dir(tmp)
        old = target.parent / f".old-{target.name}-{uuid.uuid4().hex[:8]}"
        had_old = target.exists() and not target.is_symlink()
        if had_old:
            os.rename(target, old)
        os.rename(tmp, target)
        fsync_dir(target.parent)
        if had_old:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def fsync_file(path: Path) -> None:
    with open(path, "rb+") as f:
        os.fsync(f.fileno())
