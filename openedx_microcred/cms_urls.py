"""URLs the plugin adds under /microcred/ in Studio: the course team's pages and the REST API."""

from django.urls import include, path

app_name = "openedx_microcred"

urlpatterns = [
    path("api/", include("openedx_microcred.rest_api.urls")),
    path("studio/", include("openedx_microcred.studio.urls")),
]
