"""
Signal receivers: turn platform events into learner facts.

Each receiver is thin: validate the payload, upsert one LearnerFact and keep the event in the
learner's history, enqueue the learner's evaluation once the transaction commits, and return what
happened. Nothing here raises into the
platform's request: a payload that cannot be used is kept as a RejectedEvent with the reason.
"""

import logging
from datetime import datetime
from functools import partial

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save

from . import event_data, rules
from .app_settings import microcred_settings
from .dispatch import enqueue_evaluation
from .eventlog import serialize_event
from .facts import REJECTED, TO_EVALUATE, FactUpdate, InvalidEvent, record_fact, reject_event

log = logging.getLogger(__name__)

try:
    from openedx_events.tooling import SIGNAL_PROCESSED_FROM_EVENT_BUS
except ImportError:  # pragma: no cover  (older openedx-events: the keyword argument has this name)
    SIGNAL_PROCESSED_FROM_EVENT_BUS = "from_event_bus"

# What a receiver returns for an event it leaves to the event bus consumer (MICROCRED_EVENT_BUS_TOPICS).
LEFT_TO_EVENT_BUS = "left_to_event_bus"


def _serialized(signal, metadata, data_name, data):
    """The whole event as one event-log entry (eventlog.py), so a rejected event can be sent again."""
    try:
        return serialize_event(signal, metadata, **{data_name: data})
    except Exception:  # pylint: disable=broad-except  (whatever the serializer fails on, the event is kept)
        # Malformed in a way the event bus serializer cannot represent: keep what we can read
        # (reject_event makes it storable).
        return {"event_type": getattr(signal, "event_type", ""), "metadata": metadata, "data": data}


def _receive(kind, build, data_name):
    """Make a receiver that records the fact ``build(data)`` returns as (user_id, course_key, value)."""

    def receiver(signal, sender=None, metadata=None, **kwargs):  # pylint: disable=unused-argument  (the signal's)
        data = kwargs.get(data_name)
        event_type = getattr(signal, "event_type", "") or getattr(metadata, "event_type", "")
        if _left_to_event_bus(event_type, kwargs):
            return LEFT_TO_EVENT_BUS
        event_id = str(getattr(metadata, "id", "") or "")
        event_time = getattr(metadata, "time", None)
        try:
            if data is None:
                raise InvalidEvent(f"missing event data '{data_name}'")
            if not event_id or event_time is None:
                raise InvalidEvent("missing event metadata (id and time)")
            event_data.checked_event_id(event_id)
            user_id, course_key, value = build(data)
            update = FactUpdate(user_id, course_key, kind, value, event_id, event_type, event_time)
            outcome = record_fact(update)
        except Exception as exc:  # pylint: disable=broad-except  (a bad event is kept, never raised at its sender)
            if not isinstance(exc, (InvalidEvent, AttributeError, TypeError, ValueError)):
                log.exception("openedx-microcred failed to record %s event %s", event_type, event_id)
            reason = str(exc) if isinstance(exc, InvalidEvent) else f"{type(exc).__name__}: {exc}"
            _keep_rejected(event_type, reason, event_id=event_id, event_time=event_time,
                           payload=_serialized(signal, metadata, data_name, data))
            return REJECTED
        if outcome in TO_EVALUATE:
            transaction.on_commit(partial(enqueue_evaluation, update.user_id, update.course_key))
        return outcome

    receiver.__name__ = f"record_{kind}"
    return receiver


def _left_to_event_bus(event_type, kwargs):
    """
    Whether this process sends the event to the event bus on one of MICROCRED_EVENT_BUS_TOPICS, so
    that the consumer of that topic records and evaluates it (docs/event-bus.md) and this process
    does not. Events that come from the event bus are always recorded.
    """
    topics = microcred_settings.EVENT_BUS_TOPICS
    if not topics or kwargs.get(SIGNAL_PROCESSED_FROM_EVENT_BUS) or not getattr(settings, "EVENT_BUS_PRODUCER", None):
        return False
    produced = (getattr(settings, "EVENT_BUS_PRODUCER_CONFIG", None) or {}).get(event_type) or {}
    return any(topic in topics and (config or {}).get("enabled") is True for topic, config in produced.items())


def _keep_rejected(event_type, reason, **details):
    """Keep the rejected event; if even that fails (database down), the log is all that is left."""
    try:
        with transaction.atomic():
            reject_event(event_type, reason, **details)
    except Exception:  # pylint: disable=broad-except  (the log is the last record; the sender must not fail)
        log.exception("openedx-microcred could not keep rejected %s event %s (%s)",
                      event_type, details.get("event_id"), reason)


record_passing_status = _receive(rules.PASSING, event_data.passing_fact, "course_passing_status")
record_ccx_passing_status = _receive(rules.PASSING, event_data.ccx_passing_fact, "course_passing_status")
record_persistent_grade = _receive(rules.GRADE, event_data.grade_fact, "grade")
record_certificate = _receive(rules.CERTIFICATE, event_data.certificate_fact, "certificate")
record_certificate_revoked = _receive(rules.CERTIFICATE, event_data.certificate_revoked_fact, "certificate")
record_enrollment = _receive(rules.ENROLLMENT, event_data.enrollment_fact, "enrollment")
record_unenrollment = _receive(rules.ENROLLMENT, event_data.unenrollment_fact, "enrollment")


# --- edx-completion -------------------------------------------------------------------------------

COMPLETION_EVENT_TYPE = "completion.blockcompletion.saved"


def record_block_completion(sender, instance, **kwargs):
    """The receiver of BlockCompletion's post_save: the learner's count of completed blocks in the course."""
    modified = instance.modified
    event_id = f"blockcompletion:{instance.pk}:{modified.isoformat() if isinstance(modified, datetime) else modified}"
    try:
        user_id = event_data.checked_user_id(instance.user_id)
        course_key = event_data.checked_course_key(instance.context_key)
        if not instance.context_key.is_course:
            return None  # a library or other learning context: no course credentials there
        completed = sender.objects.filter(
            user_id=user_id, context_key=instance.context_key, completion__gte=1.0
        ).count()
        update = FactUpdate(user_id, course_key, rules.COMPLETION, {"completed_blocks": completed},
                            event_data.checked_event_id(event_id), COMPLETION_EVENT_TYPE, modified)
        outcome = record_fact(update)
    except Exception as exc:  # pylint: disable=broad-except  (a bad event is kept, never raised at its sender)
        reason = str(exc) if isinstance(exc, InvalidEvent) else f"{type(exc).__name__}: {exc}"
        _keep_rejected(COMPLETION_EVENT_TYPE, reason, event_id=event_id, event_time=modified,
                       payload={"block_key": instance.block_key, "user_id": instance.user_id,
                                "completion": instance.completion})
        return REJECTED
    if outcome in TO_EVALUATE:
        transaction.on_commit(partial(enqueue_evaluation, update.user_id, update.course_key))
    return outcome


def connect_completion_receiver():
    """Connect record_block_completion to BlockCompletion's post_save, where edx-completion is installed."""
    if not apps.is_installed("completion"):
        return
    # edx-completion is optional: its models can only be imported where it is installed.
    from completion.models import BlockCompletion  # pylint: disable=import-outside-toplevel  (optional app)

    post_save.connect(record_block_completion, sender=BlockCompletion,
                      dispatch_uid="openedx_microcred.record_block_completion")
