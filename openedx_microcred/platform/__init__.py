"""
The one place that knows about the platform the plugin runs in.

Everything that needs edx-platform (course names, completable-block counts, who a user is) goes
through the adapter named by the ``MICROCRED_PLATFORM_ADAPTER`` setting: ``edx_platform`` inside
Open edX, a standalone one in the demo host and the tests.
"""

import heapq
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from operator import attrgetter
from typing import Any, Iterable, Iterator

from django.contrib.auth import get_user_model
from django.db.models import CharField
from django.db.models.functions import Cast
from django.utils.module_loading import import_string
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey
from openedx_events.learning.data import (
    CertificateData,
    CourseData,
    CourseEnrollmentData,
    PersistentCourseGradeData,
    UserData,
    UserPersonalData,
)

from ..app_settings import microcred_settings


class PlatformAdapter:
    """What the plugin asks of the platform. Subclasses override what their platform knows better."""

    # pylint: disable=unused-argument  (these defaults know nothing; a platform's adapter reads the arguments)

    def completable_blocks(self, course_keys) -> dict:
        """Number of completable blocks per course key (str) in ``course_keys``; unknown ones left out."""
        return {}

    def course_names(self, course_keys) -> dict:
        """Display name per course key (str); unknown ones left out."""
        return {}

    def course_roles(self, user, course_key) -> set[str]:
        """
        The course access roles ("staff", "instructor", ...) ``user`` holds on ``course_key`` itself,
        not through an organization.
        """
        return set()

    def org_roles(self, user, org) -> set[str]:
        """The roles ("staff", "instructor", ...) ``user`` holds on every course of organization ``org``."""
        return set()

    def org_courses(self, orgs) -> list[str]:
        """The keys (str) of every course of the organizations ``orgs``; empty where unknown."""
        return []

    def role_courses(self, user, roles, orgs) -> list[str]:
        """
        The keys (str) of the courses of ``orgs`` on which ``user`` holds one of ``roles``, on the
        course itself or on its whole organization: the courses the user can open in Studio.
        """
        return []

    def studio_links(self, course_key) -> dict:
        """
        Where Studio's own pages of a course are, for the header and breadcrumbs of the plugin's
        Studio pages: "home" (Studio's course list), "outline" (the course outline) and "pages"
        (Pages & Resources), each a URL or None where there is no such page.
        """
        return {"home": None, "outline": None, "pages": None}

    def course_url(self, course_key) -> str | None:
        """Where a learner finds the course (absolute, or a path on the LMS); None if unknown."""
        return None

    def user_data(self, user_id) -> UserData | None:
        """The learner as openedx-events describes users, or None if there is no such user."""
        user = get_user_model().objects.filter(pk=user_id).first()
        if user is None:
            return None
        return UserData(
            id=user.pk,
            is_active=user.is_active,
            pii=UserPersonalData(username=user.get_username(), email=user.email or "", name=user.get_full_name()),
        )

    def historical_records(self, course_keys=None, after_user_id=0, page_size=1000) -> Iterator["HistoricalRecord"]:
        """
        The platform's stored course grades, certificates and enrollments in ``course_keys`` (every
        course if None) of the learners whose user id is above ``after_user_id``, as
        ``HistoricalRecord``s ordered by user id with all of a learner's records together, read
        ``page_size`` rows at a time (memory stays flat however long the history). Nothing where
        the platform keeps no history.
        """
        return iter(())


@lru_cache(maxsize=None)
def _adapter(path):
    return import_string(path)()


def get_platform() -> PlatformAdapter:
    """The platform adapter MICROCRED_PLATFORM_ADAPTER names: edx-platform's in the LMS, the sandbox's elsewhere."""
    return _adapter(microcred_settings.PLATFORM_ADAPTER)


# --- The platform's history, for microcred_backfill --------------------------------------------

GRADE_SOURCE = "grade"
CERTIFICATE_SOURCE = "certificate"
ENROLLMENT_SOURCE = "enrollment"


@dataclass(frozen=True)
class HistoricalRecord:
    """
    One stored row of the platform's history, as the data of the live event that reports it
    (``PersistentCourseGradeData``, ``CertificateData``, ``CourseEnrollmentData``), so that the
    receivers' own mapping turns it into a fact. ``time`` is when the row last changed. Users carry
    only their id: the back-fill reads no personal data.
    """

    source: str  # GRADE_SOURCE, CERTIFICATE_SOURCE or ENROLLMENT_SOURCE
    row_id: int
    user_id: int
    course_key: Any  # as stored: a CourseKey (None if the row has none)
    time: datetime
    data: Any


# Columns read from tables shaped like edx-platform's; the standalone host's have the same names.
# The course id is read as text (``course_raw``) and parsed once per course, not once per row.
GRADE_COLUMNS = ("id", "user_id", "course_edited_timestamp", "course_version", "grading_policy_hash",
                 "percent_grade", "letter_grade", "passed_timestamp", "modified")
CERTIFICATE_COLUMNS = ("id", "user_id", "status", "mode", "grade", "modified_date")
ENROLLMENT_COLUMNS = ("id", "user_id", "mode", "is_active", "created")


