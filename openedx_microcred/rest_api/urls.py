"""The versioned REST API, mounted at /microcred/api/ in the LMS and in Studio."""

from django.urls import include, path

urlpatterns = [
    path("v1/", include(("openedx_microcred.rest_api.v1.urls", "v1"), namespace="v1")),
]
