"""Celery tasks. Each is idempotent: running it twice leaves the same state as running it once."""

import logging

from celery import shared_task
from django.utils import timezone

from . import api, delivery, dispatch, evaluation, facts, issuance
from .catalog import sweep_learner_fan_outs
from .models import CourseDependency, Credential, ExternalCredential, ExternalDependency, LearnerFact

log = logging.getLogger(__name__)

# Learners evaluated by one run of evaluate_credential_learners_task before it hands over to the next.
LEARNER_CHUNK = 500


@shared_task(name=dispatch.EVALUATE_LEARNER, acks_late=True)
def evaluate_learner_task(user_id, course_key=None):
    """
    Evaluate the learner whose event in ``course_key`` queued this task, and in the same batch up
    to MICROCRED_EVALUATION_BATCH - 1 other learners whose facts wait (evaluation.evaluate_pending);
    the facts read are then no longer pending (if this task is lost, sweep_evaluations_task queues
    it again). With no course (an operator's re-evaluation), the learner alone, over their timeline.
    """
    if course_key is None:
        pending = facts.pending_facts(user_id)
        result = api.evaluate_learner(user_id, None)
        facts.mark_evaluated(pending)
        return {"awarded": result.awarded, "revoked": result.revoked}
    results = evaluation.evaluate_pending(user_id, course_key, evaluation.evaluation_batch())
    if results is None:
        # An earlier batch started after this task's event was recorded, so it read that fact:
        # nothing new to see. A burst of events queues one task each; the first evaluates many
        # learners' events, the others stop here (one query).
        return {"awarded": [], "revoked": [], "skipped": "nothing pending"}
    mine = next((result for result in results if result.user_id == user_id), None)
    return {"awarded": mine.awarded if mine else [], "revoked": mine.revoked if mine else [],
            "learners": len(results)}


@shared_task(name=dispatch.EVALUATE_CREDENTIAL_LEARNERS, acks_late=True)
def evaluate_credential_learners_task(credential_id, after_user_id=0):
    """
    Evaluate every learner with facts in the courses of a newly active credential (or external
    credentials of the issuers it requires), in chunks of
    LEARNER_CHUNK ordered by user id; each chunk queues the next, so no task runs for long and a
    lost one is resumed from where it stopped by queueing it again with the last user id.
    """
    courses = CourseDependency.objects.filter(credential_id=credential_id).values("course_key")
    # Learners with facts in its courses, and those holding external credentials of its issuers.
    issuers = ExternalDependency.objects.filter(credential_id=credential_id).values("issuer")
    with_facts = LearnerFact.objects.filter(course_key__in=courses, user_id__gt=after_user_id).order_by() \
        .values_list("user_id", flat=True)
    with_external = ExternalCredential.objects.filter(issuer__in=issuers, user_id__gt=after_user_id).order_by() \
        .values_list("user_id", flat=True)
    user_ids = list(with_facts.union(with_external).order_by("user_id")[:LEARNER_CHUNK])
    for user_id in user_ids:
        api.evaluate_learner(user_id)
    credential = Credential.objects.filter(pk=credential_id)
    if len(user_ids) == LEARNER_CHUNK:
        credential.update(learners_done_through=user_ids[-1], learners_pending_since=timezone.now())
        dispatch.queue_learner_fan_out(credential_id, user_ids[-1])
    else:
        credential.update(learners_done_through=user_ids[-1] if user_ids else after_user_id,
                          learners_pending_since=None)
    return len(user_ids)


@shared_task(name=dispatch.ISSUE_AWARD, acks_late=True, autoretry_for=(OSError,), retry_backoff=True,
             max_retries=5)
def issue_award_task(award_id):
    """Sign and store an award's Open Badges 3.0 credential (once: a second run changes nothing)."""
    try:
        issuance.issue_award(award_id)
    except ValueError as exc:
        # Nothing to retry: the award cannot be signed (no recipient address, or a retired learner).
        log.warning("openedx-microcred: award %s is not signed: %s", award_id, exc)


@shared_task(name=dispatch.DELIVER, acks_late=True)
def deliver_task(delivery_id):
    """One attempt at delivering an award (or its revocation) to a badge platform."""
    result = delivery.deliver(delivery_id)
    return result.state if result else None


@shared_task(name=dispatch.SWEEP_DELIVERIES)
def sweep_deliveries_task():
    """Periodic (Celery beat): queue the deliveries, and the signing of awards, whose task was lost."""
    return {"deliveries": delivery.sweep(), "signatures": issuance.sweep_unsigned()}


@shared_task(name=dispatch.SWEEP_EVALUATIONS)
def sweep_evaluations_task():
    """Periodic (Celery beat): queue again the evaluations whose task was lost (learners', publishing's fan-outs)."""
    return {"evaluations": facts.sweep_pending_evaluations(), "fan_outs": sweep_learner_fan_outs()}


@shared_task(name=dispatch.RECHECK_EXTERNAL_CREDENTIALS)
def recheck_external_credentials_task():
    """
    Periodic (Celery beat): read again the status lists of the external credentials learners added
    (once every MICROCRED_EXTERNAL_RECHECK_HOURS each); one revoked upstream stops counting, and the
    credentials that required it follow their revocation policy.
    """
    return api.recheck_external_credentials()
