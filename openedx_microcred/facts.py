"""
Recording learner facts: the write side of the event path.

Every event is kept in the learner's history (LearnerEvent, insert-only), and the fact it speaks
of (LearnerFact, the newest value per learner, course and kind) is replaced only by a newer event:
events are ordered by (event time, event id), so an out-of-order event never overwrites a newer
fact and the same event twice changes nothing. An event older than the fact held is still placed
in the history, where the evaluation finds it and re-derives the learner over the timeline
(docs/decisions/0016).
"""

import json
import logging
import math
import reprlib
from dataclasses import dataclass
from datetime import date, datetime

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, OuterRef, Q
from django.db.models.functions import Cast
from django.utils import timezone

from . import eventlog
from .app_settings import microcred_settings
from .dispatch import SWEEP_LIMIT, enqueue_evaluation, pending_wait
from .limits import MAX_EVENT_LINE_BYTES, MAX_JSON_DEPTH, loads_bounded
from .models import LearnerEvent, LearnerFact, RejectedEvent, RetirementRecord, subject_hash

log = logging.getLogger(__name__)

# What happened to an event; receivers return these so senders (microcred_replay) can count them.
APPLIED = "applied"
UNCHANGED = "unchanged"  # newer event, same value (its time still counts: course_passed reads the newest)
STALE = "stale"  # older than the fact we hold: kept in the history only
DUPLICATE = "duplicate"  # an event we already hold
REJECTED = "rejected"
IGNORED = "ignored"  # not used: a retired learner's event


class InvalidEvent(ValueError):
    """An event whose payload cannot become a fact; the message says why."""


def check_event_time(event_time, now=None):
    """
    Raise InvalidEvent unless ``event_time`` is a time with a time zone, no further ahead of this
    server's clock than MICROCRED_MAX_EVENT_CLOCK_SKEW seconds: a fact is replaced only by a newer
    event, so one event dated years ahead would hold its fact against every real event after it.
    """
    if not isinstance(event_time, datetime):
        raise InvalidEvent(f"event time {shown(event_time)} is not a time")
    if event_time.utcoffset() is None:
        raise InvalidEvent(f"event time {event_time.isoformat()} has no time zone")
    skew = float(microcred_settings.MAX_EVENT_CLOCK_SKEW)
    now = now or timezone.now()
    # A difference, not now + skew: that overflows datetime for a huge setting.
    if (event_time - now).total_seconds() > skew:
        raise InvalidEvent(
            f"event time {event_time.isoformat()} is more than {skew:g} seconds ahead of this server's clock "
            f"({now.isoformat(timespec='seconds')}; MICROCRED_MAX_EVENT_CLOCK_SKEW)")


_SHORT = reprlib.Repr()
_SHORT.maxstring = _SHORT.maxother = 60


def shown(value):
    """``repr(value)`` cut short, for a reason: whatever the event holds, the message stays readable."""
    return _SHORT.repr(value)


@dataclass(frozen=True)
class FactUpdate:
    """A new value of one learner fact, with the event that brought it (what record_fact stores and logs)."""

    user_id: int
    course_key: str
    kind: str
    value: dict
    event_id: str
    event_type: str
    event_time: datetime


# What needs the learner evaluated again: every event not held before (a late one changes the timeline).
TO_EVALUATE = (APPLIED, UNCHANGED, STALE)


def record_fact(update: FactUpdate) -> str:
    """Keep the event in the history, upsert the fact if the event is newer than what we hold; return what happened."""
    check_event_time(update.event_time)
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
                _keep_in_history(update)
                return APPLIED
            except IntegrityError:
                # Another process inserted it between our read and write: compare with theirs.
                fact = LearnerFact.objects.select_for_update().get(**lookup)
        if fact.event_id == update.event_id:
            return DUPLICATE
        if (fact.event_time, fact.event_id) > (update.event_time, update.event_id):
            # Late: the rare path, where a duplicate must be told apart from a new event (one read).
            if LearnerEvent.objects.filter(**lookup, event_id=update.event_id).exists():
                return DUPLICATE
            _keep_in_history(update)
            if fact.pending_since is None:
                LearnerFact.objects.filter(pk=fact.pk).update(pending_since=timezone.now())
            return STALE
        outcome = APPLIED if fact.value != update.value else UNCHANGED
        for name, value in _event_fields(update).items():
            setattr(fact, name, value)
        if fact.pending_since is None:
            fact.pending_since = timezone.now()
        fact.save()
        _keep_in_history(update)
        return outcome


