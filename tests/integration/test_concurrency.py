"""
Several worker processes on the same learner at the same moment, on MariaDB and PostgreSQL: never
two active awards, two deliveries or two upstream badges. (The same learner evaluated for two
courses at once, each completing a stack: test_serialized_evaluation.py.) And workers evaluating
micro-batches of many learners at once (docs/decisions/0019): each learner decided once.

Each round takes a fresh learner whose facts are recorded (their evaluation not yet run). RACERS
processes, each ready with an open database connection, are released at once (agent.py, steps
with "race") to run the evaluation task's body for that learner, as workers given the same task
twice would; then to deliver the learner's deliveries; then to sign the awards. The first round's
signing, on the session's fresh database, also races to create the first signing key and the
first status list.
"""

from collections import Counter

import pytest

from .conftest import badges_ok

pytestmark = pytest.mark.integration

RACERS = 4
ROUNDS = 10


@pytest.mark.parametrize("engine", ["mysql", "postgresql"])
def test_parallel_workers_award_and_deliver_once(make_site, engine):
    site = make_site(engine)
    # One learner a task: each round races the same task for one learner (the batches of many
    # learners race below), while the other rounds' facts wait.
    racers = site.racers(RACERS, SANDBOX_EVALUATION_BATCH="1")  # they start while the LMS sets up
    setup = site.lms().setup(site.prefix, learners=ROUNDS, templates=site.templates(), facts=True)
    credentials = set(setup["credentials"])
    failures = []
    for user, email in zip(setup["users"], setup["emails"]):
        outcomes = site_race(racers, {"op": "evaluate", "user": user, "course": setup["course"]}, failures)
        awarded = Counter(slug for o in outcomes if o["ok"] for slug in o["result"]["awarded"])
        assert awarded == Counter({slug: 1 for slug in credentials}), outcomes
        state = site.state()
        mine = [a for a in state["awards"] if a["user"] == user]
        assert Counter(a["credential"] for a in mine) == Counter(credentials), mine
        assert all(a["current"] and a["status"] == "active" for a in mine)
        deliveries = [d for d in state["deliveries"] if d["award"] in {a["id"] for a in mine}]
        assert sorted(d["award"] for d in deliveries) == sorted(a["id"] for a in mine), deliveries

        outcomes = site_race(racers, {"op": "deliver_user", "user": user}, failures)
        # Each delivery was attempted by exactly one racer; the others found it claimed or done.
        per_delivery = list(zip(*[o["result"] for o in outcomes if o["ok"]]))
        assert all(sorted(filter(None, attempts)) == ["delivered"] for attempts in per_delivery), outcomes
        assert len(badges_ok(site, [email])) == 2

        outcomes = site_race(racers, {"op": "issue_user", "user": user}, failures)
        assert all(o["ok"] and o["result"] == [True, True] for o in outcomes), outcomes

    state = site.state()
    assert len(state["awards"]) == 2 * ROUNDS and all(a["signed"] for a in state["awards"])
    assert len(state["deliveries"]) == 2 * ROUNDS
    assert all(d["state"] == "delivered" and d["attempts"] == 1 for d in state["deliveries"]), state["deliveries"]
    assert state["pending_facts"] == 0
    badges_ok(site, setup["emails"])
    assert len(site.credly.requests_to("POST", r"/badges$")) == 2 * ROUNDS
    assert not failures, failures
    # Evaluations of one learner are serialized (a lock row per learner): the racers after the
    # first find the award made and never reach the unique constraint, which stays as the backstop.
    lost = sum(proc.output().count("already awarded") for proc in racers.procs)
    print(f"{engine}: {lost} award inserts refused by the constraint in {ROUNDS} rounds")
    assert lost == 0, site.diagnose()


BATCH_LEARNERS = 40


@pytest.mark.parametrize("engine", ["mysql", "postgresql"])
def test_parallel_batches_decide_each_learner_once(make_site, engine):
    """
    Every learner's facts wait; the racers, released at once, each run the task of another learner
    with batches of 10 facts: each batch takes the learners no other racer holds, and the rest
    are left to the next tasks. In the end every learner holds each credential once, nothing is
    pending, and no award insert was refused by the unique constraint.
    """
    site = make_site(engine)
    racers = site.racers(RACERS, SANDBOX_EVALUATION_BATCH="10")
    setup = site.lms().setup(site.prefix, learners=BATCH_LEARNERS, facts=True)
    users, failures, rounds = setup["users"], [], 0
    while site.state()["pending_facts"] and rounds < BATCH_LEARNERS:
        awarded = {a["user"] for a in site.state()["awards"]}
        left = [user for user in users if user not in awarded] or users
        site_race(racers, [{"op": "evaluate", "user": left[i % len(left)], "course": setup["course"]}
                           for i in range(RACERS)], failures)
        rounds += 1
    state = site.state()
    print(f"{engine}: {BATCH_LEARNERS} learners evaluated in {rounds} rounds of {RACERS} racing tasks")
    assert not failures, failures
    assert state["pending_facts"] == 0, state
    assert rounds < BATCH_LEARNERS / 2, f"{rounds} rounds of {RACERS} tasks for {BATCH_LEARNERS} learners"
    held = Counter((a["user"], a["credential"]) for a in state["awards"] if a["current"])
    assert held == Counter({(user, slug): 1 for user in users for slug in setup["credentials"]}), held
    refused = sum(proc.output().count("already awarded") for proc in racers.procs)
    assert refused == 0, site.diagnose()


def site_race(racers, step, failures):
    outcomes = racers.race(step)
    failures.extend((step, o["error"], o["traceback"]) for o in outcomes if not o["ok"])
    return outcomes
