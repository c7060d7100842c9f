"""Prove the state again from a verified checkpoint, not from the first audit row.

Every decision first checks that the audit log proves the state
(:func:`ladder.proof.prove`): the whole chain is walked, the whole log replayed and
every state table compared, so each decision costs O(log) — fine for one CLI command,
not for a long-running desk taking decisions all day. A :class:`ProofCheckpoint`
keeps, in the memory of the process that proved it (never in the database, where the
writers it guards against could edit it), what a successful proof ended with:

* the chain walk at the head (``seq``, hash, the previous mac, which rows were keyed);
* the projection of the log (every state row as the log says it is);
* every state row's columns as text, as read in the proof's snapshot;
* the anchors already checked.

The next proof, in one snapshot, checks that the head row still carries the hash and
mac it had; resumes the walk on the rows appended since (chain, hashes, macs, the keyed
rules) and applies their changes to the projection; checks anchors not seen before; and
reads every state row again as text: a row byte-for-byte as it was and not touched by
a new audit row equals the projection already (it did at the checkpoint, and neither
side changed), every other row — changed, inserted or deleted behind the log's back, or
changed by the new rows — is compared column by column exactly as :func:`prove` does.
Anything unexpected drops the checkpoint and runs the full proof, whose verdict (with
every reason) is the one returned; that proof also checks the head this process last
proved, as an anchor no database writer can reach (:attr:`ProofCheckpoint.seen`).

What a decision therefore proves is unchanged for the state it reads: every state
table equals the projection of a log whose every row was verified once, whose head is
unchanged, and whose new rows chain from it. What it no longer re-hashes is the content
of rows already verified: an edit that keeps every stored hash and changes no state
(a reworded reason) is found by the next full proof, which ``ladder audit verify``, the
desk's audit page and the desk's minute loop run (:meth:`ProofCheckpoint.prove` with
``full=True``). ``docs/state-store.md`` gives the argument and the cost.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Final
from weakref import WeakKeyDictionary

from sqlalchemy import Text, cast, select
from sqlalchemy.engine import Connection

from ladder.anchors import Anchor, newest
from ladder.audit import ChainWalk
from ladder.keys import head_anchors
from ladder.proof import (
    Projection,
    ProofVerdict,
    check_anchors,
    compare_rows,
    prove_with_state,
    stored_rows,
)
from ladder.store import LadderStore
from ladder.tables import PROJECTED_TABLES, audit_log

__all__ = ["ProofCheckpoint", "checkpoint_for"]

RawRows = dict[str, dict[int, tuple[Any, ...]]]


@dataclass
class _Verified:
    """What the last successful proof ended with (see the module docs)."""

    walk: ChainWalk
    head_mac: str
    projection: Projection
    raw: RawRows
    anchors: set[tuple[int, str]] = field(default_factory=set)


#: Per state table, its rows as the database's own text (built once).
_RAW_QUERIES: Final = tuple(
    (table.name, select(table.c.id, *(cast(c, Text) for c in table.columns)).order_by(table.c.id))
    for table in PROJECTED_TABLES
)


def _raw_rows(conn: Connection) -> RawRows:
    """Every state row's columns as text: cheap to read and to compare."""
    return {
        name: {int(row[0]): tuple(row[1:]) for row in conn.execute(query)}
        for name, query in _RAW_QUERIES
    }


def _head_mac(conn: Connection, seq: int) -> tuple[str, str] | None:
    if seq == 0:
        return ("", "")
    row = conn.execute(
        select(audit_log.c.hash, audit_log.c.mac).where(audit_log.c.seq == seq)
    ).first()
    return None if row is None else (str(row.hash), str(row.mac or ""))


