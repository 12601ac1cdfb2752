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
from functools import lru_cache

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from . import eventlog
from .app_settings import microcred_settings
from .dispatch import SWEEP_LIMIT, enqueue_evaluation, pending_wait
from .limits import MAX_EVENT_LINE_BYTES, MAX_JSON_DEPTH, loads_bounded
from .models import LearnerEvent, LearnerFact, RejectedEvent, RetirementRecord, course_key_text, subject_hash

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
    """
    Keep the event in the history, upsert the fact if the event is newer than what we hold; return what happened.

    The platform's request pays for this (issue 15, docs/decisions/0018): the common path is two
    statements and no read, in one transaction (a savepoint when the caller has one open, as the
    platform's request does): (1) the history insert, which does nothing for an event already held
    or for an unknown or retired learner; (2) the fact upsert, which keeps the newer event. The
    outcome comes from what the two statements report; only the rare cases read (a duplicate, an
    unknown user, a retired learner; a writer between the statements), and a stale event's second
    statement sets the fact's pending_since instead of the upsert.
    """
    check_event_time(update.event_time)
    now = timezone.now()
    vendor_upsert = _mysql_upsert if connection.vendor == "mysql" else _returning_upsert
    # One atomic block: the history row and the fact commit together or not at all (a crash or an
    # error between the two statements leaves neither), and a concurrent duplicate of the event
    # waits on the history row's unique key until we commit, then finds it (DUPLICATE).
    with transaction.atomic():
        return vendor_upsert(update, now)


def history_row(update: FactUpdate) -> LearnerEvent:
    """The LearnerEvent row that keeps ``update`` in the learner's event history."""
    return LearnerEvent(user_id=update.user_id, course_key=update.course_key, kind=update.kind,
                        **_event_fields(update))


# --- The two statements (docs/decisions/0018) ---------------------------------------------------
#
# Written through the connection's cursor, not the ORM: Django has no INSERT ... SELECT, no
# conditional ON CONFLICT DO UPDATE and no way to read the outcome of an upsert, and building the
# statements through the ORM is most of what the receiver cost (benchmarks/receiver.py). Table and
# column names come from the models' _meta; every value is a bound parameter, prepared by its
# field for this connection (get_db_prep_value).

# Above every id the fact table's counter will reach: MySQL/MariaDB report which way an upsert went
# through LAST_INSERT_ID(code), read back as the cursor's lastrowid (an insert reports its new id).
_CODE = 1 << 62
_CODE_APPLIED, _CODE_UNCHANGED, _CODE_STALE, _CODE_DUPLICATE = _CODE + 1, _CODE + 2, _CODE + 3, _CODE + 4

# The history row's columns and the fact's, in the order of the statements' parameters (the first seven alike).
_HISTORY_COLUMNS = ("user", "course_key", "kind", "value", "event_id", "event_type", "event_time", "evaluated")
_FACT_COLUMNS = ("user", "course_key", "kind", "value", "event_id", "event_type", "event_time", "modified",
                 "pending_since")


def _names(model, fields):
    """The quoted column names of ``fields`` of ``model``."""
    quote = connection.ops.quote_name
    return [quote(model._meta.get_field(name).column) for name in fields]


def _tables():
    """Quoted names: fact, history, user table, the user table's primary key, retirement record, its subject."""
    return _tables_of(connection.vendor)


@lru_cache(maxsize=None)
def _tables_of(vendor):  # pylint: disable=unused-argument  (the cache key: quoting differs per vendor)
    """_tables for connections of ``vendor``."""
    quote = connection.ops.quote_name
    user_model = get_user_model()
    return (quote(LearnerFact._meta.db_table), quote(LearnerEvent._meta.db_table), quote(user_model._meta.db_table),
            quote(user_model._meta.pk.column), quote(RetirementRecord._meta.db_table),
            quote(RetirementRecord._meta.get_field("subject").column))


def _prepared(update):
    """
    The event's columns common to the history row and the fact, as their fields send them to this
    connection (the same field types in both models), each prepared once.
    """
    fields = LearnerFact._meta
    return [fields.get_field(name).get_db_prep_value(value, connection) for name, value in zip(_FACT_COLUMNS, (
        update.user_id, update.course_key, update.kind, update.value, update.event_id, update.event_type,
        update.event_time))]


def _moment(now):
    """``now`` as the fact's time columns send it to this connection."""
    field = LearnerFact._meta.get_field("modified")
    return field.get_db_prep_value(now, connection)


