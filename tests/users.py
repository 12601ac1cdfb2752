"""Users with course roles (the host's CourseAccessRole) and clients signed in as them."""

from django.contrib.auth import get_user_model
from django.test import Client

from sandbox.host.models import CourseAccessRole


def make_user(username, *roles, **fields):
    """A user with the given ``(org, course_key, role)`` course roles."""
    user = get_user_model().objects.create_user(username, f"{username}@example.com", "pw", **fields)
    for org, course_key, role in roles:
        CourseAccessRole.objects.create(user=user, org=org, course_key=course_key, role=role)
    return user


def client_for(user=None):
    """A browser's client signed in as ``user`` (None: anonymous)."""
    client = Client()
    if user is not None:
        client.force_login(user)
    return client