def _keep_in_history(update):
    """One insert, never a read: an event already kept (the same id for the same fact) is left as it is."""
    LearnerEvent.objects.bulk_create([history_row(update)], ignore_conflicts=True)


def history_row(update: FactUpdate) -> LearnerEvent:
    """The LearnerEvent row that keeps ``update`` in the learner's event history."""
    return LearnerEvent(user_id=update.user_id, course_key=update.course_key, kind=update.kind,
                        **_event_fields(update))


def _is_retired(user_id):
    """None for an unknown user, else whether the learner was retired (one query, with the user check)."""
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
    """
    Keep an event that could not be processed, with the reason, where an operator sees it.

    Whatever the event holds, it is kept: the payload is made storable (``_storable``), and if the
    row still cannot be written, a row without the payload (its repr, cut short) is kept instead.
    """
    event_type, event_id, reason = _column(event_type, 255), _column(event_id or "", 100), _column(reason, 10000)
    log.warning("openedx-microcred rejected %s event %s: %s", event_type, event_id or "(no id)", reason)
    if not (isinstance(event_time, datetime) and event_time.utcoffset() is not None):
        event_time = None  # the reason says what it was
    fields = {"event_type": event_type, "event_id": event_id, "event_time": event_time, "reason": reason}
    try:
        with transaction.atomic():
            return RejectedEvent.objects.create(**fields, payload=_storable(payload))
    except Exception:  # pylint: disable=broad-except  (whatever the payload breaks, the rejection is kept)
        log.warning("openedx-microcred rejected %s event %s kept without its payload", event_type,
                    event_id or "(no id)", exc_info=True)
    with transaction.atomic():
        return RejectedEvent.objects.create(**fields, payload={"unstorable": _LONG.repr(payload)[:UNSTORABLE_CHARS]})


# A payload whose JSON is longer than this is kept cut short: no event is near it (a few kB), and
# the admin shows the payload whole.
MAX_PAYLOAD_CHARS = 100_000
UNSTORABLE_CHARS = 10_000
# Deeper than this, a value is kept as its repr: json (and the databases' JSON parsers) stop far
# sooner than Python's recursion limit allows a payload to nest.
_MAX_DEPTH = 32

_LONG = reprlib.Repr()
_LONG.maxlevel, _LONG.maxdict, _LONG.maxlist, _LONG.maxtuple = 8, 100, 100, 100
_LONG.maxstring = _LONG.maxother = _LONG.maxlong = 2000


def _column(value, length):
    return _text(value if isinstance(value, str) else str(value))[:length]


def _text(value):
    """
    A string every database stores: no NUL (PostgreSQL refuses it in text and JSON) and no lone
    surrogate (not encodable as UTF-8), each written as its escape instead.
    """
    if "\x00" in value:
        value = value.replace("\x00", "\\x00")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "backslashreplace").decode("utf-8")
    return value


def _storable(payload):
    """
    The payload as JSON every database accepts: NaN and the infinities as "NaN", "Infinity" and
    "-Infinity" (Python's json writes them, the JSON_VALID check of SQLite and MariaDB refuses
    them), times as ISO 8601, other objects as their str; cut short, with a note, when too big.
    """
    try:
        value = _json_value(payload, 0)
        text = json.dumps(value, allow_nan=False)
    except (RecursionError, TypeError, ValueError) as exc:
        text, value = None, f"{type(exc).__name__}: {exc}"
    if text is not None and len(text) <= MAX_PAYLOAD_CHARS:
        return value
    kept = text if text is not None else _LONG.repr(payload)
    return {"truncated": kept[:MAX_PAYLOAD_CHARS],
            "note": f"payload of {len(kept)} characters cut to {MAX_PAYLOAD_CHARS}" if text is not None
            else f"payload not JSON ({value}): its repr, cut short"}


def _json_value(value, depth):  # pylint: disable=too-many-return-statements  (one return per JSON type)
    """The JSON the event history keeps of ``value``: oversized, deep or foreign values replaced by a note."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return value if value.bit_length() <= 256 else f"<integer of {value.bit_length()} bits>"
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, str):
        return _text(value)
    if depth >= _MAX_DEPTH:
        return _text(_LONG.repr(value))
    if isinstance(value, dict):
        return {_text(key) if isinstance(key, str) else _text(str(_json_value(key, depth + 1))):
                _json_value(item, depth + 1) for key, item in value.items()}
    fields = getattr(type(value), "__attrs_attrs__", None)  # openedx-events data, held as it came
    if fields is not None:
        return {field.name: _json_value(getattr(value, field.name, None), depth + 1) for field in fields}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_json_value(item, depth + 1) for item in value]
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bytes, bytearray)):
        return _text(bytes(value).decode("utf-8", "backslashreplace"))
    try:
        return _text(str(value))
    except Exception:  # pylint: disable=broad-except  (any object's __str__ may raise anything)
        return _text(_LONG.repr(value))


# --- Evaluations whose task was lost ------------------------------------------------------------

def pending_facts(user_id, course_key=None):
    """The learner's facts awaiting evaluation (of one course, or all): (pk, event id) pairs."""
    facts = LearnerFact.objects.filter(user_id=user_id, pending_since__isnull=False)
    if course_key is not None:
        facts = facts.filter(course_key=course_key)
    return list(facts.values_list("pk", "event_id"))


