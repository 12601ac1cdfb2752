"""
Signal receivers: turn platform events into learner facts.

Each receiver is thin: validate the payload, upsert one LearnerFact and keep the event in the
learner's history, enqueue the learner's evaluation once the transaction commits, and return what
happened. Nothing here raises into the
platform's request: a payload that cannot be used is kept as a RejectedEvent with the reason.
"""

import logging
import math
from datetime import datetime
from functools import partial

from django.apps import apps
from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_save
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from . import rules
from .app_settings import microcred_settings
from .facts import REJECTED, TO_EVALUATE, FactUpdate, InvalidEvent, record_fact, reject_event, shown

log = logging.getLogger(__name__)

try:
    from openedx_events.tooling import SIGNAL_PROCESSED_FROM_EVENT_BUS
except ImportError:  # pragma: no cover  (older openedx-events: the keyword argument has this name)
    SIGNAL_PROCESSED_FROM_EVENT_BUS = "from_event_bus"

# What a receiver returns for an event it leaves to the event bus consumer (MICROCRED_EVENT_BUS_TOPICS).
LEFT_TO_EVENT_BUS = "left_to_event_bus"


# --- Validating what an event holds -------------------------------------------------------------
# openedx-events' data classes declare their fields' types but attrs does not check them, and the
# event bus consumer, microcred_replay or a misbehaving platform can send anything there: each field
# a receiver reads is checked here, never coerced ("false" is not False, True is not 100 %).

# Mode, letter grade and certificate status: the platform's columns for them are at most this long.
MAX_TEXT_LENGTH = 255
# The largest primary key any Django integer field (and database) holds.
MAX_USER_ID = 2 ** 63 - 1
# Longer than any course key; checked before opaque-keys parses it.
MAX_KEY_LENGTH = 1000


def _required(data, path):
    """The value at ``path`` ("user.id") of the event data; InvalidEvent if it or a part of it is missing."""
    value = data
    for name in path.split("."):
        value = getattr(value, name, None)
        if value is None:
            raise InvalidEvent(f"missing field {path}")
    return value


def _course_key(value):
    if isinstance(value, CourseKey):
        return str(value)
    if not isinstance(value, str) or len(value) > MAX_KEY_LENGTH:
        raise InvalidEvent(f"invalid course key {shown(value)}")
    try:
        return str(CourseKey.from_string(value))
    except InvalidKeyError as exc:
        raise InvalidEvent(f"invalid course key {shown(value)}") from exc


def _user_id(value):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_USER_ID:
        raise InvalidEvent(f"invalid user id {shown(value)}")
    return value


def _bool(value, name):
    if not isinstance(value, bool):
        raise InvalidEvent(f"{name} {shown(value)} is not true or false")
    return value


def _fraction(value, name):
    """A finite int or float in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidEvent(f"{name} {shown(value)} is not a number")
    if not math.isfinite(value):
        raise InvalidEvent(f"{name} {shown(value)} is not a finite number")
    if not 0 <= value <= 1:
        raise InvalidEvent(f"{name} {shown(value)} is not between 0 and 1")
    return float(value)


def _text(value, name):
    """Short text; None (the platform's "not set") is the empty string."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidEvent(f"{name} {shown(value)} is not text")
    if len(value) > MAX_TEXT_LENGTH:
        raise InvalidEvent(f"{name} {shown(value)} is longer than {MAX_TEXT_LENGTH} characters")
    if "\x00" in value:  # PostgreSQL refuses it in a JSON value
        raise InvalidEvent(f"{name} {shown(value)} holds a NUL character")
    return value


def _time_or_none(value, name):
    if value is not None and not isinstance(value, datetime):
        raise InvalidEvent(f"{name} {shown(value)} is not a time")
    return value


def _event_id(value):
    event_id = str(value or "")
    if len(event_id) > 100:
        raise InvalidEvent(f"event id {shown(event_id)} is longer than 100 characters")
    return event_id


def _serialized(signal, metadata, data_name, data):
    """The whole event as one event-log entry (eventlog.py), so a rejected event can be sent again."""
    from .eventlog import serialize_event  # pylint: disable=import-outside-toplevel

    try:
        return serialize_event(signal, metadata, **{data_name: data})
    except Exception:  # pylint: disable=broad-except
        # Malformed in a way the event bus serializer cannot represent: keep what we can read
        # (reject_event makes it storable).
        return {"event_type": getattr(signal, "event_type", ""), "metadata": metadata, "data": data}


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
            _event_id(event_id)
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
    return _user_id(_required(data, "user.id")), _course_key(_required(data, "course.course_key")), {
        "passed": _bool(_required(data, "is_passing"), "is_passing")
    }


def _ccx_passing(data):
    # A CCX is a course of its own: the fact is kept under the CCX key, which credentials can name.
    return _user_id(_required(data, "user.id")), _course_key(_required(data, "course.ccx_course_key")), {
        "passed": _bool(_required(data, "is_passing"), "is_passing")
    }


def _grade(data):
    return _user_id(_required(data, "user_id")), _course_key(_required(data, "course.course_key")), {
        "percent": _fraction(_required(data, "percent_grade"), "percent_grade"),
        "letter": _text(data.letter_grade, "letter_grade"),
        # edx-platform sets passed_timestamp when the learner passes and clears it when they no longer do.
        "passed": _time_or_none(data.passed_timestamp, "passed_timestamp") is not None,
    }


def _certificate(data):
    return _user_id(_required(data, "user.id")), _course_key(_required(data, "course.course_key")), {
        "status": _text(_required(data, "current_status"), "current_status"),
        "mode": _text(data.mode, "mode"),
    }


def _certificate_revoked(data):
    user_id, course_key, value = _certificate(data)
    if value["status"] == rules.CERTIFICATE_EARNED_STATUS:
        value["status"] = "revoked"
    return user_id, course_key, value


def _enrollment(data):
    return _user_id(_required(data, "user.id")), _course_key(_required(data, "course.course_key")), {
        "mode": _text(data.mode, "mode"),
        "is_active": _bool(data.is_active, "is_active"),
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
    modified = instance.modified
    event_id = f"blockcompletion:{instance.pk}:{modified.isoformat() if isinstance(modified, datetime) else modified}"
    try:
        user_id, course_key = _user_id(instance.user_id), _course_key(instance.context_key)
        if not instance.context_key.is_course:
            return None  # a library or other learning context: no course credentials there
        completed = sender.objects.filter(
            user_id=user_id, context_key=instance.context_key, completion__gte=1.0
        ).count()
        update = FactUpdate(user_id, course_key, rules.COMPLETION, {"completed_blocks": completed},
                            _event_id(event_id), COMPLETION_EVENT_TYPE, modified)
        outcome = record_fact(update)
    except Exception as exc:  # pylint: disable=broad-except
        reason = str(exc) if isinstance(exc, InvalidEvent) else f"{type(exc).__name__}: {exc}"
        _keep_rejected(COMPLETION_EVENT_TYPE, reason, event_id=event_id, event_time=modified,
                       payload={"block_key": instance.block_key, "user_id": instance.user_id,
                                "completion": instance.completion})
        return REJECTED
    if outcome in TO_EVALUATE:
        transaction.on_commit(partial(enqueue_evaluation, update.user_id, update.course_key))
    return outcome


def connect_completion_receiver():
    if not apps.is_installed("completion"):
        return
    from completion.models import BlockCompletion  # pylint: disable=import-outside-toplevel

    post_save.connect(record_block_completion, sender=BlockCompletion,
                      dispatch_uid="openedx_microcred.record_block_completion")
