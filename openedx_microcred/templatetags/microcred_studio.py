"""
The Studio chrome of the plugin's Studio pages: Studio's header (logo, the course, its menu, the
user) and the course's breadcrumbs, as the course authoring MFE shows them, with links to
Studio's own pages where the platform adapter knows them (``PlatformAdapter.studio_links``).
"""

from django import template
from django.urls import reverse
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from ..platform import get_platform

register = template.Library()


def _course_key(value):
    """``value`` as a CourseKey, or None when it is empty or not a course key."""
    if not value:
        return None
    try:
        return value if isinstance(value, CourseKey) else CourseKey.from_string(str(value))
    except InvalidKeyError:
        return None


@register.inclusion_tag("openedx_microcred/studio/_header.html", takes_context=True)
def studio_header(context, course_key=None, current=""):
    """``current``: "credentials" or "reports", the plugin page of the course the user is on."""
    key = _course_key(course_key)
    links = get_platform().studio_links(key) if key else get_platform().studio_links(None)
    name = get_platform().course_names([str(key)]).get(str(key), "") if key else ""
    return {
        "user": context.get("user"),
        "course_key": key,
        "course_name": name,
        "links": links,
        "credentials_url": reverse("openedx_microcred:studio-course", kwargs={"course_key": str(key)}) if key else "",
        "reports_url": reverse("openedx_microcred:studio-course-reports", kwargs={"course_key": str(key)})
        if key else "",
        "current": current,
    }
