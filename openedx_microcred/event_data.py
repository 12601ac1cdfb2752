"""
What each platform event means as a learner fact: its fields checked, then mapped to
(user id, course key, value) for the fact of its kind.

openedx-events' data classes declare their fields' types but attrs does not check them, and the
event bus consumer, microcred_replay, the back-fill or a misbehaving platform can send anything
there: each field read is checked here, never coerced ("false" is not False, True is not 100 %).
The receivers (handlers.py) and the back-fill of the platform's history (backfill.py) both read
events through these functions, so a fact means the same whichever way it arrived.
"""

import math
from datetime import datetime

from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from . import rules
from .facts import InvalidEvent, shown

# --- Checking what an event holds ------------------------------------------------------------------

# Mode, letter grade and certificate status: the platform's columns for them are at most this long.
MAX_TEXT_LENGTH = 255
# The largest primary key any Django integer field (and database) holds.
MAX_USER_ID = 2 ** 63 - 1
# Longer than any course key; checked before opaque-keys parses it.
MAX_KEY_LENGTH = 1000


def required_field(data, path):
    """The value at ``path`` ("user.id") of the event data; InvalidEvent if it or a part of it is missing."""
    value = data
    for name in path.split("."):
        value = getattr(value, name, None)
        if value is None:
            raise InvalidEvent(f"missing field {path}")
    return value


def checked_course_key(value):
    """A course key (or its text) as its canonical text; InvalidEvent if it is not one."""
    if isinstance(value, CourseKey):
        return str(value)
    if not isinstance(value, str) or len(value) > MAX_KEY_LENGTH:
        raise InvalidEvent(f"invalid course key {shown(value)}")
    try:
        return str(CourseKey.from_string(value))
    except InvalidKeyError as exc:
        raise InvalidEvent(f"invalid course key {shown(value)}") from exc


def checked_user_id(value):
    """A user id as a positive integer a Django primary key can hold; InvalidEvent otherwise (True is not 1)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_USER_ID:
        raise InvalidEvent(f"invalid user id {shown(value)}")
    return value


def checked_bool(value, name):
    """A true-or-false field as itself; InvalidEvent for anything else ("false" is not False)."""
    if not isinstance(value, bool):
        raise InvalidEvent(f"{name} {shown(value)} is not true or false")
    return value


def checked_fraction(value, name):
    """A finite int or float in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidEvent(f"{name} {shown(value)} is not a number")
    if not math.isfinite(value):
        raise InvalidEvent(f"{name} {shown(value)} is not a finite number")
    if not 0 <= value <= 1:
        raise InvalidEvent(f"{name} {shown(value)} is not between 0 and 1")
    return float(value)


def checked_text(value, name):
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


def checked_time(value, name):
    """A time field, or None when it is not set; InvalidEvent for anything else."""
    if value is not None and not isinstance(value, datetime):
        raise InvalidEvent(f"{name} {shown(value)} is not a time")
    return value


def checked_event_id(value):
    """The event's id as text at most 100 characters long (the empty string when it has none)."""
    event_id = str(value or "")
    if len(event_id) > 100:
        raise InvalidEvent(f"event id {shown(event_id)} is longer than 100 characters")
    return event_id


# --- What each event means ----------------------------------------------------------------------
# Each returns (user id, course key, value): the fact the event speaks of, and its new value.


def learner_and_course(data, user_path="user.id", course_path="course.course_key"):
    """The checked (user id, course key) an event's data names at these paths."""
    return checked_user_id(required_field(data, user_path)), checked_course_key(required_field(data, course_path))


def passing_fact(data):
    """A course-passing-status event as the learner's "passed" fact in the course."""
    return *learner_and_course(data), {
        "passed": checked_bool(required_field(data, "is_passing"), "is_passing")
    }


def ccx_passing_fact(data):
    """A CCX-passing-status event as the learner's "passed" fact in the CCX."""
    # A CCX is a course of its own: the fact is kept under the CCX key, which credentials can name.
    return *learner_and_course(data, course_path="course.ccx_course_key"), {
        "passed": checked_bool(required_field(data, "is_passing"), "is_passing")
    }


def grade_fact(data):
    """A persistent-course-grade event as the learner's grade fact: percent, letter and whether it passes."""
    return *learner_and_course(data, user_path="user_id"), {
        "percent": checked_fraction(required_field(data, "percent_grade"), "percent_grade"),
        "letter": checked_text(data.letter_grade, "letter_grade"),
        # edx-platform sets passed_timestamp when the learner passes and clears it when they no longer do.
        "passed": checked_time(data.passed_timestamp, "passed_timestamp") is not None,
    }


def certificate_fact(data):
    """A certificate event as the learner's certificate fact: its status and mode."""
    return *learner_and_course(data), {
        "status": checked_text(required_field(data, "current_status"), "current_status"),
        "mode": checked_text(data.mode, "mode"),
    }


def certificate_revoked_fact(data):
    """A certificate-revoked event as the certificate fact, whose earned status becomes "revoked"."""
    user_id, course_key, value = certificate_fact(data)
    if value["status"] == rules.CERTIFICATE_EARNED_STATUS:
        value["status"] = "revoked"
    return user_id, course_key, value


def enrollment_fact(data):
    """An enrollment event as the learner's enrollment fact: its mode and whether it is active."""
    return *learner_and_course(data), {
        "mode": checked_text(data.mode, "mode"),
        "is_active": checked_bool(data.is_active, "is_active"),
    }


def unenrollment_fact(data):
    """An unenrollment event as the enrollment fact, no longer active."""
    user_id, course_key, value = enrollment_fact(data)
    value["is_active"] = False
    return user_id, course_key, value
