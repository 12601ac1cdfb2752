"""
Signal receivers: turn platform events into learner facts.

Each receiver is thin: validate the payload, upsert one LearnerFact, enqueue the learner's
evaluation once the transaction commits, and return what happened. Nothing here raises into the
platform's request: a payload that cannot be used is kept as a RejectedEvent with the reason.
"""

import logging
from functools import partial

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from . import rules
from .facts import APPLIED, REJECTED, FactUpdate, InvalidEvent, record_fact, reject_event

log = logging.getLogger(__name__)

try:
    from openedx_events.tooling import SIGNAL_PROCESSED_FROM_EVENT_BUS
except ImportError:  # pragma: no cover  (older openedx-events: the keyword argument has this name)
    SIGNAL_PROCESSED_FROM_EVENT_BUS = "from_event_bus"

# What a receiver returns for an event it leaves to the event bus consumer (MICROCRED_EVENT_BUS_TOPICS).
LEFT_TO_EVENT_BUS = "left_to_event_bus"


def _course_key(value):
    if isinstance(value, CourseKey):
        return str(value)
    try:
        return str(CourseKey.from_string(str(value)))
    except InvalidKeyError as exc:
        raise InvalidEvent(f"invalid course key {value!r}") from exc


def _user_id(value):
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidEvent(f"invalid user id {value!r}")
    return value


def _required(value, name):
    if value is None:
        raise InvalidEvent(f"missing field {name}")
    return value


def _serialized(signal, metadata, data_name, data):
    """The whole event as one event-log entry (eventlog.py), so a rejected event can be sent again."""
    from .eventlog import serialize_event  # pylint: disable=import-outside-toplevel

    try:
        return serialize_event(signal, metadata, **{data_name: data})
    except Exception:  # pylint: disable=broad-except
        # Malformed in a way the event bus serializer cannot represent: keep what we can read.
        return {"event_type": getattr(signal, "event_type", ""), "repr": repr(data)[:10000]}


def _receive(kind, build, data_name):
    """Make a receiver that records the fact ``build(data)`` returns as (user_id, course_key, value)."""

    def receiver(signal, sender=None, metadata=None, **kwargs):  # pylint: disable=unused-argument
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
            user_id, course_key, value = build(data)
            update = FactUpdate(user_id, course_key, kind, value, event_id, event_type, event_time)
            outcome = record_fact(update)
        except Exception as exc:  # pylint: disable=broad-except
            if not isinstance(exc, (InvalidEvent, AttributeError, TypeError, ValueError)):
                log.exception("openedx-microcred failed to record %s event %s", event_type, event_id)
            reason = str(exc) if isinstance(exc, InvalidEvent) else f"{type(exc).__name__}: {exc}"
            _keep_rejected(event_type, reason, event_id=event_id, event_time=event_time,
                           payload=_serialized(signal, metadata, data_name, data))
            return REJECTED
        if outcome == APPLIED:
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
    topics = getattr(settings, "MICROCRED_EVENT_BUS_TOPICS", None)
    if not topics or kwargs.get(SIGNAL_PROCESSED_FROM_EVENT_BUS) or not getattr(settings, "EVENT_BUS_PRODUCER", None):
        return False
    produced = (getattr(settings, "EVENT_BUS_PRODUCER_CONFIG", None) or {}).get(event_type) or {}
    return any(topic in topics and (config or {}).get("enabled") is True for topic, config in produced.items())


def _keep_rejected(event_type, reason, **details):
    """Keep the rejected event; if even that fails (database down), the log is all that is left."""
    try:
        with transaction.atomic():
            reject_event(event_type, reason, **details)
    except Exception:  # pylint: disable=broad-except
        log.exception("openedx-microcred could not keep rejected %s event %s (%s)",
                      event_type, details.get("event_id"), reason)


def enqueue_evaluation(user_id, course_key):
    """Queue the learner's evaluation; a broker failure is logged, never raised into the request."""
    from .tasks import evaluate_learner_task, task_routing  # pylint: disable=import-outside-toplevel

    try:
        evaluate_learner_task.apply_async(args=(user_id, course_key), **task_routing())
    except Exception:  # pylint: disable=broad-except
        log.exception("openedx-microcred could not queue the evaluation of user %s in %s", user_id, course_key)


# --- What each event means ----------------------------------------------------------------------


