"""
DRF permission classes of the v1 API. They only wrap openedx_microcred.permissions, where the rules
live (course team for a course's credentials, organization team for organization-level ones and
for criteria that reach into other courses, global staff everywhere).
"""

from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import PermissionDenied
from rest_framework.permissions import SAFE_METHODS, BasePermission

from ... import permissions, rules
from ...models import Credential

NOT_ON_TEAM = _("You are not on the team of this credential's course or organization.")
OUTSIDE_COURSE = _(
    "These criteria reach into other courses or their credentials: only the organization's team can "
    "save them."
)


def course_of_credential_lookup(criteria, course_key):
    """
    A ``course_of_credential`` function for permissions.can_manage_credential: the course key (str,
    or None at organization level) of each credential ``criteria`` require, read in one query.

    A slug that names no stored credential counts as inside ``course_key``: such criteria are
    invalid, and saving them fails validation with a 400 that names the unknown credential, rather
    than a 403 that would hide the mistake.
    """
    try:
        slugs = rules.parse_criteria(criteria).credentials()
    except rules.InvalidCriteria:
        slugs = ()
    courses = {
        slug: (str(key) if key else None)
        for slug, key in Credential.objects.filter(slug__in=list(slugs)).values_list("slug", "course_key")
    }
    own = str(course_key) if course_key else None
    return lambda slug: courses.get(slug, own)


def may_manage(user, org, course_key, criteria=None) -> bool:
    """Whether ``user`` may save a credential of ``org`` and ``course_key`` with ``criteria`` (None: any)."""
    if criteria is None:
        return permissions.can_manage_credential(user, org, course_key)
    return permissions.can_manage_credential(
        user, org, course_key, criteria, course_of_credential_lookup(criteria, course_key)
    )


def check_can_manage(user, org, course_key, criteria=None):
    """Raise PermissionDenied (403) unless ``user`` may save such a credential; say why."""
    if may_manage(user, org, course_key, criteria):
        return
    if criteria is not None and permissions.can_manage_credential(user, org, course_key):
        raise PermissionDenied(OUTSIDE_COURSE)
    raise PermissionDenied(NOT_ON_TEAM)


class CanManageCredential(BasePermission):
    """
    Object permission on a stored credential: reading it needs its course (or organization) team;
    changing, publishing or archiving it also needs the organization team when its stored criteria
    reach outside its course. The values a change brings are checked by the view (check_can_manage).
    """

    message = NOT_ON_TEAM

    def has_object_permission(self, request, view, obj):
        if request.method in SAFE_METHODS:
            return may_manage(request.user, obj.org, obj.course_key)
        if not may_manage(request.user, obj.org, obj.course_key, obj.criteria):
            self.message = OUTSIDE_COURSE if may_manage(request.user, obj.org, obj.course_key) else NOT_ON_TEAM
            return False
        return True
