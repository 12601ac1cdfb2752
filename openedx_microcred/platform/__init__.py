"""
The one place that knows about the platform the plugin runs in.

Everything that needs edx-platform (course names, completable-block counts, who a user is) goes
through the adapter named by the ``MICROCRED_PLATFORM_ADAPTER`` setting: ``edx_platform`` inside
Open edX, a standalone one in the demo host and the tests.
"""

from functools import lru_cache

from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils.module_loading import import_string
from openedx_events.learning.data import UserData, UserPersonalData


class PlatformAdapter:
    """What the plugin asks of the platform. Subclasses override what their platform knows better."""

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


@lru_cache(maxsize=None)
def _adapter(path):
    return import_string(path)()


def get_platform() -> PlatformAdapter:
    return _adapter(settings.MICROCRED_PLATFORM_ADAPTER)
