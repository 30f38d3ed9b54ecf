"""Storage URLs shown without their passwords, and compared by what they point at."""

from __future__ import annotations

import hashlib
import os
import re

_QUERY_SECRET = re.compile(r"(?i)([?&](?:password|passwd|pwd|secret|token)=)[^&#]*")


def redact(url: str) -> str:
    """The URL without its password (user:password@ and ?password=), for messages and files."""
    masked = _QUERY_SECRET.sub(r"\1***", url)
    if "://" in masked and "@" in masked:
        scheme, rest = masked.split("://", 1)
        creds, host = rest.rsplit("@", 1)
        if ":" in creds:
            return f"{scheme}://{creds.split(':', 1)[0]}:***@{host}"
    return masked


def redact_text(text: str, url: str) -> str:
    """`text` (a driver's error, say) with `url`'s password masked wherever it appears."""
    text = text.replace(url, redact(url))
    password = _password(url)
    return text.replace(password, "***") if password else text


def _password(url: str) -> str | None:
    query = re.search(r"(?i)[?&](?:password|passwd|pwd)=([^&#]*)", url)
    if query and query.group(1):
        return query.group(1)
    if "://" in url and "@" in url:
        creds = url.split("://", 1)[1].rsplit("@", 1)[0]
        if ":" in creds and creds.split(":", 1)[1]:
            return creds.split(":", 1)[1]
    return None


def canonical(url: str) -> str:
    """One spelling per database: SQLite paths made absolute, passwords removed."""
    if url.startswith("sqlite:///"):
        return "sqlite:///" + os.path.abspath(url[len("sqlite:///") :])
    return redact(url)


def storage_key(url: str) -> str:
    """8 hex digits that tell two databases apart in a directory name."""
    return hashlib.sha256(canonical(url).encode()).hexdigest()[:8]
