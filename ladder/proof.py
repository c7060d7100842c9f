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
from dataclasses import dataclass
from typing import Any, Final

from sqlalchemy import select
from sqlalchemy.engine import Connection

from ladder.anchors import Anchor, newest
from ladder.audit import AuditVerdict, canonical_row, verify
from ladder.tables import PROJECTED_TABLES, audit_log

__all__ = ["BASELINE_ACTION", "ProofVerdict", "prove", "replay"]

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


def replay(conn: Connection) -> tuple[Rows, dict[tuple[str, int], int], list[str]]:
    """Rebuild the state tables from the log.

    Returns the rows by table and id, the ``seq`` that last touched each row, and
    problems found in the log itself (an update of a row never inserted, a late baseline).
    """
    rows: Rows = {t.name: {} for t in PROJECTED_TABLES}
    touched: dict[tuple[str, int], int] = {}
    problems: list[str] = []
    recorded_any = False
    for seq, action, payload_text in conn.execute(
        select(audit_log.c.seq, audit_log.c.action, audit_log.c.payload).order_by(
            audit_log.c.seq
        )
    ):
        payload = json.loads(payload_text)
        if action == BASELINE_ACTION:
            if recorded_any:
                problems.append(f"row {seq} is a baseline after rows that recorded changes")
                continue
            for table, snapshot in payload.get("snapshot", {}).items():
                for row in snapshot:
                    rows.setdefault(table, {})[int(row["id"])] = dict(row)
                    touched[(table, int(row["id"]))] = seq
            recorded_any = True
            continue
        for change in payload.get("changes", ()):
            recorded_any = True
            table = str(change["table"])
            target = rows.setdefault(table, {})
            if change["op"] == "insert":
                row = dict(change["row"])
                target[int(row["id"])] = row
                touched[(table, int(row["id"]))] = seq
            else:
                row_id = int(change["id"])
                if row_id not in target:
                    problems.append(f"row {seq} changes {table} {row_id}, which the log never "
                                    "inserted")
                    continue
                target[row_id].update(change["set"])
                touched[(table, row_id)] = seq
    return rows, touched, problems


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else repr(value)


def _compare(conn: Connection, replayed: Rows, touched: Mapping[tuple[str, int], int]) -> list[str]:
    problems: list[str] = []
    for table in PROJECTED_TABLES:
        stored = {
            int(r["id"]): canonical_row(r)
            for r in conn.execute(select(table).order_by(table.c.id)).mappings()
        }
        logged = replayed.get(table.name, {})
        for row_id in sorted(stored.keys() | logged.keys()):
            where = f"{table.name} id {row_id}"
            if row_id not in logged:
                problems.append(f"{where} is in the table but no audit row records it")
                continue
            last = touched.get((table.name, row_id))
            if row_id not in stored:
                problems.append(f"{where} is recorded by audit row {last} but missing from "
                                "the table: deleted")
                continue
            for column in sorted(stored[row_id]):
                have, want = stored[row_id][column], logged[row_id].get(column)
                if have != want:
                    problems.append(
                        f"{where}: {column} is {_show(have)} in the table but the log says "
                        f"{_show(want)} (last changed by audit row {last})"
                    )
    return problems


def _check_anchors(conn: Connection, chain: AuditVerdict, anchors: Iterable[Anchor]) -> list[str]:
    listed = list(anchors)
    wanted = {a.seq for a in listed if 0 < a.seq <= chain.head_seq}
    hashes = {
        int(seq): str(h)
        for seq, h in conn.execute(
            select(audit_log.c.seq, audit_log.c.hash).where(audit_log.c.seq.in_(wanted))
        )
    } if wanted else {}
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
    listed = list(anchors)
    chain = verify(conn, key=key)
    problems: list[str] = []
    if not chain.ok:
        problems.append(f"audit chain broken at row {chain.broken_seq}: {chain.reason}")
    problems += _check_anchors(conn, chain, listed)
    replayed, touched, log_problems = replay(conn)
    problems += log_problems
    problems += _compare(conn, replayed, touched)
    return ProofVerdict(chain, tuple(problems), newest(listed), len(listed))
