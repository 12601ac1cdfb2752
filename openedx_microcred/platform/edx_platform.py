"""
The adapter used inside edx-platform. Platform imports are done inside the methods so that this
module imports (and the plugin installs) where edx-platform is absent.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db.models import OuterRef, Subquery
from opaque_keys.edx.django.models import CourseKeyField
from opaque_keys.edx.keys import CourseKey

from . import PlatformAdapter, stored_history

log = logging.getLogger(__name__)

_CACHE_SECONDS = 6 * 60 * 60


class EdxPlatformAdapter(PlatformAdapter):
    """Reads course structure and names from edx-platform's own modules."""

    def completable_blocks(self, course_keys):
        counts = {}
        for course_key in course_keys:
            key = f"microcred.completable.{course_key}"
            count = cache.get(key)
            if count is None:
                count = self._count_completable_blocks(CourseKey.from_string(str(course_key)))
                if count is not None:
                    cache.set(key, count, _CACHE_SECONDS)
            if count is not None:
                counts[str(course_key)] = count
        return counts

    @staticmethod
    def _count_completable_blocks(course_key):
        try:
            from xblock.completable import XBlockCompletionMode  # pylint: disable=import-outside-toplevel
            from xmodule.modulestore.django import modulestore  # pylint: disable=import-outside-toplevel
        except ImportError:
            return None
        blocks = modulestore().get_items(course_key)
        return sum(1 for block in blocks if XBlockCompletionMode.get_mode(block) == XBlockCompletionMode.COMPLETABLE)

    def course_names(self, course_keys):
        try:
            from openedx.core.djangoapps.content.course_overviews.models import (  # pylint: disable=import-outside-toplevel
                CourseOverview,
            )
        except ImportError:
            return {}
        keys = [CourseKey.from_string(str(k)) for k in course_keys]
        return {str(o.id): o.display_name for o in CourseOverview.objects.filter(id__in=keys).only("id", "display_name")}

    def course_roles(self, user, course_key):
        try:
            from common.djangoapps.student.models import CourseAccessRole  # pylint: disable=import-outside-toplevel
        except ImportError:
            return set()
        key = CourseKey.from_string(str(course_key))
        return set(CourseAccessRole.objects.filter(user=user, course_id=key).values_list("role", flat=True))

    def org_roles(self, user, org):
        try:
            from common.djangoapps.student.models import CourseAccessRole  # pylint: disable=import-outside-toplevel
        except ImportError:
            return set()
        # An organization role is a CourseAccessRole row with the org and no course.
        rows = CourseAccessRole.objects.filter(user=user, org__iexact=org, course_id=CourseKeyField.Empty)
        return set(rows.values_list("role", flat=True))

    def course_url(self, course_key):
        return f"/courses/{course_key}/about"

    def historical_records(self, course_keys=None, after_user_id=0, page_size=1000):
        """
        From PersistentCourseGrade, GeneratedCertificate and CourseEnrollment (the read replica if
        there is one). An enrollment's time is the last entry of its history table, when it has one.
        """
        grades = certificates = enrollments = None
        try:
            from lms.djangoapps.grades.models import PersistentCourseGrade  # pylint: disable=import-outside-toplevel
            grades = PersistentCourseGrade.objects.using(_history_database())
        except ImportError:
            log.warning("openedx-microcred back-fill: edx-platform's grades are not available in this process")
        try:
            from lms.djangoapps.certificates.models import (  # pylint: disable=import-outside-toplevel
                GeneratedCertificate,
            )
            certificates = GeneratedCertificate.objects.using(_history_database())  # every status, not only eligible
        except ImportError:
            log.warning("openedx-microcred back-fill: edx-platform's certificates are not available in this process")
        enrollment_time = None
        try:
            from common.djangoapps.student.models import CourseEnrollment  # pylint: disable=import-outside-toplevel
            enrollments = CourseEnrollment.objects.using(_history_database())
            history = getattr(CourseEnrollment, "history", None)
            if history is not None:
                changes = history.model._default_manager  # pylint: disable=protected-access
                last_change = changes.filter(id=OuterRef("id")).order_by("-history_date").values("history_date")[:1]
                enrollments = enrollments.annotate(changed_at=Subquery(last_change))
                enrollment_time = "changed_at"
        except ImportError:
            log.warning("openedx-microcred back-fill: edx-platform's enrollments are not available in this process")
        return stored_history(grades, certificates, enrollments, course_keys=course_keys,
                              after_user_id=after_user_id, page_size=page_size, enrollment_time=enrollment_time)


def _history_database():
    """edx-platform's read replica when it is configured: the back-fill only reads the platform's tables."""
    return "read_replica" if "read_replica" in settings.DATABASES else "default"
