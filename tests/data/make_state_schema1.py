"""Makes state-schema1.sql: run in a checkout of modelhealth 1dc7bce (ladder schema "1").

PYTHONPATH=.:tests python make_state_schema1.py state.db && sqlite3 state.db .dump
"""

import sys

from ladder_factories import HALLUCINATING_TEST_NIGHTS, Timeline, make_register

from ladder.actions import add_event, apply_step, approve
from ladder.store import LadderStore

store = LadderStore(f"sqlite:///{sys.argv[1]}")
tl = Timeline(store, make_register())
tl.healthy(1)
for breaches, mode in HALLUCINATING_TEST_NIGHTS:
    tl.play(breaches, mode=mode)
approve(
    store,
    tl.last.id,
    person="bob",
    register=tl.register,
    now=tl.office_hours(),
    reason="retrieval index is ready",
)
apply_step(store, tl.last.id, person="dave", register=tl.register, now=tl.office_hours(11))
add_event(
    store,
    kind="price_change",
    register=tl.register,
    person="carol",
    now=tl.office_hours(12),
    note="provider cut prices",
)
tl.healthy(2)
store.close()
