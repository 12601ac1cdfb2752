"""
The adapter used inside edx-platform. Platform imports are done inside the methods so that this
module imports (and the plugin installs) where edx-platform is absent.
"""

import logging

from django.core.cache import cache
from opaque_keys.edx.django.models import CourseKeyField
from opaque_keys.edx.keys import CourseKey

from . import PlatformAdapter

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
