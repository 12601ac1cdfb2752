"""
The adapter used inside edx-platform. Platform imports are done inside the methods so that this
module imports (and the plugin installs) where edx-platform is absent.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from django.db.models import OuterRef, Subquery
from opaque_keys import InvalidKeyError
from opaque_keys.edx.django.models import CourseKeyField
from opaque_keys.edx.keys import CourseKey

from . import PlatformAdapter, stored_history

log = logging.getLogger(__name__)

_CACHE_SECONDS = 6 * 60 * 60
# A count is kept per version of the course's block structure: a new version is a new entry.
_VERSIONED_CACHE_SECONDS = 7 * 24 * 60 * 60
_UNKNOWN, _UNKNOWN_SECONDS = -1, 10 * 60


class EdxPlatformAdapter(PlatformAdapter):
    """Reads course structure and names from edx-platform's own modules."""

    def completable_blocks(self, course_keys):
        counts = {}
        for course_key in course_keys:
            count = _completable_blocks(str(course_key))
            if count is not None:
                counts[str(course_key)] = count
        return counts

    def course_names(self, course_keys):
        try:
            # pylint: disable=import-outside-toplevel  (edx-platform's modules exist only in the LMS)
            from openedx.core.djangoapps.content.course_overviews.models import CourseOverview
        except ImportError:
            return {}
        keys = [CourseKey.from_string(str(k)) for k in course_keys]
        overviews = CourseOverview.objects.filter(id__in=keys).only("id", "display_name")
        return {str(o.id): o.display_name for o in overviews}

    def course_roles(self, user, course_key):
        try:
            # pylint: disable=import-outside-toplevel  (edx-platform's modules exist only in the LMS)
            from common.djangoapps.student.models import CourseAccessRole
        except ImportError:
            return set()
        key = CourseKey.from_string(str(course_key))
        return set(CourseAccessRole.objects.filter(user=user, course_id=key).values_list("role", flat=True))

    def org_roles(self, user, org):
        try:
            # pylint: disable=import-outside-toplevel  (edx-platform's modules exist only in the LMS)
            from common.djangoapps.student.models import CourseAccessRole
        except ImportError:
            return set()
        # An organization role is a CourseAccessRole row with the org and no course.
        rows = CourseAccessRole.objects.filter(user=user, org__iexact=org, course_id=CourseKeyField.Empty)
        return set(rows.values_list("role", flat=True))

    def org_courses(self, orgs):
        try:
            # pylint: disable=import-outside-toplevel  (edx-platform's modules exist only in the LMS)
            from openedx.core.djangoapps.content.course_overviews.models import CourseOverview
        except ImportError:
            return []
        keys = set()
        for org in orgs:
            keys.update(str(key) for key in CourseOverview.objects.filter(org__iexact=org).values_list("id", flat=True))
        return sorted(keys)

    def role_courses(self, user, roles, orgs):
        try:
            # pylint: disable=import-outside-toplevel  (edx-platform's modules exist only in the LMS)
            from common.djangoapps.student.models import CourseAccessRole
        except ImportError:
            return []
        wanted = {org.lower() for org in orgs}
        keys, org_wide = set(), set()
        rows = CourseAccessRole.objects.filter(user=user, role__in=list(roles)).values_list("org", "course_id")
        for org, key in rows:
            if key:
                keys.add(str(key))
            elif org and org.lower() in wanted:  # an organization role: every course of the organization
                org_wide.add(org)
        keys.update(self.org_courses(org_wide))
        return sorted(key for key in keys if str(CourseKey.from_string(key).org).lower() in wanted)

    def studio_links(self, course_key):
        # The course authoring MFE where it is configured (Sumac and later), Studio's legacy pages otherwise.
        mfe = (getattr(settings, "COURSE_AUTHORING_MICROFRONTEND_URL", None) or "").rstrip("/")
        if mfe:
            return {"home": f"{mfe}/home", "outline": f"{mfe}/course/{course_key}",
                    "pages": f"{mfe}/course/{course_key}/pages-and-resources"}
        return {"home": "/home/", "outline": f"/course/{course_key}",
                "pages": f"/course/{course_key}/pages-and-resources"}

    def course_url(self, course_key):
        return f"/courses/{course_key}/about"

    def historical_records(self, course_keys=None, after_user_id=0, page_size=1000):
        """
        From PersistentCourseGrade, GeneratedCertificate and CourseEnrollment (the read replica if
        there is one). An enrollment's time is the last entry of its history table, when it has one.
        """
        grades = certificates = enrollments = None
        try:
            # pylint: disable=import-outside-toplevel  (edx-platform's modules exist only in the LMS)
            from lms.djangoapps.grades.models import PersistentCourseGrade
            grades = PersistentCourseGrade.objects.using(_history_database())
        except ImportError:
            log.warning("openedx-microcred back-fill: edx-platform's grades are not available in this process")
        try:
            # pylint: disable=import-outside-toplevel  (edx-platform's modules exist only in the LMS)
            from lms.djangoapps.certificates.models import GeneratedCertificate
            certificates = GeneratedCertificate.objects.using(_history_database())  # every status, not only eligible
        except ImportError:
            log.warning("openedx-microcred back-fill: edx-platform's certificates are not available in this process")
        enrollment_time = None
        try:
            # pylint: disable=import-outside-toplevel  (edx-platform's modules exist only in the LMS)
            from common.djangoapps.student.models import CourseEnrollment
            enrollments = CourseEnrollment.objects.using(_history_database())
            history = getattr(CourseEnrollment, "history", None)
            if history is not None:
                changes = history.model._default_manager  # pylint: disable=protected-access  (Django's documented name)
                last_change = changes.filter(id=OuterRef("id")).order_by("-history_date").values("history_date")[:1]
                enrollments = enrollments.annotate(changed_at=Subquery(last_change))
                enrollment_time = "changed_at"
        except ImportError:
            log.warning("openedx-microcred back-fill: edx-platform's enrollments are not available in this process")
        return stored_history(grades, certificates, enrollments, course_keys=course_keys,
                              after_user_id=after_user_id, page_size=page_size, enrollment_time=enrollment_time)


