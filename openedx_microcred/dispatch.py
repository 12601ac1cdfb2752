"""
Queueing the plugin's Celery tasks: the one place that sends them, by name.

The services that decide work is due (a fact changed, an award was made, a delivery is owed, a
credential was published) sit below ``tasks`` in the layers (docs/architecture.md), so they cannot
import its task objects; they ask for a task by its registered name here instead. A task registered
in this process (a worker, the sandbox, tests with eager Celery) is applied through its own
``apply_async``; one that is not (an LMS web process whose Celery app never imported
``openedx_microcred.tasks``) is sent to the broker by name, which is all a worker needs.

Queueing never raises into the caller: a broker that is down is logged, and the pending markers the
callers wrote (a fact's ``pending_since``, an unsigned award, a delivery row) let the sweeps below
queue the work again once it is up.
"""

import logging
from datetime import timedelta

from celery import current_app

from .app_settings import microcred_settings

log = logging.getLogger(__name__)

# The registered names of the tasks (tasks.py registers each under its name).
EVALUATE_LEARNER = "openedx_microcred.evaluate_learner"
EVALUATE_CREDENTIAL_LEARNERS = "openedx_microcred.evaluate_credential_learners"
ISSUE_AWARD = "openedx_microcred.issue_award"
DELIVER = "openedx_microcred.deliver"
SWEEP_DELIVERIES = "openedx_microcred.sweep_deliveries"
SWEEP_EVALUATIONS = "openedx_microcred.sweep_evaluations"
RECHECK_EXTERNAL_CREDENTIALS = "openedx_microcred.recheck_external_credentials"

# The most items one sweep queues again; the next sweep takes the rest.
SWEEP_LIMIT = 5000


def task_routing() -> dict:
    """apply_async options that send our tasks to MICROCRED_CELERY_QUEUE (the default queue if unset)."""
    queue = microcred_settings.CELERY_QUEUE
    return {"queue": queue} if queue else {}


def pending_wait(older_than=None) -> timedelta:
    """How long queued work may wait before a sweep takes its task for lost: ``older_than`` seconds or the setting."""
    if older_than is None:
        older_than = microcred_settings.PENDING_EVALUATION_AFTER
    return timedelta(seconds=float(older_than))


def send_task(name, args, what, countdown=None) -> bool:
    """
    Queue task ``name`` with ``args`` on the plugin's queue; False (and logged, naming ``what``) if
    the broker refused it. ``countdown``: seconds the task waits before it runs.
    """
    options = task_routing()
    if countdown:
        options["countdown"] = countdown
    try:
        task = current_app.tasks.get(name)
        if task is not None:
            task.apply_async(args=args, **options)
        else:
            current_app.send_task(name, args=args, **options)
    except Exception:  # pylint: disable=broad-except  (any broker error; the sweeps queue the work again)
        log.exception("openedx-microcred could not queue %s", what)
        return False
    return True


def enqueue_evaluation(user_id, course_key):
    """Queue the learner's evaluation (of the credentials an event in ``course_key`` can change; all if None)."""
    send_task(EVALUATE_LEARNER, (user_id, course_key),
              f"the evaluation of user {user_id} in {course_key}")


def queue_learner_fan_out(credential_id, after_user_id):
    """Queue the next chunk of a credential's learners, after ``after_user_id``."""
    send_task(EVALUATE_CREDENTIAL_LEARNERS, (credential_id, after_user_id),
              f"the evaluation of the learners of credential {credential_id}")


def queue_signing(award_pk):
    """Sign the award's Open Badges credential in a task: signing is not the evaluation's job."""
    send_task(ISSUE_AWARD, (award_pk,), f"the issuing of award {award_pk}")


def enqueue_delivery(delivery_id, countdown=None):
    """Queue one attempt at a delivery; if the broker refuses it, the delivery sweep picks the row up."""
    send_task(DELIVER, (delivery_id,), f"delivery {delivery_id}; the sweep will", countdown=countdown)
