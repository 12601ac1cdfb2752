"""The platform adapter of the standalone host: reads the host's own Course table."""

from openedx_microcred.platform import PlatformAdapter

from .models import Course


class StandalonePlatformAdapter(PlatformAdapter):
    def completable_blocks(self, course_keys):
        rows = Course.objects.filter(course_key__in=list(course_keys)).values_list("course_key", "completable_blocks")
        return {str(key): count for key, count in rows}

    def course_names(self, course_keys):
        rows = Course.objects.filter(course_key__in=list(course_keys)).values_list("course_key", "display_name")
        return {str(key): name for key, name in rows}
