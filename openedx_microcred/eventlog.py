"""
Open edX events as JSON Lines: the one place that writes and reads them.

One event per line::

    {"event_type": "org.openedx.learning.course.passing.status.updated.v1",
     "metadata": {"id": "<uuid>", "time": "<iso8601, UTC>", "minorversion": 0,
                  "source": "openedx/lms/web", "sourcehost": "...", "sourcelib": [10, 5, 0]},
     "data": {"course_passing_status": {...}}}

``data`` holds the event's data exactly as the platform's event bus serializes it before the Avro
encoding (``AvroSignalSerializer(signal).to_dict``), keyed by the signal's data names, and it is
read back with ``AvroSignalDeserializer(signal).from_dict``. ``metadata`` is the event's
``EventsMetadata`` (its original id and time are kept, so a replayed event is the same event).

One extension: a ``datetime`` field the platform sends as ``None`` although openedx-events declares
it non-nullable (``PersistentCourseGradeData.passed_timestamp`` of a learner who does not pass) is
written as ``null`` and read back as ``None``. The event bus itself cannot carry such an event.

``send`` delivers an event through ``send_event_with_custom_metadata``, the path the event bus
consumer uses, and returns what our receiver did with it (``facts.APPLIED`` ...), or ``IGNORED``.
"""

import json
import re
from datetime import datetime, timezone
from functools import lru_cache
from uuid import UUID

import attr
from opaque_keys import InvalidKeyError
from openedx_events.data import EventsMetadata
from openedx_events.event_bus.avro.custom_serializers import DEFAULT_CUSTOM_SERIALIZERS, DatetimeAvroSerializer
from openedx_events.event_bus.avro.deserializer import AvroSignalDeserializer
from openedx_events.event_bus.avro.serializer import AvroSignalSerializer
from openedx_events.tooling import OpenEdxPublicSignal, load_all_signals

from .limits import MAX_EVENT_LINE_BYTES, MAX_JSON_DEPTH, JSONLimitExceeded, loads_bounded

# An event type none of our receivers listens to.
IGNORED = "ignored"

HANDLERS_MODULE = "openedx_microcred.handlers"

_METADATA_FIELDS = ("id", "time", "minorversion", "source", "sourcehost", "sourcelib")


class InvalidEventLine(ValueError):
    """
    A line that cannot become an event; the message says why.

    Whatever could be read before the problem is kept (``event_type``, ``event_id``,
    ``event_time``), so the line can be recorded as a rejected event with as much as is known.
    """

    def __init__(self, message, *, event_type=None, event_id=None, event_time=None):
        super().__init__(message)
        self.event_type = event_type
        self.event_id = event_id
        self.event_time = event_time


class ReceiverFailed(RuntimeError):
    """Our receiver raised instead of returning an outcome (it is written never to)."""


# --- Writing ----------------------------------------------------------------------------------


def serialize_event(signal, metadata, **data):
    """The JSON-ready dict of one event: ``{"event_type", "metadata", "data"}``."""
    if metadata.event_type != signal.event_type:
        raise ValueError(f"metadata is for {metadata.event_type!r}, not {signal.event_type!r}")
    if set(data) != set(signal.init_data):
        raise ValueError(f"{signal.event_type} takes data {sorted(signal.init_data)}, not {sorted(data)}")
    return {
        "event_type": signal.event_type,
        "metadata": _metadata_to_dict(metadata),
        "data": _data_to_dict(signal, data),
    }


def dumps(event):
    """One JSON line (no newline) for a dict from ``serialize_event``."""
    return json.dumps(event, ensure_ascii=False)


def dump_event(signal, metadata, **data):
    """``serialize_event`` as one JSON line (no newline)."""
    return dumps(serialize_event(signal, metadata, **data))


def _metadata_to_dict(metadata):
    values = metadata.to_json_data()
    values["sourcelib"] = list(values["sourcelib"])
    return {name: values[name] for name in _METADATA_FIELDS}