class ProofCheckpoint:
    """Proofs of one store's state, each resuming from the last that passed.

    Thread-safe: concurrent callers prove one at a time (each proof is short once a
    checkpoint exists). Use :func:`checkpoint_for` to share one per store.
    """

    def __init__(self, store: LadderStore) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._verified: _Verified | None = None
        #: The newest head a proof of this process verified: an anchor no database
        #: writer can reach, kept even after a failed proof.
        self.seen: Anchor | None = None
        #: How many proofs ran in full and how many resumed (for tests and benchmarks).
        self.full_proofs = 0
        self.resumed_proofs = 0

    def reset(self) -> None:
        """Forget the checkpoint: the next proof runs in full."""
        with self._lock:
            self._verified = None

    def prove(self, *, full: bool = False) -> ProofVerdict:
        """Whether the log proves the state now, with the store's key and head file.

        Resumes from the checkpoint when there is one (unless ``full``); a proof that
        fails leaves no checkpoint, so the next one runs in full too.
        """
        anchors = head_anchors(self.store)
        with self._lock:
            verified = None if full else self._verified
            self._verified = None
            if verified is not None:
                resumed = self.store.read(lambda c: _resume(c, verified, anchors))
                if resumed is not None:
                    self.resumed_proofs += 1
                    self._verified = verified
                    self._saw(resumed)
                    return resumed
            self.full_proofs += 1
            seen = self.seen
            verdict, fresh = self.store.read(
                lambda c: _full(c, self.store.audit_key, anchors, seen)
            )
            self._verified = fresh
            self._saw(verdict)
            return verdict

    def _saw(self, verdict: ProofVerdict) -> None:
        if verdict.ok:
            self.seen = Anchor(
                verdict.chain.head_seq, verdict.chain.head_hash, "this process's last proof"
            )


def _full(
    conn: Connection, key: bytes | None, anchors: list[Anchor], seen: Anchor | None
) -> tuple[ProofVerdict, _Verified | None]:
    verdict, walk, projection = prove_with_state(conn, key=key, anchors=anchors)
    if seen is not None:
        # Checked like any anchor, but not named as the newest external one.
        extra = check_anchors(conn, verdict.chain, [seen])
        if extra:
            verdict = replace(verdict, problems=(*verdict.problems, *extra))
    if not verdict.ok:
        return verdict, None
    head = _head_mac(conn, walk.head_seq)
    assert head is not None  # the walk just ended there, in this snapshot
    return verdict, _Verified(
        walk=walk,
        head_mac=head[1],
        projection=projection,
        raw=_raw_rows(conn),
        anchors={(a.seq, a.hash) for a in anchors},
    )


def _resume(
    conn: Connection, verified: _Verified, anchors: Iterable[Anchor]
) -> ProofVerdict | None:
    """The proof from ``verified`` on (which it advances), or ``None`` when anything is
    off: the caller then runs the full proof for the authoritative verdict."""
    walk, projection = verified.walk, verified.projection
    if _head_mac(conn, walk.head_seq) != (walk.head_hash, verified.head_mac):
        return None
    changed: set[tuple[str, int]] = set()
    head_mac = verified.head_mac
    for row in conn.execute(
        select(audit_log).where(audit_log.c.seq > walk.head_seq).order_by(audit_log.c.seq)
    ):
        if walk.step(row) is not None:
            return None
        head_mac = str(row.mac or "")
        changed |= projection.apply(row.seq, row.action, row.payload)
    if walk.finish() is not None or projection.problems:
        return None
    chain = walk.verdict(walk.head_seq)  # seq runs 1 … head without a gap
    listed = list(anchors)
    unseen = [a for a in listed if (a.seq, a.hash) not in verified.anchors]
    if check_anchors(conn, chain, unseen):
        return None
    raw = _raw_rows(conn)
    for table in PROJECTED_TABLES:
        now, then = raw[table.name], verified.raw.get(table.name, {})
        suspects = {i for i in now.keys() | then.keys() if now.get(i) != then.get(i)}
        suspects |= {i for name, i in changed if name == table.name}
        if not suspects:
            continue
        stored = stored_rows(conn, table, suspects)
        if compare_rows(table, stored, projection, suspects):
            return None
    verified.head_mac = head_mac
    verified.raw = raw
    verified.anchors |= {(a.seq, a.hash) for a in unseen}
    return ProofVerdict(chain, (), newest(listed), len(listed))


_CHECKPOINTS: WeakKeyDictionary[LadderStore, ProofCheckpoint] = WeakKeyDictionary()
_CHECKPOINTS_LOCK = threading.Lock()


def checkpoint_for(store: LadderStore) -> ProofCheckpoint:
    """The checkpoint shared by every proof of ``store`` in this process."""
    with _CHECKPOINTS_LOCK:
        found = _CHECKPOINTS.get(store)
        if found is None:
            found = _CHECKPOINTS[store] = ProofCheckpoint(store)
        return found
