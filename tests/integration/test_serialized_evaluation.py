"""
One learner evaluated for two courses at the same moment by two processes, on MariaDB and
PostgreSQL: each course's credential completes an "any 2 of" stack, so the stack is awarded only by
an evaluation that sees the other's award. Evaluations of one learner are serialized (a lock row
per learner, taken first thing in the evaluation's transaction), so the second one to get the lock
decides from a view that includes the first one's award, every time.

MariaDB runs twice: with what Django asks for (READ COMMITTED) and with the server's own default,
REPEATABLE READ, whose snapshot is taken at the transaction's first read: the lock must come before
that read, or the second evaluation still decides from what it saw before it waited.
"""

from collections import Counter

import pytest

pytestmark = pytest.mark.integration

LEARNERS = 30


@pytest.mark.parametrize("engine, isolation", [("mysql", None), ("mysql", "repeatable read"),
                                               ("postgresql", None)])
def test_one_learner_evaluated_for_two_courses_at_once_gets_the_stack_every_time(make_site, engine, isolation):
    site = make_site(engine)
    racers = site.racers(2, SANDBOX_DB_ISOLATION=isolation)
    setup = site.lms().call({"op": "setup_two_courses", "prefix": site.prefix, "learners": LEARNERS})
    stack = setup["stack"]
    overlapped = 0
    failures = []
    for user in setup["users"]:
        outcomes = racers.race([{"op": "evaluate", "user": user, "course": course, "timed": True}
                                for course in setup["courses"]])
        failures.extend((user, o["error"], o["traceback"]) for o in outcomes if not o["ok"])
        results = [o["result"] for o in outcomes if o["ok"]]
        if len(results) == 2:
            first, second = sorted(results, key=lambda r: r["started"])
            overlapped += second["started"] < first["finished"]
    assert not failures, failures

    state = site.state()
    held = Counter((a["user"], a["credential"]) for a in state["awards"] if a["current"])
    without_stack = [user for user in setup["users"] if held[user, stack] != 1]
    print(f"{engine} ({isolation or 'read committed'}): {overlapped} of {LEARNERS} rounds overlapped; "
          f"{len(without_stack)} learners without the stack")
    assert not without_stack, f"{len(without_stack)} of {LEARNERS} learners did not get the stack: {without_stack}"
    assert all(count == 1 for count in held.values()), held
    assert len(held) == 3 * LEARNERS  # the two course credentials and the stack, each once
    assert state["pending_facts"] == 0
    # The two evaluations did run at the same time (the second started before the first finished).
    assert overlapped >= LEARNERS // 2, f"only {overlapped} of {LEARNERS} rounds overlapped: not a race"
