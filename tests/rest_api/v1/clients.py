"""Calling the course team's REST API (v1) as one user or another."""

from django.urls import reverse
from rest_framework.test import APIClient

LIST = reverse("openedx_microcred:v1:credential-list")


def client_for(user=None):
    """An API client signed in through the LMS session (None: anonymous)."""
    client = APIClient()
    if user is not None:
        client.force_login(user)
    return client
