"""URLs the plugin adds under /microcred/ in the LMS and Studio."""

from django.urls import include, path

from . import report_views, views

app_name = "openedx_microcred"

urlpatterns = [
    path("api/", include("openedx_microcred.rest_api.urls")),
    path("my/", views.my_credentials, name="my-credentials"),
    path("my/sharing/", views.sharing, name="sharing"),
    path("my/credentials/<uuid:award_uuid>/visibility/", views.credential_visibility,
         name="credential-visibility"),
    path("my/external/", views.external_credential_add, name="external-credential-add"),
    path("my/external/<int:pk>/remove/", views.external_credential_remove, name="external-credential-remove"),
    path("credentials/<uuid:award_uuid>/", views.credential_page, name="credential-page"),
    path("credentials/<uuid:award_uuid>.json", views.credential_json, name="credential-json"),
    path("badges/<uuid:credential_uuid>/<str:name>", views.badge_image, name="badge-image"),
    path("status/<int:number>", views.status_list, name="status-list"),
    path("did.json", views.did_document, name="did-document"),
    path("contexts/microcredential-v1.jsonld", views.extension_context, name="extension-context"),
    path("webhooks/credly/<slug:account>/", views.credly_webhook, name="credly-webhook"),
    path("reports/", report_views.operator_report, name="reports"),
]
