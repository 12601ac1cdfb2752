"""
Faults a deployment meets, with real processes: a worker killed in the middle of an evaluation or
of a delivery, the broker gone while events arrive, the database refusing connections, the badge
platform failing. After recovery (the worker back, the sweeps of Celery beat run once), every
event's effect is there exactly once: one award per learner and credential, one delivery each, one
badge upstream each.
"""

import json
import os
import re
import signal
import time

import pytest

from .conftest import REDIS_PORT, assert_each_effect_once, wait_until

pytestmark = pytest.mark.integration


def setup_site(site, tmp_path, worker, learners=1, **lms_env):
    """
    The LMS process, the test's learners and credentials, and the file of their events. Once the
    worker (started before, to save time) is ready, it has run the two tasks that publishing the
    credentials queued (no learner to evaluate yet): they cannot get in the way of the test.
    """
    events = tmp_path / "events.jsonl"
    lms = site.lms(**lms_env)
    setup = lms.setup(site.prefix, learners=learners, templates=site.templates(), events=[(events, 0, learners, 0)])
    worker.wait_for_output(" ready.", timeout=60)
    done = re.compile(r"Task openedx_microcred\.evaluate_credential_learners\[[^]]+\] succeeded")
    # At least those two, and then quiet for a second: on a busy machine the worker may have run
    # them (and any other the set-up queued) before the first look.
    seen = {"count": -1, "since": time.monotonic()}

    def settled():
        count = len(done.findall(worker.output()))
        if count != seen["count"]:
            seen.update(count=count, since=time.monotonic())
        return count >= 2 and time.monotonic() - seen["since"] >= 1.0

    wait_until(settled, 30, worker.tail)
    return lms, setup, events


@pytest.mark.parametrize("engine, victim", [("postgresql", "worker"), ("mysql", "pool process")])
def test_worker_killed_mid_evaluation(make_site, tmp_path, engine, victim):
    """
    The evaluation is stopped inside its transaction (its award insert waits for ours), then the
    worker (parent and pool) or only its pool process is killed with SIGKILL. Its transaction is
    rolled back by the server. A killed worker never acknowledged the task (acks_late): the broker
    hands it to the next worker. A killed pool process's task is acknowledged by the parent
    (Celery's default without task_reject_on_worker_lost): lost, the fact stays pending and the
    evaluation sweep queues it again.
    """
    site = make_site(engine)
    worker = site.worker("worker-1", ready=False)  # starts while the LMS sets up
    lms, setup, events = setup_site(site, tmp_path, worker)
    user, (credential, _) = setup["users"][0], setup["credentials"]
    with site.db.holding_award(user, credential):
        lms.replay(events)  # two events: a grade, then the passing status
        # Both evaluations (one per event) wait: the first for our award, the second for the first.
        wait_until(lambda: site.db.lock_waits() >= 2, 30,
                   lambda: f"{site.db.lock_waits()} evaluations wait for the award lock\n{site.diagnose()}")
        if victim == "worker":
            worker.kill(signal.SIGKILL)
        else:
            pool = worker.children()
            assert pool, worker.tail()
            for pid in pool:
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)
    # Our transaction is rolled back; so is the dead evaluation's (nothing of it is committed).
    state = site.state()
    assert state["awards"] == [] and state["deliveries"] == [] and state["pending_facts"] == 2, state

    if victim == "worker":
        site.worker("worker-2")  # gets the unacknowledged tasks once the visibility timeout has passed
        state = site.wait_for_awards(expected=2)
    else:
        # The pool is replaced and nothing comes back by itself: the tasks were acknowledged.
        wait_until(lambda: len(worker.children()) == 2, 30, worker.tail)
        time.sleep(6)  # longer than the visibility timeout (5 s)
        state = site.state()
        assert state["awards"] == [] and state["pending_facts"] == 2, state
        assert "WorkerLostError" in worker.output(), worker.tail()
        assert re.search(r"Queued 1 evaluations", lms.sweep())
        state = site.wait_for_awards(expected=2)
    assert_each_effect_once(site, setup, state)


def test_worker_killed_mid_delivery(make_site, tmp_path):
    """
    Credly creates the badge but the answer never comes; the worker is killed while it waits. The
    row stays "sending"; the task comes back to the next worker but cannot claim it; the delivery
    sweep takes the stale row back as "outcome unknown", and the next attempt finds the badge
    upstream instead of making a second one.
    """
    site = make_site("postgresql")
    credly = site.credly
    credly.add_fault("hang", method="POST", path=r"/badges$", act_first=True, hang_for=60)
    worker = site.worker("worker-1", ready=False, SANDBOX_PLATFORM_ACCOUNTS=site_accounts(site, timeout=(2, 60)))
    lms, setup, events = setup_site(site, tmp_path, worker)
    lms.replay(events)
    # One delivery waits for Credly's answer; the other (the other credential's badge) is done.
    wait_until(lambda: sorted(d["state"] for d in site.state()["deliveries"]) == ["delivered", "sending"], 30,
               lambda: f"{site.state()}\n{site.diagnose()}")
    worker.kill(signal.SIGKILL)
    state = site.state()
    hung = [d for d in state["deliveries"] if d["state"] == "sending"]
    assert len(hung) == 1 and hung[0]["attempts"] == 1 and not hung[0]["external_id"], state
    assert len(credly.badges_of(setup["emails"][0])) == 2  # the hung request did make its badge

    site.worker("worker-2")
    time.sleep(3.5)  # the row is stale after 3 s (stale_sending)
    assert re.search(r"and 1 deliveries", lms.sweep())
    state = site.wait_for_awards(expected=2)
    assert_each_effect_once(site, setup, state)
    [taken_back] = [d for d in state["deliveries"] if d["id"] == hung[0]["id"]]
    assert taken_back["attempts"] == 2
    assert len(credly.requests_to("POST", r"/badges$")) == 2  # the hung one and the other credential's


