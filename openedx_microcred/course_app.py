"""
The "Microcredentials" course app: how Studio's Pages & Resources (the course authoring MFE) finds
the plugin. Registered under the ``openedx.course_app`` entry point (setup.cfg), which
edx-platform's ``CourseAppsPluginManager`` reads; the entry point name is the app id.

The app is always on: a course without credentials awards nothing, so there is nothing to switch.
Its "configure" link (``legacy_link``) opens the course's credential list in Studio, for the
members of the course team.
"""

from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .permissions import can_manage_course

try:  # edx-platform (Studio and the LMS); absent in the standalone host and the tests
    from openedx.core.djangoapps.course_apps.plugins import CourseApp as _CourseAppBase
except ImportError:  # pragma: no cover - depends on the environment
    _CourseAppBase = object


class MicrocredentialsCourseApp(_CourseAppBase):
    """Stackable microcredentials: credentials and stacks a course team defines, issued as Open Badges 3.0."""

    app_id = "microcredentials"
    name = _("Microcredentials")
    description = _("Award digital credentials (Open Badges 3.0) for passing, grades, completion and "
                    "certificates, and stack them into larger credentials.")
    documentation_links = {}

    @classmethod
    def is_available(cls, course_key) -> bool:  # pylint: disable=unused-argument  (CourseApp's signature)
        """Available for every course the plugin is installed for."""
        return True

    @classmethod
    def is_enabled(cls, course_key) -> bool:  # pylint: disable=unused-argument  (CourseApp's signature)
        """Always enabled: a course's credentials, not a switch, decide whether anything is awarded."""
        return True

    @classmethod
    def set_enabled(cls, course_key, enabled, user):
        """The app cannot be turned off per course: archive the course's credentials instead."""
        raise ValueError(gettext("Microcredentials cannot be enabled or disabled for a single course; "
                                 "archive the course's credentials to stop awarding them."))

    @classmethod
    def get_allowed_operations(cls, course_key, user=None) -> dict:
        """Nothing to enable; configuring is for the course team (anyone, when no user is given)."""
        return {
            "enable": False,
            "configure": user is None or can_manage_course(user, course_key),
        }

    @staticmethod
    def legacy_link(course_key):
        """The Studio page where the course team manages the course's credentials."""
        return reverse("openedx_microcred:studio-course", kwargs={"course_key": str(course_key)})
