"""The audit log's head kept outside the database, so deleting its newest rows shows.

An :class:`Anchor` is a ``(seq, hash)`` pair seen at some moment, with where it was
found. The store appends one to a small append-only **head file** at every write (beside
a SQLite store by default; any path the register's ``audit.head_file`` names). The
nightly outputs carry one too: ``report.json`` (``audit_head``), the MLflow run's tags
(``modelhealth.audit_head``) and the notification payload (``audit_head``); the
functions here build and read those fields so every output writes the same shape.

``ladder audit verify`` collects the anchors it can find and checks the log against
each; the newest (highest ``seq``) is the one that detects the most truncation.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from ladder.audit import parse_head

__all__ = [
    "HEAD_FIELD",
    "HEAD_TAG",
    "Anchor",
    "HeadFile",
    "anchor_field",
    "anchor_from_tags",
    "anchor_tags",
    "anchors_in",
    "default_head_file",
    "newest",
]

#: The key under which report.json and notification payloads carry the head.
HEAD_FIELD: Final = "audit_head"
#: The MLflow run tag that carries the head.
HEAD_TAG: Final = "modelhealth.audit_head"


@dataclass(frozen=True)
class Anchor:
    """The audit log's head as seen outside the database."""

    seq: int
    hash: str
    source: str = ""

    @property
    def head(self) -> str:
        """``seq:hash``."""
        return f"{self.seq}:{self.hash}"


def newest(anchors: Iterable[Anchor]) -> Anchor | None:
    """The anchor with the highest ``seq`` (it covers the most rows)."""
    return max(anchors, key=lambda a: a.seq, default=None)


def anchor_field(seq: int, hash_: str) -> dict[str, Any]:
    """``{"seq": …, "hash": …}``: the ``audit_head`` of report.json and notifications."""
    return {"seq": seq, "hash": hash_}


def anchor_tags(seq: int, hash_: str) -> dict[str, str]:
    """The MLflow run tags that anchor the head."""
    return {HEAD_TAG: f"{seq}:{hash_}"}


def anchor_from_tags(tags: Mapping[str, str], *, source: str) -> Anchor | None:
    """The anchor in an MLflow run's tags, if it has one."""
    text = tags.get(HEAD_TAG)
    if not text:
        return None
    seq, hash_ = parse_head(text)
    return Anchor(seq, hash_, source)


def _from_json(path: Path) -> Anchor | None:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    field = document.get(HEAD_FIELD) if isinstance(document, dict) else None
    if not isinstance(field, dict):
        return None
    seq, hash_ = field.get("seq"), field.get("hash")
    if not isinstance(seq, int) or not isinstance(hash_, str):
        return None
    return Anchor(seq, hash_, str(path))


def anchors_in(paths: Iterable[Path]) -> list[Anchor]:
    """Anchors in JSON files (report.json, saved notification payloads) and in the JSON
    files of directories (searched recursively); head files (``*.audit-head``) too.

    Raises
    ------
    FileNotFoundError
        When a path does not exist.
    """
    found: list[Anchor] = []
    for path in paths:
        if not path.exists():
            raise FileNotFoundError(path)
        files = sorted(path.rglob("*")) if path.is_dir() else [path]
        for file in files:
            if file.name.endswith(HeadFile.SUFFIX):
                found.extend(HeadFile(file).anchors())
            elif file.suffix == ".json":
                anchor = _from_json(file)
                if anchor is not None:
                    found.append(anchor)
    return found


def default_head_file(url: str) -> Path | None:
    """``<database file>.audit-head`` for a SQLite file store, else ``None``."""
    if not url.startswith("sqlite") or ":memory:" in url or url in ("sqlite://",):
        return None
    path = url.split("///", 1)[-1].split("?", 1)[0]
    return Path(path + HeadFile.SUFFIX) if path else None


class HeadFile:
    """An append-only text file of heads, one ``SEQ HASH`` line per write.

    Lines are appended with ``O_APPEND`` in one ``write`` each, so concurrent writers
    never interleave within a line; they may land out of order, which is why readers
    take the highest ``seq``. A line is written only after its transaction committed.
    """

    SUFFIX: Final = ".audit-head"

    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, seq: int, hash_: str) -> None:
        """Record a head (best effort: a full disk must not undo a committed decision)."""
        line = f"{seq} {hash_}\n".encode("ascii")
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        except OSError:
            return
        try:
            os.write(fd, line)
        except OSError:
            pass
        finally:
            os.close(fd)

    def anchors(self) -> list[Anchor]:
        """Every well-formed head in the file (a torn last line is ignored)."""
        try:
            text = self.path.read_text(encoding="ascii", errors="replace")
        except FileNotFoundError:
            return []
        out = []
        for number, line in enumerate(text.splitlines(), start=1):
            parts = line.split()
            if len(parts) == 2 and parts[0].isdigit() and len(parts[1]) == 64:
                out.append(Anchor(int(parts[0]), parts[1], f"{self.path}:{number}"))
        return out