@lru_cache(maxsize=None)
def _returning_sql(vendor):
    """The statements on PostgreSQL and SQLite: the history insert that reports the fact held, the guarded upsert."""
    fact, event, users, user_pk, retired, subject = _tables()
    history = _names(LearnerEvent, _HISTORY_COLUMNS)
    h_user, h_course, h_kind, h_event_id = history[0], history[1], history[2], history[4]
    columns = _names(LearnerFact, _FACT_COLUMNS)
    f_user, f_course, f_kind, f_value, f_event_id, _, f_time, _, f_pending = columns
    # Event ids are compared by code point, as Python compares them (SQLite's default collation is binary).
    binary = ' COLLATE "C"' if vendor == "postgresql" else ""
    held = f"FROM {fact} WHERE {f_user} = %s AND {f_course} = %s AND {f_kind} = %s"
    # (1) Keep the event in the history: nothing for an event already held, nor for an unknown or
    # retired learner (the SELECT finds no row). RETURNING reads the fact held, in the same
    # statement: its event id, its value, and whether this event is newer.
    history_sql = (
        f"INSERT INTO {event} ({', '.join(history)}) "
        f"SELECT {users}.{user_pk}, %s, %s, %s, %s, %s, %s, %s FROM {users} WHERE {users}.{user_pk} = %s "
        f"AND NOT EXISTS (SELECT 1 FROM {retired} WHERE {subject} = %s) "
        f"ON CONFLICT ({h_user}, {h_course}, {h_kind}, {h_event_id}) DO NOTHING "
        f"RETURNING (SELECT {f_event_id} {held}), (SELECT {f_value} {held}), "
        f"(SELECT (%s, %s{binary}) > ({f_time}, {f_event_id}{binary}) {held})")
    # (2) The fact: inserted, or replaced if it is still the one (1) compared with (a writer between
    # the two statements makes it affect no row, and the rare path decides under the row's lock).
    updates = ", ".join(f"{column} = excluded.{column}" for column in columns[3:8])
    fact_sql = (
        f"INSERT INTO {fact} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON CONFLICT ({f_user}, {f_course}, {f_kind}) DO UPDATE SET {updates}, "
        f"{f_pending} = COALESCE({fact}.{f_pending}, excluded.{f_pending}) WHERE {fact}.{f_event_id} = %s")
    return history_sql, fact_sql


def _returning_upsert(update, now):
    """On PostgreSQL and SQLite: two statements, their outcome read from RETURNING and the row count."""
    history_sql, fact_sql = _returning_sql(connection.vendor)
    event = _prepared(update)
    key = event[:3]
    with connection.cursor() as cursor:
        cursor.execute(history_sql, [*event[1:], False, update.user_id, subject_hash(update.user_id),
                                     *key, *key, event[6], update.event_id, *key])
        held = cursor.fetchone()
        if held is None:
            return _not_kept(update)
        held_event_id, held_value, newer = held
        if held_event_id is not None and not newer:
            return _stale(update, now)
        moment = _moment(now)
        cursor.execute(fact_sql, [*event, moment, moment, held_event_id])
        if cursor.rowcount != 1:
            return _under_lock(update, now)  # another writer changed the fact between the statements
    if held_event_id is None:
        return APPLIED
    return APPLIED if _json(held_value) != update.value else UNCHANGED