@lru_cache(maxsize=8192)
def parse_course_key(raw):
    """The CourseKey stored as ``raw``; the text itself if it is no course key (the receivers' mapping rejects it)."""
    try:
        return CourseKey.from_string(raw)
    except InvalidKeyError:
        return raw


def rows_by_learner(queryset, after_user_id=0, page_size=1000) -> Iterator:
    """
    Rows of ``queryset`` (which has a ``user_id`` column) ordered by user id, read a page at a
    time with a keyset on the user id: each page ends at a learner boundary, so no row is skipped
    or read twice, and a learner's rows arrive together. A learner whose rows fill a page alone is
    read in one more query. The rows' order within a learner is not defined.
    """
    ordered = queryset.order_by("user_id")
    after = after_user_id
    while True:
        page = list(ordered.filter(user_id__gt=after)[:page_size])
        if len(page) < page_size:
            yield from page
            return
        last = page[-1].user_id
        complete = [row for row in page if row.user_id != last]
        if complete:
            yield from complete
            after = complete[-1].user_id
        else:
            yield from ordered.filter(user_id=last)
            after = last


def merge_by_learner(streams: Iterable[Iterator]) -> Iterator:
    """Streams each ordered by user id, merged into one ordered by user id (a learner's items together)."""
    return heapq.merge(*streams, key=attrgetter("user_id"))


def _user(user_id):
    return UserData(id=user_id, is_active=None, pii=None)


def grade_record(row) -> HistoricalRecord:
    """A PersistentCourseGrade row (``GRADE_COLUMNS``) as PERSISTENT_GRADE_SUMMARY_CHANGED would carry it."""
    course_key = parse_course_key(row.course_raw)
    data = PersistentCourseGradeData(
        user_id=row.user_id, course=CourseData(course_key=course_key),
        course_edited_timestamp=row.course_edited_timestamp, course_version=row.course_version or "",
        grading_policy_hash=row.grading_policy_hash or "", percent_grade=row.percent_grade,
        letter_grade=row.letter_grade or "", passed_timestamp=row.passed_timestamp,
    )
    return HistoricalRecord(GRADE_SOURCE, row.id, row.user_id, course_key, row.modified, data)


def certificate_record(row) -> HistoricalRecord:
    """A GeneratedCertificate row (``CERTIFICATE_COLUMNS``) as CERTIFICATE_CHANGED would carry it."""
    course_key = parse_course_key(row.course_raw)
    data = CertificateData(user=_user(row.user_id), course=CourseData(course_key=course_key), mode=row.mode or "",
                           grade=row.grade or "", download_url="", name="", current_status=row.status)
    return HistoricalRecord(CERTIFICATE_SOURCE, row.id, row.user_id, course_key, row.modified_date, data)


def enrollment_record(row, time=None) -> HistoricalRecord:
    """
    A CourseEnrollment row (``ENROLLMENT_COLUMNS``) as COURSE_ENROLLMENT_CHANGED would carry it;
    ``time`` is when it last changed (its creation if not given).
    """
    course_key = parse_course_key(row.course_raw)
    data = CourseEnrollmentData(user=_user(row.user_id), course=CourseData(course_key=course_key),
                                mode=row.mode or "", is_active=bool(row.is_active), creation_date=row.created)
    return HistoricalRecord(ENROLLMENT_SOURCE, row.id, row.user_id, course_key, time or row.created, data)


def stored_history(grades=None, certificates=None, enrollments=None, *, course_keys=None, after_user_id=0,
                   page_size=1000, enrollment_time=None) -> Iterator[HistoricalRecord]:
    """
    ``PlatformAdapter.historical_records`` over querysets of tables shaped like edx-platform's
    grades, certificates and enrollments (None: the platform does not have that table).
    ``enrollment_time`` names an annotation of ``enrollments`` giving when an enrollment last
    changed (its creation time is used where it is empty).
    """
    if course_keys is not None:
        course_keys = [CourseKey.from_string(str(key)) for key in course_keys]
        if not course_keys:
            return iter(())

    def rows(queryset, columns):
        if course_keys is not None:
            queryset = queryset.filter(course_id__in=course_keys)
        queryset = queryset.annotate(course_raw=Cast("course_id", output_field=CharField()))
        return rows_by_learner(queryset.values_list(*columns, "course_raw", named=True), after_user_id, page_size)

    streams = []
    if grades is not None:
        streams.append(map(grade_record, rows(grades, GRADE_COLUMNS)))
    if certificates is not None:
        streams.append(map(certificate_record, rows(certificates, CERTIFICATE_COLUMNS)))
    if enrollments is not None:
        if enrollment_time:
            streams.append(enrollment_record(row, getattr(row, enrollment_time))
                           for row in rows(enrollments, ENROLLMENT_COLUMNS + (enrollment_time,)))
        else:
            streams.append(map(enrollment_record, rows(enrollments, ENROLLMENT_COLUMNS)))
    return merge_by_learner(streams)
