"""The platform adapter of the standalone host: reads the host's own tables (courses, roles, history)."""

from opaque_keys.edx.django.models import CourseKeyField

from openedx_microcred.organizations import course_org
from openedx_microcred.platform import PlatformAdapter, stored_history

from .models import Course, CourseAccessRole, CourseEnrollment, CourseGrade, GeneratedCertificate


class StandalonePlatformAdapter(PlatformAdapter):
    def completable_blocks(self, course_keys):
        rows = Course.objects.filter(course_key__in=list(course_keys)).values_list("course_key", "completable_blocks")
        return {str(key): count for key, count in rows}

    def course_names(self, course_keys):
        rows = Course.objects.filter(course_key__in=list(course_keys)).values_list("course_key", "display_name")
        return {str(key): name for key, name in rows}

    def course_roles(self, user, course_key):
        if not getattr(user, "is_authenticated", False):
            return set()
        return set(CourseAccessRole.objects.filter(user=user, course_key=str(course_key)).values_list("role", flat=True))

    def org_roles(self, user, org):
        if not getattr(user, "is_authenticated", False):
            return set()
        # As in edx-platform, an organization role is a row with no course (CourseKeyField stores "").
        rows = CourseAccessRole.objects.filter(user=user, org__iexact=org, course_key=CourseKeyField.Empty)
        return set(rows.values_list("role", flat=True))

    def org_courses(self, orgs):
        orgs = {org.lower() for org in orgs}
        keys = Course.objects.values_list("course_key", flat=True)
        return sorted(str(key) for key in keys if key.org.lower() in orgs)

    def role_courses(self, user, roles, orgs):
        if not getattr(user, "is_authenticated", False):
            return []
        wanted = {org.lower() for org in orgs}
        keys = set()
        rows = CourseAccessRole.objects.filter(user=user, role__in=list(roles)).values_list("org", "course_key")
        for org, key in rows:
            if key:
                keys.add(str(key))
            elif org.lower() in wanted:  # an organization role: every course of the organization
                keys.update(self.org_courses([org]))
        return sorted(key for key in keys if (course_org(key) or "").lower() in wanted)

    def studio_links(self, course_key):
        # The demo Studio has a course list and no course outline or Pages & Resources of its own.
        return {"home": "/", "outline": None, "pages": None}

    def course_url(self, course_key):
        return f"/courses/{course_key}/"

    def historical_records(self, course_keys=None, after_user_id=0, page_size=1000):
        return stored_history(CourseGrade.objects, GeneratedCertificate.objects, CourseEnrollment.objects,
                              course_keys=course_keys, after_user_id=after_user_id, page_size=page_size,
                              enrollment_time="modified")
