"""The audit log proves the state: replay it and compare with every state table.

Every write transaction records the rows it inserted and the values it set in the
payload of its audit rows (:func:`ladder.audit.record_insert`,
:func:`ladder.audit.record_update`). Replaying those changes in ``seq`` order rebuilds
each table of :data:`ladder.tables.PROJECTED_TABLES`; any row the replay does not
explain — a step set to ``approved`` behind the log's back, an approval inserted by
hand, a night deleted — is tampering. A store upgraded from a version that did not
record changes starts its replay at the ``store.baseline`` row the upgrade wrote, which
holds a snapshot of every state table at that moment.

:func:`prove` is what ``ladder audit verify`` prints and what ``approve``, ``reject``
and ``apply`` check before they act.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import Table, select
from sqlalchemy.engine import Connection

from ladder.anchors import Anchor, newest
from ladder.audit import AuditVerdict, ChainWalk, canonical_row, walk_chain
from ladder.tables import PROJECTED_TABLES, audit_log

__all__ = [
    "BASELINE_ACTION",
    "Projection",
    "ProofVerdict",
    "check_anchors",
    "compare_rows",
    "prove",
    "prove_with_state",
    "replay",
    "stored_rows",
]

#: The audit action whose payload holds a snapshot of every state table.
BASELINE_ACTION: Final = "store.baseline"
#: Differences listed in full; the rest are counted.
MAX_LISTED: Final = 20

Rows = dict[str, dict[int, dict[str, Any]]]


@dataclass(frozen=True)
class ProofVerdict:
    """Whether the log proves the state, and if not, every reason found.

    ``anchor`` is the newest anchor the head was checked against (``None`` when no
    anchor was found); ``problems`` lists what is wrong, first the chain, then anchors,
    then table rows the log does not explain.
    """

    chain: AuditVerdict
    problems: tuple[str, ...]
    anchor: Anchor | None = None
    anchors_checked: int = 0

    @property
    def ok(self) -> bool:
        """Nothing wrong was found."""
        return not self.problems

    def describe(self) -> str:
        """One paragraph for a refusal or the command line."""
        if self.ok:
            return f"the audit log ({self.chain.rows} rows) proves the state"
        shown = "; ".join(self.problems[:3])
        more = len(self.problems) - 3
        return shown + (f"; and {more} more" if more > 0 else "")


@dataclass
class Projection:
    """The state tables rebuilt from the log, one audit row at a time.

    ``rows`` are the rows by table and id, ``touched`` the ``seq`` that last changed each
    row, ``problems`` what is wrong in the log itself (an update of a row never inserted,
    a late baseline). :mod:`ladder.checkpoint` keeps one and applies new rows to it.
    """

    rows: Rows = field(default_factory=lambda: {t.name: {} for t in PROJECTED_TABLES})
    touched: dict[tuple[str, int], int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    recorded_any: bool = False

    def apply(self, seq: int, action: str, payload_text: str) -> set[tuple[str, int]]:
        """Apply audit row ``seq``; returns the (table, id) pairs it changed."""
        payload = json.loads(payload_text)
        changed: set[tuple[str, int]] = set()
        if action == BASELINE_ACTION:
            if self.recorded_any:
                self.problems.append(f"row {seq} is a baseline after rows that recorded changes")
                return changed
            for table, snapshot in payload.get("snapshot", {}).items():
                for row in snapshot:
                    self.rows.setdefault(table, {})[int(row["id"])] = dict(row)
                    changed.add((table, int(row["id"])))
            self.recorded_any = True
        for change in payload.get("changes", ()) if action != BASELINE_ACTION else ():
            self.recorded_any = True
            table = str(change["table"])
            target = self.rows.setdefault(table, {})
            if change["op"] == "insert":
                row = dict(change["row"])
                target[int(row["id"])] = row
                changed.add((table, int(row["id"])))
            else:
                row_id = int(change["id"])
                if row_id not in target:
                    self.problems.append(
                        f"row {seq} changes {table} {row_id}, which the log never inserted"
                    )
                    continue
                target[row_id].update(change["set"])
                changed.add((table, row_id))
        for key in changed:
            self.touched[key] = seq
        return changed

    def copy(self) -> Projection:
        """An independent copy (rows are copied one level deep, as :meth:`apply` edits)."""
        return Projection(
            {t: {i: dict(r) for i, r in rows.items()} for t, rows in self.rows.items()},
            dict(self.touched),
            list(self.problems),
            self.recorded_any,
        )


def replay(conn: Connection) -> tuple[Rows, dict[tuple[str, int], int], list[str]]:
    """Rebuild the state tables from the log.

    Returns the rows by table and id, the ``seq`` that last touched each row, and
    problems found in the log itself (an update of a row never inserted, a late baseline).
    """
    projection = _replayed(conn)
    return projection.rows, projection.touched, projection.problems


def _replayed(conn: Connection, after: int = 0, onto: Projection | None = None) -> Projection:
    projection = onto if onto is not None else Projection()
    for seq, action, payload_text in conn.execute(
        select(audit_log.c.seq, audit_log.c.action, audit_log.c.payload)
        .where(audit_log.c.seq > after)
        .order_by(audit_log.c.seq)
    ):
        projection.apply(seq, action, payload_text)
    return projection


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)


def compare_rows(
    table: Table,
    stored: Mapping[int, Mapping[str, Any]],
    projection: Projection,
    ids: Iterable[int],
) -> list[str]:
    """What differs between the stored rows ``ids`` of ``table`` (canonical, as
    :func:`~ladder.audit.canonical_row` gives them; missing = deleted) and the log's
    projection of them."""
    problems: list[str] = []
    logged = projection.rows.get(table.name, {})
    for row_id in sorted(ids):
        where = f"{table.name} id {row_id}"
        if row_id not in logged:
            problems.append(f"{where} is in the table but no audit row records it")
            continue
        last = projection.touched.get((table.name, row_id))
        if row_id not in stored:
            problems.append(
                f"{where} is recorded by audit row {last} but missing from the table: deleted"
            )
            continue
        for column in sorted(stored[row_id]):
            have, want = stored[row_id][column], logged[row_id].get(column)
            if have != want:
                problems.append(
                    f"{where}: {column} is {_show(have)} in the table but the log says "
                    f"{_show(want)} (last changed by audit row {last})"
                )
    return problems


def stored_rows(
    conn: Connection, table: Table, ids: Iterable[int] | None = None
) -> dict[int, dict[str, Any]]:
    """Rows of ``table`` (all, or only ``ids``) in canonical form, by id."""
    query = select(table).order_by(table.c.id)
    if ids is not None:
        query = query.where(table.c.id.in_(list(ids)))
    return {int(r["id"]): canonical_row(r) for r in conn.execute(query).mappings()}


def _compare(conn: Connection, projection: Projection) -> list[str]:
    problems: list[str] = []
    for table in PROJECTED_TABLES:
        stored = stored_rows(conn, table)
        ids = stored.keys() | projection.rows.get(table.name, {}).keys()
        problems += compare_rows(table, stored, projection, ids)
    return problems


def check_anchors(conn: Connection, chain: AuditVerdict, anchors: Iterable[Anchor]) -> list[str]:
    listed = list(anchors)
    wanted = {a.seq for a in listed if 0 < a.seq <= chain.head_seq}
    hashes = (
        {
            int(seq): str(h)
            for seq, h in conn.execute(
                select(audit_log.c.seq, audit_log.c.hash).where(audit_log.c.seq.in_(wanted))
            )
        }
        if wanted
        else {}
    )
    problems = []
    for anchor in sorted(listed, key=lambda a: -a.seq):
        if anchor.seq > chain.head_seq:
            problems.append(
                f"the log ends at row {chain.head_seq} but {anchor.source} recorded row "
                f"{anchor.seq}: rows deleted from the end"
            )
        elif anchor.seq and hashes.get(anchor.seq) != anchor.hash:
            problems.append(
                f"row {anchor.seq} differs from the head {anchor.source} recorded: the log "
                "was rewritten"
            )
    return problems


def prove(
    conn: Connection, *, key: bytes | None = None, anchors: Iterable[Anchor] = ()
) -> ProofVerdict:
    """Check the chain (and its keyed hashes with ``key``), the head against every
    anchor, and every state table against the replayed log. Run it in one snapshot
    (:meth:`ladder.store.LadderStore.read`)."""
    return prove_with_state(conn, key=key, anchors=anchors)[0]


def prove_with_state(
    conn: Connection, *, key: bytes | None = None, anchors: Iterable[Anchor] = ()
) -> tuple[ProofVerdict, ChainWalk, Projection]:
    """:func:`prove`, also returning the chain walk and the projection it ended with
    (what :mod:`ladder.checkpoint` resumes from)."""
    listed = list(anchors)
    chain, walk = walk_chain(conn, key=key)
    problems: list[str] = []
    if not chain.ok:
        problems.append(f"audit chain broken at row {chain.broken_seq}: {chain.reason}")
    problems += check_anchors(conn, chain, listed)
    projection = _replayed(conn)
    problems += projection.problems
    problems += _compare(conn, projection)
    return ProofVerdict(chain, tuple(problems), newest(listed), len(listed)), walk, projection