@lru_cache(maxsize=None)
def _mysql_sql(json_equals):
    """The statements on MySQL and MariaDB: the history insert and the fact upsert, reporting through LAST_INSERT_ID."""
    fact, event, users, user_pk, retired, subject = _tables()
    history = _names(LearnerEvent, _HISTORY_COLUMNS)
    h_evaluated = history[7]
    columns = _names(LearnerFact, _FACT_COLUMNS)
    _, _, _, f_value, f_event_id, f_type, f_time, f_modified, f_pending = columns
    history_sql = (
        f"INSERT INTO {event} ({', '.join(history)}) "
        f"SELECT {users}.{user_pk}, %s, %s, %s, %s, %s, %s, %s FROM {users} WHERE {users}.{user_pk} = %s "
        f"AND NOT EXISTS (SELECT 1 FROM {retired} WHERE {subject} = %s) "
        # Not INSERT IGNORE, which would also turn a value the column refuses into a warning.
        f"ON DUPLICATE KEY UPDATE {event}.{h_evaluated} = "
        f"IF(LAST_INSERT_ID({_CODE_DUPLICATE}) > 0, {event}.{h_evaluated}, {event}.{h_evaluated})")
    # Event ids compared as bytes (UTF-8: code point by code point), not by the column's collation.
    newer = (f"((VALUES({f_time}), CAST(VALUES({f_event_id}) AS BINARY)) > "
             f"({f_time}, CAST({f_event_id} AS BINARY)))")
    # MariaDB keeps JSON as LONGTEXT, where equal values may differ in key order (JSON_EQUALS, 10.7+, compares
    # them as JSON; before it, as text); MySQL's JSON type compares as JSON.
    same = f"JSON_EQUALS({f_value}, VALUES({f_value}))" if json_equals else f"({f_value} = VALUES({f_value}))"
    code = f"IF({newer}, IF({same}, {_CODE_UNCHANGED}, {_CODE_APPLIED}), {_CODE_STALE})"
    # MySQL assigns left to right, each assignment seeing the ones before: the outcome is computed
    # first (from the row as it was), the event id is replaced last but one, and the event time
    # follows the event id (replaced exactly when it was: the two ids always differ here, since an
    # event already held stopped at the history insert).
    fact_sql = (
        f"INSERT INTO {fact} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))}) "
        f"ON DUPLICATE KEY UPDATE "
        f"{f_pending} = IF(LAST_INSERT_ID({code}) > 0, COALESCE({f_pending}, VALUES({f_pending})), NULL), "
        + ", ".join(f"{column} = IF({newer}, VALUES({column}), {column})" for column in (f_value, f_type, f_modified))
        + f", {f_event_id} = IF({newer}, VALUES({f_event_id}), {f_event_id}), "
        f"{f_time} = IF(CAST({f_event_id} AS BINARY) = CAST(VALUES({f_event_id}) AS BINARY), "
        f"VALUES({f_time}), {f_time})")
    return history_sql, fact_sql


def _mysql_upsert(update, now):
    """On MySQL and MariaDB: two statements, their outcome read from the row count and LAST_INSERT_ID."""
    history_sql, fact_sql = _mysql_sql(connection.mysql_is_mariadb and connection.mysql_version >= (10, 7))
    event = _prepared(update)
    with connection.cursor() as cursor:
        cursor.execute(history_sql, [*event[1:], False, update.user_id, subject_hash(update.user_id)])
        if cursor.rowcount == 0 or cursor.lastrowid == _CODE_DUPLICATE:
            return _not_kept(update)
        moment = _moment(now)
        cursor.execute(fact_sql, [*event, moment, moment])
        code = cursor.lastrowid
    return {_CODE_UNCHANGED: UNCHANGED, _CODE_STALE: STALE}.get(code, APPLIED)


def _json(value):
    """A JSON value as the cursor returned it: text (SQLite, MySQL, PostgreSQL as Django configures it) or decoded."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


# --- The rare paths -----------------------------------------------------------------------------


def _not_kept(update):
    """The history insert kept nothing: an unknown user, a retired learner or an event already held (one read)."""
    _, _, users, user_pk, retired_table, subject = _tables()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT EXISTS (SELECT 1 FROM {retired_table} WHERE {subject} = %s) FROM {users} "
                       f"WHERE {user_pk} = %s", [subject_hash(update.user_id), update.user_id])
        row = cursor.fetchone()
    retired = None if row is None else bool(row[0])
    if retired is None:
        raise InvalidEvent(f"unknown user id {update.user_id}")
    return IGNORED if retired else DUPLICATE  # a retired learner's late event must not bring their data back


def _stale(update, now):
    """Older than the fact held: kept in the history only; the fact waits for an evaluation if it did not."""
    fact = _tables()[0]
    f_user, f_course, f_kind = _names(LearnerFact, _FACT_COLUMNS[:3])
    f_pending = _names(LearnerFact, ("pending_since",))[0]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {fact} SET {f_pending} = %s WHERE {f_user} = %s AND {f_course} = %s AND {f_kind} = %s "
                       f"AND {f_pending} IS NULL", [_moment(now), *_prepared(update)[:3]])
    return STALE


def _under_lock(update, now):
    """
    Another transaction changed the fact between our two statements (PostgreSQL): decide again,
    holding the row's lock. The event is in the history already.
    """
    fact = LearnerFact.objects.select_for_update().filter(
        user_id=update.user_id, course_key=update.course_key, kind=update.kind).first()
    if fact is None:
        return IGNORED  # removed meanwhile: the learner was retired
    if (fact.event_time, fact.event_id) > (update.event_time, update.event_id):
        return _stale(update, now)
    outcome = APPLIED if fact.value != update.value else UNCHANGED
    for name, value in _event_fields(update).items():
        setattr(fact, name, value)
    if fact.pending_since is None:
        fact.pending_since = now
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
    return list(waiting.annotate(course_raw=course_key_text())
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
