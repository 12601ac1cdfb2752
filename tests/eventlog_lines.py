"""
Lines of the JSON Lines event log (eventlog.py), as edx-platform's events would be written to it, and
microcred_replay runs over them, read back as the counts of its summary.
"""

import io
import re
from uuid import UUID

from django.core.management import call_command
from openedx_events.data import EventsMetadata
from openedx_events.learning import signals
from openedx_events.learning.data import CoursePassingStatusData, PersistentCourseGradeData

from openedx_microcred import eventlog

from . import events

ID = "00000000-0000-4000-8000-{:012d}"


def metadata(signal, n, minutes=0):
    return EventsMetadata(event_type=signal.event_type, id=UUID(ID.format(n)), time=events.at(minutes),
                          source="openedx/lms/web", sourcehost="lms.test", sourcelib=(10, 5, 0))


def grade_data(user_id, key, percent, passed=True):
    return PersistentCourseGradeData(
        user_id=user_id, course=events.course(key), course_edited_timestamp=events.T0, course_version="v1",
        grading_policy_hash="hash", percent_grade=percent, letter_grade="Pass" if passed else "",
        passed_timestamp=events.T0 if passed else None,
    )


def line(signal, n, minutes=0, **data):
    return eventlog.dump_event(signal, metadata(signal, n, minutes), **data)


def passing_line(user, key, n, minutes=0, is_passing=True):
    return line(signals.COURSE_PASSING_STATUS_UPDATED, n, minutes, course_passing_status=CoursePassingStatusData(
        is_passing=is_passing, course=events.course(key), user=events.user_data(user)))


def grade_line(user_id, key, percent, n, minutes=0, passed=True):
    return line(signals.PERSISTENT_GRADE_SUMMARY_CHANGED, n, minutes, grade=grade_data(user_id, key, percent, passed))


def replay(*args, **kwargs):
    out, err = io.StringIO(), io.StringIO()
    call_command("microcred_replay", *args, "--no-progress", stdout=out, stderr=err, **kwargs)
    return summary(out.getvalue())


def summary(text):
    """{"read": n, "applied": n, ...} from the command's summary."""
    counts = {}
    for row in text.splitlines():
        match = re.fullmatch(r"\s*(Events read|\w+):\s+(\d+)", row)
        if match:
            counts["read" if match.group(1) == "Events read" else match.group(1)] = int(match.group(2))
    return counts


def expected(**counts):
    base = dict.fromkeys(("applied", "unchanged", "stale", "duplicate", "ignored", "rejected"), 0)
    base.update(counts)
    base["read"] = sum(counts.values())
    return base