def _passing(data):
    user = _required(data.user, "user")
    return _user_id(user.id), _course_key(_required(data.course, "course").course_key), {
        "passed": bool(_required(data.is_passing, "is_passing"))
    }


def _ccx_passing(data):
    # A CCX is a course of its own: the fact is kept under the CCX key, which credentials can name.
    user = _required(data.user, "user")
    course = _required(data.course, "course")
    return _user_id(user.id), _course_key(_required(course.ccx_course_key, "course.ccx_course_key")), {
        "passed": bool(_required(data.is_passing, "is_passing"))
    }


def _grade(data):
    percent = _required(data.percent_grade, "percent_grade")
    if not 0 <= float(percent) <= 1:
        raise InvalidEvent(f"percent_grade {percent!r} is not between 0 and 1")
    return _user_id(data.user_id), _course_key(_required(data.course, "course").course_key), {
        "percent": float(percent),
        "letter": data.letter_grade or "",
        # edx-platform sets passed_timestamp when the learner passes and clears it when they no longer do.
        "passed": data.passed_timestamp is not None,
    }


def _certificate(data):
    user = _required(data.user, "user")
    return _user_id(user.id), _course_key(_required(data.course, "course").course_key), {
        "status": _required(data.current_status, "current_status"),
        "mode": data.mode or "",
    }


def _certificate_revoked(data):
    user_id, course_key, value = _certificate(data)
    if value["status"] == rules.CERTIFICATE_EARNED_STATUS:
        value["status"] = "revoked"
    return user_id, course_key, value


def _enrollment(data):
    user = _required(data.user, "user")
    return _user_id(user.id), _course_key(_required(data.course, "course").course_key), {
        "mode": data.mode or "",
        "is_active": bool(data.is_active),
    }


def _unenrollment(data):
    user_id, course_key, value = _enrollment(data)
    value["is_active"] = False
    return user_id, course_key, value


record_passing_status = _receive(rules.PASSING, _passing, "course_passing_status")
record_ccx_passing_status = _receive(rules.PASSING, _ccx_passing, "course_passing_status")
record_persistent_grade = _receive(rules.GRADE, _grade, "grade")
record_certificate = _receive(rules.CERTIFICATE, _certificate, "certificate")
record_certificate_revoked = _receive(rules.CERTIFICATE, _certificate_revoked, "certificate")
record_enrollment = _receive(rules.ENROLLMENT, _enrollment, "enrollment")
record_unenrollment = _receive(rules.ENROLLMENT, _unenrollment, "enrollment")


# --- edx-completion -------------------------------------------------------------------------------

COMPLETION_EVENT_TYPE = "completion.blockcompletion.saved"


def record_block_completion(sender, instance, **kwargs):  # pylint: disable=unused-argument
    """BlockCompletion post_save: the learner's count of completed blocks in the course."""
    event_id = f"blockcompletion:{instance.pk}:{instance.modified.isoformat()}"
    try:
        course_key = _course_key(instance.context_key)
        if not instance.context_key.is_course:
            return None  # a library or other learning context: no course credentials there
        completed = sender.objects.filter(
            user_id=instance.user_id, context_key=instance.context_key, completion__gte=1.0
        ).count()
        update = FactUpdate(_user_id(instance.user_id), course_key, rules.COMPLETION, {"completed_blocks": completed},
                            event_id, COMPLETION_EVENT_TYPE, instance.modified)
        outcome = record_fact(update)
    except Exception as exc:  # pylint: disable=broad-except
        reason = str(exc) if isinstance(exc, InvalidEvent) else f"{type(exc).__name__}: {exc}"
        _keep_rejected(COMPLETION_EVENT_TYPE, reason, event_id=event_id, event_time=instance.modified,
                       payload={"block_key": str(instance.block_key), "user_id": instance.user_id,
                                "completion": instance.completion})
        return REJECTED
    if outcome == APPLIED:
        transaction.on_commit(partial(enqueue_evaluation, update.user_id, update.course_key))
    return outcome


def connect_completion_receiver():
    if not apps.is_installed("completion"):
        return
    from completion.models import BlockCompletion  # pylint: disable=import-outside-toplevel

    post_save.connect(record_block_completion, sender=BlockCompletion,
                      dispatch_uid="openedx_microcred.record_block_completion")
