"""
Studio page routes, under /microcred/studio/ in Studio (namespace ``openedx_microcred``).

Course keys are matched as one path segment: ``course-v1:Org+Course+Run`` (the old
``Org/Course/Run`` form, with slashes, is not supported here).
"""

from django.urls import path

from .. import report_views
from . import views

urlpatterns = [
    path("course/<str:course_key>/", views.course_credentials, name="studio-course"),
    path("course/<str:course_key>/new/", views.credential_new, name="studio-credential-new"),
    path("course/<str:course_key>/new-stack/", views.stack_new, name="studio-stack-new"),
    path("course/<str:course_key>/reports/", report_views.course_report, name="studio-course-reports"),
    path("credentials/<uuid:uuid>/edit/", views.credential_edit, name="studio-credential-edit"),
    path("credentials/<uuid:uuid>/preview/", views.credential_preview, name="studio-credential-preview"),
    path("credentials/<uuid:uuid>/publish/", views.credential_state, {"action": "publish"},
         name="studio-credential-publish"),
    path("credentials/<uuid:uuid>/archive/", views.credential_state, {"action": "archive"},
         name="studio-credential-archive"),
]