def _data_to_dict(signal, data):
    """The event data as a dict, as openedx-events' serializer writes it (null where a field holds None)."""
    try:
        return _serializer(signal).to_dict(data)
    except Exception:  # pylint: disable=broad-except  (the serializer's error on a None has no type of its own)
        if not _holds_none(data):
            raise
    # The serializer refuses None in a field declared without a None default: write null there.
    return _to_dict_allowing_none(data)


def _holds_none(value):
    """Whether ``value`` (an attrs instance, a dict or a plain value) holds a None anywhere."""
    if hasattr(value, "__attrs_attrs__"):
        return any(_holds_none(getattr(value, a.name)) for a in value.__attrs_attrs__)
    if isinstance(value, dict):
        return any(_holds_none(v) for v in value.values())
    return value is None


def _to_dict_allowing_none(data):
    """What ``AvroSignalSerializer.to_dict`` gives, with None written as null wherever it is."""
    serializers = {s.cls: s.serialize for s in DEFAULT_CUSTOM_SERIALIZERS}

    def leaf(_inst, field, value):
        if value is None:
            return None
        for cls, serialize in serializers.items():
            if (field is not None and isinstance(field.type, type) and issubclass(field.type, cls)) or isinstance(
                value, cls
            ):
                return serialize(value)
        return value

    def default(value):
        if hasattr(value, "__attrs_attrs__"):
            return attr.asdict(value, value_serializer=leaf)
        return leaf(None, None, value)

    return json.loads(json.dumps(data, sort_keys=True, default=default))


# --- Reading ----------------------------------------------------------------------------------