def _completable_blocks(course_key):
    """
    How many blocks of the published course a learner can complete, counted as edx-completion
    counts them (``CompletionService.get_completable_children``): from the course down through
    aggregators (chapters, sequences, verticals, libraries...) to the completable leaves, so that
    orphans and detached blocks (about, course_info, static_tab) are not counted and excluded
    blocks and whatever is beneath them are left out. None when the course is unknown (a deleted
    course, a wrong key): a completion requirement on it is then unknown, nothing fails. Cached
    per version of the platform's block structure, which is rebuilt whenever the course is
    published.
    """
    try:
        # pylint: disable=import-outside-toplevel  (edx-platform's modules exist only in the LMS)
        from openedx.core.djangoapps.content.block_structure.api import get_course_in_cache
        from openedx.core.djangoapps.content.block_structure.exceptions import BlockStructureNotFound
        from openedx.core.djangoapps.content.block_structure.models import BlockStructureModel
        from xblock.completable import XBlockCompletionMode
        from xmodule.modulestore.django import modulestore
        from xmodule.modulestore.exceptions import ItemNotFoundError
    except ImportError:
        return None
    try:
        key = CourseKey.from_string(course_key)
    except InvalidKeyError:
        log.warning("openedx-microcred: %r is not a course key; its completion is unknown", course_key)
        return None
    try:
        version = BlockStructureModel.get(modulestore().make_course_usage_key(key)).data_version or ""
    except BlockStructureNotFound:
        version = ""  # not stored (yet): the count is kept for _CACHE_SECONDS
    cache_key = f"microcred.completable.{course_key}.{version}"
    count = cache.get(cache_key)
    if count is None:
        try:
            count = _count_completable(get_course_in_cache(key), XBlockCompletionMode)
        except ItemNotFoundError:
            log.warning("openedx-microcred: course %s is not in the modulestore; its completion is unknown", course_key)
            count = _UNKNOWN  # remembered a while: a deleted course's learners do not each ask again
        cache.set(cache_key, count, _UNKNOWN_SECONDS if count == _UNKNOWN else
                  _VERSIONED_CACHE_SECONDS if version else _CACHE_SECONDS)
    return None if count == _UNKNOWN else count


def _count_completable(structure, modes):
    """Completable blocks reachable from the root of a collected block structure through aggregators."""
    count, seen = 0, set()
    pending = [structure.root_block_usage_key]
    while pending:
        block = pending.pop()
        if block in seen:
            continue  # a DAG: a block under two parents is counted once
        seen.add(block)
        # The collected field is absent for blocks whose class does not set it: completable, as
        # XBlockCompletionMode.get_mode says.
        mode = structure.get_xblock_field(block, "completion_mode", modes.COMPLETABLE)
        if mode == modes.AGGREGATOR:
            pending.extend(structure.get_children(block))
        elif mode == modes.COMPLETABLE:
            count += 1
    return count


def _history_database():
    """edx-platform's read replica when it is configured: the back-fill only reads the platform's tables."""
    return "read_replica" if "read_replica" in settings.DATABASES else "default"