def pending_facts_of(user_ids):
    """Every fact of these learners awaiting evaluation, as (pk, event id, user id, course key as text)."""
    waiting = LearnerFact.objects.filter(user_id__in=user_ids, pending_since__isnull=False)
    return list(waiting.annotate(course_raw=Cast("course_key", output_field=CharField()))
                .values_list("pk", "event_id", "user_id", "course_raw"))


def learners_waiting_longest(limit):
    """The learners of the ``limit`` facts that have waited longest for evaluation, oldest first."""
    waiting = LearnerFact.objects.filter(pending_since__isnull=False).order_by("pending_since")
    return list(dict.fromkeys(waiting.values_list("user_id", flat=True)[:limit]))


# Facts whose pending mark one statement clears: SQLite refuses an expression deeper than 1,000 terms.
MARK_CHUNK = 200


def mark_evaluated(pending):
    """
    After an evaluation that read the facts ``pending`` (from ``pending_facts``, taken before it):
    they are evaluated, unless a newer event replaced one meanwhile or an event of theirs is still
    in the history unevaluated (a late one recorded while the evaluation ran): its evaluation is due.
    """
    if not pending:
        return 0
    by_event = {}
    for pk, event_id in pending:
        by_event.setdefault(event_id, []).append(pk)
    unevaluated = LearnerEvent.objects.filter(user_id=OuterRef("user_id"), course_key=OuterRef("course_key"),
                                              kind=OuterRef("kind"), evaluated=False)
    cleared, events = 0, list(by_event.items())
    for start in range(0, len(events), MARK_CHUNK):
        query = None
        for event_id, pks in events[start:start + MARK_CHUNK]:
            clause = Q(event_id=event_id, pk__in=pks)
            query = clause if query is None else query | clause
        cleared += LearnerFact.objects.filter(query).exclude(Exists(unevaluated)).update(pending_since=None)
    return cleared


def sweep_pending_evaluations(older_than=None, now=None):
    """
    Queue again the evaluation of every learner whose fact has waited longer than ``older_than``
    seconds (MICROCRED_PENDING_EVALUATION_AFTER, 600 by default): its task was lost (broker down
    when the event came, worker killed, database unreachable while it ran). The facts swept wait
    another period before the next sweep queues them again. Returns how many evaluations were queued.
    """
    now = now or timezone.now()
    due = LearnerFact.objects.filter(pending_since__lte=now - pending_wait(older_than))
    pairs = list(due.order_by("pending_since").values_list("pk", "user_id", "course_key")[:SWEEP_LIMIT])
    LearnerFact.objects.filter(pk__in=[pk for pk, _, _ in pairs], pending_since__isnull=False).update(
        pending_since=now)
    learners = dict.fromkeys((user_id, str(course_key)) for _, user_id, course_key in pairs)
    for user_id, course_key in learners:
        enqueue_evaluation(user_id, course_key)
    return len(learners)


# --- Rejected events, sent again ----------------------------------------------------------------


def resend_rejected(rejected):
    """
    Send a kept RejectedEvent through the signals again (once its cause is fixed: the user now
    exists, the course key was corrected in the payload...) and return the outcome.

    The old row is deleted in the same transaction: if the event is rejected again, the receiver
    has kept it anew with today's reason. Raises InvalidEventLine (and keeps the row) when the
    payload is not a whole event that can be sent.
    """
    payload = rejected.payload or {}
    if "line" in payload and "data" not in payload:
        try:
            payload = loads_bounded(payload["line"], MAX_JSON_DEPTH, MAX_EVENT_LINE_BYTES)
        except (TypeError, ValueError) as exc:
            raise eventlog.InvalidEventLine(f"the kept line is not JSON: {exc}") from exc
    signal, metadata, kwargs = eventlog.parse_event(payload)
    with transaction.atomic():
        outcome = eventlog.send(signal, metadata, kwargs)
        rejected.delete()
    return outcome
