"""REST API v1 routes, under /microcred/api/v1/ in the LMS and in Studio (namespace "v1"); see docs/rest-api.md."""

from django.urls import path

from . import credentials, learner
from .schema import SchemaView

urlpatterns = [
    # The course team's credentials.
    path("credentials/", credentials.CredentialListView.as_view(), name="credential-list"),
    path("credentials/<uuid:uuid>/", credentials.CredentialDetailView.as_view(), name="credential-detail"),
    path("credentials/<uuid:uuid>/publish/", credentials.CredentialPublishView.as_view(), name="credential-publish"),
    path("credentials/<uuid:uuid>/archive/", credentials.CredentialArchiveView.as_view(), name="credential-archive"),
    path("credentials/<uuid:uuid>/image/", credentials.CredentialImageView.as_view(), name="credential-image"),
    # The requesting learner's own awards and progress.
    path("me/awards/", learner.MyAwardsView.as_view(), name="my-awards"),
    path("me/awards/<uuid:uuid>/visibility/", learner.AwardVisibilityView.as_view(), name="my-award-visibility"),
    path("me/sharing/", learner.SharingView.as_view(), name="my-sharing"),
    path("me/progress/", learner.MyProgressView.as_view(), name="my-progress"),
    path("me/external-credentials/", learner.MyExternalCredentialsView.as_view(), name="my-external-credentials"),
    path("me/external-credentials/<int:id>/", learner.MyExternalCredentialDetailView.as_view(),
         name="my-external-credential"),
    path("me/dashboard-widget/", learner.DashboardWidgetView.as_view(), name="dashboard-widget"),
    # The OpenAPI 3 schema of all of the above.
    path("schema/", SchemaView.as_view(), name="schema"),
]
