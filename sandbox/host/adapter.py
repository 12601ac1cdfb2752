"""The platform adapter of the standalone host: reads the host's own Course and CourseAccessRole tables."""

from openedx_microcred.platform import PlatformAdapter

from .models import Course, CourseAccessRole


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
        rows = CourseAccessRole.objects.filter(user=user, org__iexact=org, course_key__isnull=True)
        return set(rows.values_list("role", flat=True))

    def course_url(self, course_key):
        return f"/courses/{course_key}/"