def site_accounts(site, timeout):
    return json.dumps(site.accounts(timeout=timeout))


def test_broker_down_while_events_arrive(make_site, tmp_path):
    """
    The LMS and the worker reach Redis through a proxy that the test stops: the events still become
    facts (the receivers log the broker error and do not raise), the evaluations they would have
    queued are lost. Once the broker is back, the evaluation sweep queues them again.
    """
    site = make_site("mysql")
    redis_proxy = site.proxy("redis-proxy", REDIS_PORT)
    worker = site.worker("worker", broker_port=redis_proxy.port, ready=False)
    lms, setup, events = setup_site(site, tmp_path, worker, learners=2, broker_port=redis_proxy.port)
    redis_proxy.kill()
    replay = lms.replay(events)
    assert re.search(r"applied:\s+4\b", replay) and re.search(r"rejected:\s+0\b", replay), replay
    assert lms.log().count("could not queue the evaluation") == 4, lms.log()
    state = site.state()
    assert state["awards"] == [] and state["pending_facts"] == 4, state

    site.proxy("redis-proxy-again", REDIS_PORT, listen_port=redis_proxy.port)
    swept = lms.sweep()
    assert "Queued 2 evaluations" in swept, swept
    state = site.wait_for_awards(expected=4)
    assert_each_effect_once(site, setup, state)


def test_database_refuses_connections(make_site, tmp_path):
    """
    The worker reaches the database through a proxy that the test stops (the LMS still writes):
    first while evaluations come (they fail: lost), then while a delivery waits for Credly's answer
    (the badge is made upstream, the worker cannot record it). Once the database is back, the sweeps
    evaluate again and take the delivery back; the badge is found upstream, not made twice.
    """
    site = make_site("mysql")
    db_proxy = site.proxy("db-proxy", site.db.port)
    worker = site.worker("worker", db_port=db_proxy.port, ready=False)
    lms, setup, events = setup_site(site, tmp_path, worker)

    # 1. The database is gone for the worker while the LMS records the facts and queues evaluations.
    db_proxy.kill()
    lms.replay(events)
    failed = re.compile(r"Task openedx_microcred\.evaluate_learner\[[^]]+\] raised unexpected: OperationalError")
    wait_until(lambda: len(failed.findall(worker.output())) == 2, 30, worker.tail)
    state = site.state()
    assert state["awards"] == [] and state["pending_facts"] == 2, state
    db_proxy = site.proxy("db-proxy-again", site.db.port, listen_port=db_proxy.port)

    # 2. Back for the evaluation; gone again while a delivery waits for Credly's late answer.
    site.credly.add_fault("delay", method="POST", path=r"/badges$", hang_for=3)
    assert "Queued 1 evaluations" in lms.sweep()

    def one_waits_for_credly():
        state = site.state()
        return (len(state["awards"]) == 2 and all(a["signed"] for a in state["awards"])
                and any(d["state"] == "sending" for d in state["deliveries"]))

    wait_until(one_waits_for_credly, 30, lambda: f"{site.state()}\n{site.diagnose()}", interval=0.05)
    db_proxy.kill()
    # Credly answers (the badge is made) and the worker cannot record it.
    wait_until(lambda: len(site.credly.requests_to("POST", r"/badges$")) == 2, 30, site.diagnose)
    time.sleep(0.5)
    site.proxy("db-proxy-third", site.db.port, listen_port=db_proxy.port)
    state = site.state()
    unrecorded = [d for d in state["deliveries"] if d["state"] == "sending"]
    assert unrecorded and not any(d["external_id"] for d in unrecorded), state
    time.sleep(3.5)  # stale after 3 s
    assert re.search(rf"and {len(unrecorded)} deliveries", lms.sweep())
    state = site.wait_for_awards(expected=2)
    assert_each_effect_once(site, setup, state)


def test_platform_fails(make_site, tmp_path):
    """
    Credly answers 500, 429 with Retry-After, drops connections and lets requests time out (some
    after making the badge): the worker retries with backoff (tasks with a countdown) and looks up
    before sending again when the outcome is unknown.
    """
    site = make_site("postgresql")
    credly = site.credly
    credly.add_fault("error", method="POST", path=r"/badges$", status=500, times=2)
    credly.add_fault("error", method="POST", path=r"/badges$", status=429, retry_after="1", times=2)
    credly.add_fault("drop", method="POST", path=r"/badges$", act_first=True)
    credly.add_fault("hang", method="POST", path=r"/badges$", act_first=True, hang_for=3)
    credly.add_fault("error", method="GET", path=r"/badges$", status=503)  # the first look-up
    worker = site.worker("worker", ready=False, SANDBOX_PLATFORM_ACCOUNTS=site_accounts(site, timeout=(2, 1.5)))
    lms, setup, events = setup_site(site, tmp_path, worker, learners=4)
    lms.replay(events)
    state = site.wait_for_awards(expected=8, timeout=90)
    assert_each_effect_once(site, setup, state)
    assert sum(d["attempts"] for d in state["deliveries"]) >= 8 + 6, state["deliveries"]
    assert all(not f.times for f in credly.faults), credly.faults  # every fault was met
