"""
Recording learner facts: the write side of the event path.

A fact is replaced only by a newer event: events are ordered by (event time, event id), so an
out-of-order event never overwrites a newer fact and the same event twice changes nothing.
"""

import logging
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction

from .models import LearnerFact, RejectedEvent

log = logging.getLogger(__name__)

# What happened to an event; receivers return these so senders (microcred_replay) can count them.
APPLIED = "applied"
UNCHANGED = "unchanged"  # newer event, same value: nothing to re-evaluate
STALE = "stale"  # older than the fact we hold
DUPLICATE = "duplicate"  # the very event we already hold
REJECTED = "rejected"


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
            if not get_user_model().objects.filter(pk=update.user_id).exists():
                raise InvalidEvent(f"unknown user id {update.user_id}")
            try:
                with transaction.atomic():
                    LearnerFact.objects.create(**lookup, **_event_fields(update))
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
        fact.save()
        return outcome


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
