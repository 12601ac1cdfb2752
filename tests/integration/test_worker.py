"""
A real deployment in miniature: an "LMS" process sends openedx-events, a Celery worker process
(Redis broker) evaluates, awards, signs and delivers to a badge platform (the fake Credly).
"""

import re
from collections import Counter

import pytest

from .conftest import assert_each_effect_once

pytestmark = pytest.mark.integration

TASK_DONE = re.compile(r"Task (openedx_microcred\.\w+)\[[0-9a-f-]+\] succeeded in [0-9.]+s: (.*)$", re.MULTILINE)


def finished_tasks(worker):
    """(task name, result text) of every task the worker finished."""
    return TASK_DONE.findall(worker.output())


@pytest.mark.parametrize("engine", ["mysql", "postgresql"])
def test_the_lms_sends_events_and_the_worker_awards_and_delivers(make_site, tmp_path, engine):
    # MICROCRED_CELERY_QUEUE routes the tasks to the LMS's high-priority queue; the worker consumes only that.
    site = make_site(engine, queue="edx.lms.core.high")
    first, second = tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    lms = site.lms()
    setup = lms.setup(site.prefix, learners=4, templates=site.templates(),
                      events=[(first, 0, 2, 0), (second, 2, 4, 60)])

    # 1. No worker yet: the LMS records the facts and queues one evaluation per changed fact, on the
    #    configured queue. It has eager Celery off and no badge platform: it cannot award or deliver.
    replay = lms.replay(first)
    assert re.search(r"applied:\s+4\b", replay), replay
    queued = Counter(site.queued_tasks("edx.lms.core.high"))
    assert queued["openedx_microcred.evaluate_learner"] == 4, queued
    assert site.queue_length("edx.lms.core.default") == 0
    state = site.state()
    assert state["awards"] == [] and state["facts"] == 4 and state["pending_facts"] == 4

    # 2. The worker starts and empties the queue: every award, signature and delivery happens there.
    worker = site.worker("worker", concurrency=2)
    site.wait_for_awards(expected=4)

    # 3. More events while the worker runs.
    lms.replay(second)
    state = site.wait_for_awards(expected=8)

    assert_each_effect_once(site, setup, state)
    assert len(state["awards"]) == 8

    # The worker did it all: 8 evaluations (one per event; the 2 queued when the credentials were
    # published ran there too, and may have awarded first), 8 signatures, 8 deliveries.
    done = finished_tasks(worker)
    tasks = Counter(name for name, _ in done)
    assert tasks["openedx_microcred.evaluate_learner"] == 8, done
    assert tasks["openedx_microcred.evaluate_credential_learners"] == 2, done
    assert sum(1 for name, _ in done if name == "openedx_microcred.issue_award") == 8
    assert [r for name, r in done if name == "openedx_microcred.deliver"] == ["'delivered'"] * 8
    assert site.queue_length("edx.lms.core.high") == 0
