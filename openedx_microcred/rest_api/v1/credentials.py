"""
The course team's credential API: list, create, read, change, publish and archive credentials,
and upload their badge images. Views stay thin: the serializer converts, the permission module
decides who may, the model and the catalog validate and save.
"""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_view
from edx_rest_framework_extensions.paginators import DefaultPagination
from rest_framework import generics
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response

from ... import catalog, permissions
from ...models import Credential
from .base import ApiViewMixin
from .permissions import CanManageCredential, check_can_manage
from .serializers import (
    CredentialFilterSerializer,
    CredentialImageSerializer,
    CredentialSerializer,
    api_validation_error,
    save,
)

NOT_ON_COURSE_TEAM = _("You are not on the team of this course or organization.")

_ERRORS = {
    400: OpenApiResponse(description=_("Invalid values: {field: [messages]}; nothing was saved.")),
    401: OpenApiResponse(description=_("Not signed in (session or JWT).")),
    403: OpenApiResponse(description=_("Not on the team of the course or organization; nothing was saved.")),
}
_NOT_FOUND = {404: OpenApiResponse(description=_("No credential with this uuid."))}


class _CredentialView(ApiViewMixin):
    """A credential of a course or an organization, as its team manages it."""

    serializer_class = CredentialSerializer
    permission_classes = (IsAuthenticated, CanManageCredential)
    queryset = Credential.objects.prefetch_related("requires")
    lookup_field = "uuid"


@extend_schema_view(
    get=extend_schema(
        summary=_("List the credentials of a course or an organization"),
        description=_("Give `course_key` (the course team's view) or `org` (every credential of the "
                      "organization, course-level and organization-level); only global staff may leave "
                      "both out. Paginated (`page`, `page_size` up to 100)."),
        parameters=[CredentialFilterSerializer],
        responses={200: CredentialSerializer(many=True), **_ERRORS},
    ),
    post=extend_schema(
        summary=_("Create a credential (a draft)"),
        description=_("JSON, or multipart form data with the badge `image` (then send `criteria` and "
                      "`platform_targets` as JSON text). A course credential whose criteria reach into "
                      "other courses, and an organization-level one, need the organization's team."),
        responses={201: CredentialSerializer, **_ERRORS},
    ),
)
class CredentialListView(_CredentialView, generics.ListCreateAPIView):
    """The credentials of a course or an organization."""

    pagination_class = DefaultPagination

    def list(self, request, *args, **kwargs):
        filters = CredentialFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        course_key, org, state = (filters.validated_data.get(name) for name in ("course_key", "org", "state"))
        if course_key:
            allowed = permissions.can_manage_course(request.user, course_key)
        elif org:
            allowed = permissions.can_manage_org(request.user, org)
        elif permissions.is_global_staff(request.user):
            allowed = True
        else:
            raise ValidationError({"course_key": [_("Give the course_key (or the org) whose credentials to list.")]})
        if not allowed:
            raise PermissionDenied(NOT_ON_COURSE_TEAM)

        queryset = self.get_queryset()
        if course_key:
            queryset = queryset.filter(course_key=course_key)
        if org:
            queryset = queryset.filter(org__iexact=org)
        if state:
            queryset = queryset.filter(state=state)
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def perform_create(self, serializer):
        data = serializer.validated_data
        check_can_manage(self.request.user, data["org"], data.get("course_key"), data["criteria"])
        with transaction.atomic():
            serializer.save()


@extend_schema_view(
    get=extend_schema(summary=_("Read a credential"), responses={200: CredentialSerializer, **_ERRORS, **_NOT_FOUND}),
    put=extend_schema(
        summary=_("Replace a credential's values"),
        description=_("The slug cannot change. Permission is checked on the stored credential and on the new values."),
        responses={200: CredentialSerializer, **_ERRORS, **_NOT_FOUND},
    ),
    patch=extend_schema(
        summary=_("Change some of a credential's values"),
        description=_("The slug cannot change. Permission is checked on the stored credential and on the new values."),
        responses={200: CredentialSerializer, **_ERRORS, **_NOT_FOUND},
    ),
)
class CredentialDetailView(_CredentialView, generics.RetrieveUpdateAPIView):
    """One credential."""

    def perform_update(self, serializer):
        stored, data = serializer.instance, serializer.validated_data
        check_can_manage(
            self.request.user,
            data.get("org", stored.org),
            data["course_key"] if "course_key" in data else stored.course_key,
            data.get("criteria", stored.criteria),
        )
        with transaction.atomic():
            serializer.save()


class _StateChangeView(_CredentialView, generics.GenericAPIView):
    """Moves a credential to another state through the catalog."""

    @staticmethod
    def change(credential):
        """The catalog function that moves ``credential``: each view names its own."""
        raise NotImplementedError

    def post(self, request, *args, **kwargs):
        """Apply ``change`` to the credential; a refusal of the catalog is a 400 that says why."""
        credential = self.get_object()
        try:
            self.change(credential)
        except DjangoValidationError as exc:
            raise api_validation_error(exc) from exc
        return Response(self.get_serializer(credential).data)


@extend_schema_view(post=extend_schema(
    summary=_("Publish a credential"),
    description=_("It becomes earnable, and learners who already meet its criteria are evaluated. Every "
                  "credential it requires must be active already (400 otherwise)."),
    request=None, responses={200: CredentialSerializer, **_ERRORS, **_NOT_FOUND},
))
class CredentialPublishView(_StateChangeView):
    """Publishes a credential."""

    change = staticmethod(catalog.publish_credential)


@extend_schema_view(post=extend_schema(
    summary=_("Archive a credential"),
    description=_("It can no longer be earned; awards already made stay valid. An active stack that "
                  "requires it must be archived first (400 otherwise)."),
    request=None, responses={200: CredentialSerializer, **_ERRORS, **_NOT_FOUND},
))
class CredentialArchiveView(_StateChangeView):
    """Archives a credential."""

    change = staticmethod(catalog.archive_credential)


@extend_schema_view(
    put=extend_schema(
        summary=_("Upload the badge image"),
        description=_("Multipart form data with one file, `image`: a PNG or an SVG (no scripts, no "
                      "external references) of at most 512 KiB."),
        request={"multipart/form-data": CredentialImageSerializer},
        responses={200: CredentialSerializer, **_ERRORS, **_NOT_FOUND},
    ),
    delete=extend_schema(
        summary=_("Remove the badge image"),
        description=_("The credential is left without a badge image."),
        request=None, responses={200: CredentialSerializer, **_ERRORS, **_NOT_FOUND},
    ),
)
class CredentialImageView(_CredentialView, generics.GenericAPIView):
    """The badge image of a credential."""

    serializer_class = CredentialImageSerializer
    parser_classes = (MultiPartParser, FormParser)

    def put(self, request, *args, **kwargs):
        """Replace the badge image of the credential with the uploaded one."""
        credential = self.get_object()
        serializer = self.get_serializer(credential, data=request.data)
        serializer.is_valid(raise_exception=True)
        with transaction.atomic():
            serializer.save()
        return self._credential(credential)

    def delete(self, request, *args, **kwargs):
        credential = self.get_object()
        credential.image = ""
        save(credential)
        return self._credential(credential)

    def _credential(self, credential):
        return Response(CredentialSerializer(credential, context=self.get_serializer_context()).data)
