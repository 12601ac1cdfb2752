"""Build openedx-events payloads the way edx-platform sends them."""

from datetime import datetime, timedelta, timezone
from uuid import uuid4

from opaque_keys.edx.keys import CourseKey
from openedx_events.data import EventsMetadata
from openedx_events.learning import signals
from openedx_events.learning.data import (
    CcxCourseData,
    CcxCoursePassingStatusData,
    CertificateData,
    CourseData,
    CourseEnrollmentData,
    CoursePassingStatusData,
    PersistentCourseGradeData,
    UserData,
    UserPersonalData,
)

T0 = datetime(2026, 9, 1, 12, 0, tzinfo=timezone.utc)


def at(minutes):
    return T0 + timedelta(minutes=minutes)


def user_data(user):
    return UserData(id=user.pk, is_active=True,
                    pii=UserPersonalData(username=user.username, email=user.email, name=user.get_full_name()))


def course(key):
    return CourseData(course_key=CourseKey.from_string(key), display_name=key)


def send(signal, *, time=None, event_id=None, **data):
    """Send an event through the real signal with explicit metadata; return our receiver's outcome."""
    metadata = EventsMetadata(event_type=signal.event_type, id=event_id or uuid4(), time=time or T0)
    responses = signal.send_event_with_custom_metadata(metadata, **data)
    ours = [r for fn, r in responses if getattr(fn, "__module__", "") == "openedx_microcred.handlers"]
    return ours[0] if len(ours) == 1 else ours


def passing(user, key, is_passing=True, **kw):
    return send(signals.COURSE_PASSING_STATUS_UPDATED,
                course_passing_status=CoursePassingStatusData(is_passing=is_passing, course=course(key),
                                                              user=user_data(user)), **kw)


def ccx_passing(user, ccx_key, master_key, is_passing=True, **kw):
    ccx = CcxCourseData(ccx_course_key=CourseKey.from_string(ccx_key),
                        master_course_key=CourseKey.from_string(master_key))
    return send(signals.CCX_COURSE_PASSING_STATUS_UPDATED,
                course_passing_status=CcxCoursePassingStatusData(is_passing=is_passing, course=ccx,
                                                                 user=user_data(user)), **kw)


def grade(user_id, key, percent, passed=None, **kw):
    """Send PERSISTENT_GRADE_SUMMARY_CHANGED: ``user_id`` graded ``percent`` in ``key`` (passing from 0.5)."""
    passed = percent >= 0.5 if passed is None else passed
    data = PersistentCourseGradeData(
        user_id=user_id, course=course(key), course_edited_timestamp=T0, course_version="v1",
        grading_policy_hash="hash", percent_grade=percent, letter_grade="Pass" if passed else "",
        passed_timestamp=T0 if passed else None,
    )
    return send(signals.PERSISTENT_GRADE_SUMMARY_CHANGED, grade=data, **kw)


def certificate(user, key, status="downloadable", mode="verified", signal=None, **kw):
    data = CertificateData(user=user_data(user), course=course(key), mode=mode, grade="0.9", download_url="",
                           name="", current_status=status)
    return send(signal or signals.CERTIFICATE_CREATED, certificate=data, **kw)


def enrollment(user, key, mode="audit", is_active=True, signal=None, **kw):
    data = CourseEnrollmentData(user=user_data(user), course=course(key), mode=mode, is_active=is_active,
                                creation_date=T0)
    return send(signal or signals.COURSE_ENROLLMENT_CREATED, enrollment=data, **kw)
