"""Form fields shared by the admin's and Studio's forms."""

import django
from django import forms


def https_url_field(**kwargs) -> forms.URLField:
    """
    A URL field that reads a URL typed without a scheme as https. Django 5.0 added
    ``assume_scheme`` (and warns without it); Django 4.2, which Sumac and Teak run, has no such
    argument and reads such a URL as http.
    """
    if django.VERSION >= (5, 0):
        kwargs.setdefault("assume_scheme", "https")
    return forms.URLField(**kwargs)