def parse_line(line):
    """
    Read one JSON line; return ``(signal, metadata, data_kwargs)`` ready for ``send``.

    Raises InvalidEventLine for anything that is not a complete, known, deserializable event.
    """
    try:
        event = loads_bounded(line, MAX_JSON_DEPTH, MAX_EVENT_LINE_BYTES)
    except JSONLimitExceeded as exc:
        raise InvalidEventLine(f"cannot be read: {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise InvalidEventLine(f"invalid JSON: {exc}") from exc
    return parse_event(event)


def parse_event(event):
    """``parse_line`` for an already decoded dict."""
    if not isinstance(event, dict):
        raise InvalidEventLine(f"an event is a JSON object, not {type(event).__name__}")
    event_type = event.get("event_type")
    if not isinstance(event_type, str) or not event_type:
        raise InvalidEventLine("missing field 'event_type'")
    signal = signal_for(event_type)
    metadata = _metadata_from_dict(event_type, event.get("metadata"))
    known = {"event_type": event_type, "event_id": str(metadata.id), "event_time": metadata.time}
    data = event.get("data")
    if not isinstance(data, dict):
        raise InvalidEventLine("missing field 'data' (an object)", **known)
    missing = [name for name in signal.init_data if name not in data]
    if missing:
        raise InvalidEventLine(f"missing field 'data.{missing[0]}'", **known)
    unexpected = sorted(set(data) - set(signal.init_data))
    if unexpected:
        raise InvalidEventLine(f"unexpected field 'data.{unexpected[0]}' for {event_type}", **known)
    try:
        kwargs = _deserializer(signal).from_dict(data)
    except Exception as exc:
        raise InvalidEventLine(f"cannot deserialize the data: {_describe(exc)}", **known) from exc
    return signal, metadata, kwargs


def signal_for(event_type):
    """The OpenEdxPublicSignal of an event type, or InvalidEventLine."""
    try:
        return OpenEdxPublicSignal.get_signal_by_type(event_type)
    except KeyError:
        pass
    # Signals register themselves when their module is imported: import them all, once.
    _load_all_signals()
    try:
        return OpenEdxPublicSignal.get_signal_by_type(event_type)
    except KeyError:
        raise InvalidEventLine(f"unknown event type {event_type!r}", event_type=event_type) from None


def _describe(exc):
    """A short description of a deserialization error, for the rejected line's reason."""
    if isinstance(exc, InvalidKeyError):
        # InvalidKeyError's message is "<class 'module.KeyClass'>: serialized-key".
        match = re.fullmatch(r"<class '(?:[\w.]*\.)?(\w+)'>: (.*)", str(exc), re.DOTALL)
        if match:
            return f"invalid key {match.group(2)!r} ({match.group(1)})"
    return f"{type(exc).__name__}: {exc}"


@lru_cache(maxsize=None)
def _load_all_signals():
    load_all_signals()


def _metadata_from_dict(event_type, values):
    """The EventsMetadata of an event line's ``metadata`` object, or InvalidEventLine saying what is wrong."""
    if not isinstance(values, dict):
        raise InvalidEventLine("missing field 'metadata' (an object)", event_type=event_type)
    for name in ("id", "time"):
        if values.get(name) in (None, ""):
            raise InvalidEventLine(f"missing field 'metadata.{name}'", event_type=event_type)
    try:
        event_id = UUID(str(values["id"]))
    except ValueError:
        raise InvalidEventLine(f"metadata.id {values['id']!r} is not a UUID", event_type=event_type) from None
    known = {"event_type": event_type, "event_id": str(event_id)}
    event_time = _utc_time(values["time"], known)
    known["event_time"] = event_time
    if values.get("event_type", event_type) != event_type:
        raise InvalidEventLine(f"metadata.event_type {values['event_type']!r} differs from event_type", **known)
    sourcelib = values.get("sourcelib")
    if sourcelib is not None:
        if not isinstance(sourcelib, list) or not all(isinstance(n, int) for n in sourcelib):
            raise InvalidEventLine("metadata.sourcelib must be a list of integers", **known)
        sourcelib = tuple(sourcelib)
    try:
        return EventsMetadata(
            event_type=event_type,
            id=event_id,
            time=event_time,
            minorversion=values.get("minorversion"),
            source=values.get("source"),
            sourcehost=values.get("sourcehost"),
            sourcelib=sourcelib,
        )
    except (TypeError, ValueError) as exc:
        raise InvalidEventLine(f"invalid metadata: {exc}", **known) from exc


def _utc_time(value, known):
    """An ISO 8601 time with a time zone, in UTC, or InvalidEventLine."""
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise InvalidEventLine(f"metadata.time {value!r} is not an ISO 8601 time", **known) from None
    if parsed.tzinfo is None:
        raise InvalidEventLine(f"metadata.time {value!r} has no time zone", **known)
    return parsed.astimezone(timezone.utc)


# --- Sending ----------------------------------------------------------------------------------


def send(signal, metadata, data_kwargs):
    """
    Send the event through the real signal, as the event bus consumer does; return our outcome.

    The outcome is what our receiver returned (``facts.APPLIED``, ``UNCHANGED``, ``STALE``,
    ``DUPLICATE``, ``REJECTED``) or ``IGNORED`` when none of our receivers listens to the event.
    """
    responses = signal.send_event_with_custom_metadata(metadata, **data_kwargs)
    ours = [(receiver, result) for receiver, result in responses
            if getattr(receiver, "__module__", None) == HANDLERS_MODULE]
    if not ours:
        return IGNORED
    receiver, result = ours[0]
    if isinstance(result, BaseException):
        raise ReceiverFailed(f"{getattr(receiver, '__name__', receiver)} raised {type(result).__name__}: {result}") \
            from result
    return result


# --- Avro (de)serializers, one per signal ------------------------------------------------------


class _NullableDatetimeAvroSerializer(DatetimeAvroSerializer):
    """Read a null datetime as None (see the module docstring)."""

    @staticmethod
    def deserialize(data):
        return None if data is None else DatetimeAvroSerializer.deserialize(data)


class _Deserializer(AvroSignalDeserializer):
    def custom_type_serializers(self):
        return [_NullableDatetimeAvroSerializer]


@lru_cache(maxsize=None)
def _serializer(signal):
    return AvroSignalSerializer(signal)


@lru_cache(maxsize=None)
def _deserializer(signal):
    return _Deserializer(signal)
