"""
Recording learner facts: the write side of the event path.

A fact is replaced only by a newer event: events are ordered by (event time, event id), so an
out-of-order event never overwrites a newer fact and the same event twice changes nothing.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Exists, Q
from django.utils import timezone

from .models import LearnerFact, RejectedEvent

log = logging.getLogger(__name__)

# What happened to an event; receivers return these so senders (microcred_replay) can count them.
APPLIED = "applied"
UNCHANGED = "unchanged"  # newer event, same value: nothing to re-evaluate
STALE = "stale"  # older than the fact we hold
DUPLICATE = "duplicate"  # the very event we already hold
REJECTED = "rejected"
IGNORED = "ignored"  # not used: a retired learner's event


class InvalidEvent(ValueError):
    """An event whose payload cannot become a fact; the message says why."""


@dataclass(frozen=True)
class FactUpdate:
    user_id: int
    course_key: str
    kind: str
    value: dict
    event_id: str
    event_type: str
    event_time: datetime


def record_fact(update: FactUpdate) -> str:
    """Upsert the fact if the event is newer than what we hold; return what happened."""
    with transaction.atomic():
        lookup = {"user_id": update.user_id, "course_key": update.course_key, "kind": update.kind}
        fact = LearnerFact.objects.select_for_update().filter(**lookup).first()
        if fact is None:
            retired = _is_retired(update.user_id)
            if retired is None:
                raise InvalidEvent(f"unknown user id {update.user_id}")
            if retired:
                return IGNORED  # the learner's data was removed; a late event must not bring it back
            try:
                with transaction.atomic():
                    LearnerFact.objects.create(**lookup, **_event_fields(update), pending_since=timezone.now())
                return APPLIED
            except IntegrityError:
                # Another process inserted it between our read and write: compare with theirs.
                fact = LearnerFact.objects.select_for_update().get(**lookup)
        if fact.event_id == update.event_id:
            return DUPLICATE
        if (fact.event_time, fact.event_id) > (update.event_time, update.event_id):
            return STALE
        outcome = APPLIED if fact.value != update.value else UNCHANGED
        for name, value in _event_fields(update).items():
            setattr(fact, name, value)
        if outcome == APPLIED and fact.pending_since is None:
            fact.pending_since = timezone.now()
        fact.save()
        return outcome


def _is_retired(user_id):
    """None for an unknown user, else whether the learner was retired (one query, with the user check)."""
    from .models import RetirementRecord  # pylint: disable=import-outside-toplevel
    from .retirement import subject_hash  # pylint: disable=import-outside-toplevel

    retired = Exists(RetirementRecord.objects.filter(subject=subject_hash(user_id)))
    return get_user_model().objects.filter(pk=user_id).annotate(retired=retired).values_list(
        "retired", flat=True).first()


def _event_fields(update):
    return {
        "value": update.value,
        "event_id": update.event_id,
        "event_type": update.event_type,
        "event_time": update.event_time,
    }


def reject_event(event_type, reason, *, event_id="", event_time=None, payload=None):
    """Keep an event that could not be processed, with the reason, where an operator sees it."""
    log.warning("openedx-microcred rejected %s event %s: %s", event_type, event_id or "(no id)", reason)
    return RejectedEvent.objects.create(
        event_type=event_type, event_id=event_id or "", event_time=event_time, reason=reason, payload=payload
    )


# --- Evaluations whose task was lost ------------------------------------------------------------

# Seconds a fact may wait for its evaluation before the sweep queues it again.
PENDING_EVALUATION_AFTER = 600.0
SWEEP_LIMIT = 5000


def pending_facts(user_id, course_key=None):
    """The learner's facts awaiting evaluation (of one course, or all): (pk, event id) pairs."""
    facts = LearnerFact.objects.filter(user_id=user_id, pending_since__isnull=False)
    if course_key is not None:
        facts = facts.filter(course_key=course_key)
    return list(facts.values_list("pk", "event_id"))


def mark_evaluated(pending):
    """
    After an evaluation that read the facts ``pending`` (from ``pending_facts``, taken before it):
    they are evaluated, unless a newer event replaced one meanwhile (its own evaluation is due).
    """
    if not pending:
        return 0
    by_event = {}
    for pk, event_id in pending:
        by_event.setdefault(event_id, []).append(pk)
    query = None
    for event_id, pks in by_event.items():
        clause = Q(event_id=event_id, pk__in=pks)
        query = clause if query is None else query | clause
    return LearnerFact.objects.filter(query).update(pending_since=None)


def pending_wait(older_than=None):
    """How long queued work may wait before a sweep takes its task for lost: ``older_than`` seconds or the setting."""
    if older_than is None:
        older_than = getattr(settings, "MICROCRED_PENDING_EVALUATION_AFTER", PENDING_EVALUATION_AFTER)
    return timedelta(seconds=float(older_than))


def sweep_pending_evaluations(older_than=None, now=None):
    """
    Queue again the evaluation of every learner whose fact has waited longer than ``older_than``
    seconds (MICROCRED_PENDING_EVALUATION_AFTER, 600 by default): its task was lost (broker down
    when the event came, worker killed, database unreachable while it ran). The facts swept wait
    another period before the next sweep queues them again. Returns how many evaluations were queued.
    """
    from .handlers import enqueue_evaluation  # pylint: disable=import-outside-toplevel

    now = now or timezone.now()
    due = LearnerFact.objects.filter(pending_since__lte=now - pending_wait(older_than))
    pairs = list(due.order_by("pending_since").values_list("pk", "user_id", "course_key")[:SWEEP_LIMIT])
    LearnerFact.objects.filter(pk__in=[pk for pk, _, _ in pairs], pending_since__isnull=False).update(
        pending_since=now)
    learners = dict.fromkeys((user_id, str(course_key)) for _, user_id, course_key in pairs)
    for user_id, course_key in learners:
        enqueue_evaluation(user_id, course_key)
    return len(learners)
