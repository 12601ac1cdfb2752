"""
Who may do what. The REST API, the Studio pages and the learner pages all ask here; roles come
from the platform adapter (edx-platform's course access roles, or the demo host's own table).

- A learner sees their own awards and progress; global staff see anyone's.
- A course team member (course role "staff" or "instructor", or the same role for the whole
  organization) manages the credentials of that course, as long as their criteria stay inside the
  course: its own course facts and other credentials of the same course.
- An organization-level credential (no course), or one whose criteria reach into other courses
  (a stack across courses), needs an organization role or global staff.
"""

from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from . import rules
from .platform import get_platform

COURSE_TEAM_ROLES = frozenset({"staff", "instructor"})


def is_global_staff(user) -> bool:
    """Whether ``user`` is an active staff member or superuser of the whole platform."""
    return bool(getattr(user, "is_authenticated", False) and user.is_active and (user.is_staff or user.is_superuser))


def can_manage_org(user, org) -> bool:
    """Whether ``user`` may manage the organization-level credentials of ``org`` (its course team, or global staff)."""
    if is_global_staff(user):
        return True
    if not getattr(user, "is_authenticated", False) or not user.is_active or not org:
        return False
    return bool(get_platform().org_roles(user, org) & COURSE_TEAM_ROLES)


def can_manage_course(user, course_key) -> bool:
    """Whether ``user`` may manage the credentials of ``course_key`` (its course team, or global staff)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    if is_global_staff(user):
        return True
    key = course_key if isinstance(course_key, CourseKey) else CourseKey.from_string(str(course_key))
    if get_platform().course_roles(user, key) & COURSE_TEAM_ROLES:
        return True
    return can_manage_org(user, key.org)


def team_courses(user, orgs) -> list[str]:
    """The courses of ``orgs`` whose team ``user`` is on (every course of them for global staff), as keys (str)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return []
    if is_global_staff(user):
        return get_platform().org_courses(orgs)
    return get_platform().role_courses(user, COURSE_TEAM_ROLES, orgs)


def reaches_outside_course(course_key, criteria, course_of_credential) -> bool:
    """
    Whether ``criteria`` (a requirement tree, or its JSON) read anything outside ``course_key``:
    a fact of another course, or a credential that is not one of this course's.
    ``course_of_credential`` maps a required credential's slug to its course key (str or None).
    """
    tree = criteria if isinstance(criteria, rules.Requirement) else rules.parse_criteria(criteria)
    course = str(course_key)
    if any(str(key) != course for key in tree.courses()):
        return True
    return any(course_of_credential(slug) != course for slug in tree.credentials())


def can_manage_credential(user, org, course_key, criteria=None, course_of_credential=None) -> bool:
    """
    Whether ``user`` may create, change, publish or archive a credential of ``org`` in ``course_key``
    (None: organization level) with ``criteria``. Pass the criteria being saved so that a stack
    across courses asks for the organization role; ``course_of_credential`` as in
    ``reaches_outside_course``.
    """
    if course_key in (None, ""):
        return can_manage_org(user, org)
    try:
        key = course_key if isinstance(course_key, CourseKey) else CourseKey.from_string(str(course_key))
    except InvalidKeyError:
        return False
    if not can_manage_course(user, key):
        return False
    if criteria is not None and course_of_credential is not None:
        try:
            outside = reaches_outside_course(key, criteria, course_of_credential)
        except rules.InvalidCriteria:
            return True  # the criteria are invalid: that is a 400 for validation to explain, not a 403
        if outside:
            return can_manage_org(user, key.org)
    return True


def can_view_learner(user, learner_id) -> bool:
    """Whether ``user`` may see the credentials of learner ``learner_id``: the learner themself, or global staff."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.pk == learner_id or is_global_staff(user)
