"""
What every v1 view shares: authentication the way Open edX services do it (JWT cookie or header
and the LMS session, from edx-drf-extensions), JSON only, and drf-spectacular's AutoSchema for the
OpenAPI schema (schema.py), whatever the host's DEFAULT_SCHEMA_CLASS.
"""

from django.conf import settings
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from edx_rest_framework_extensions.auth.jwt.authentication import JwtAuthentication
from edx_rest_framework_extensions.auth.session.authentication import SessionAuthenticationAllowInactiveUser
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.schemas.openapi import AutoSchema as DrfAutoSchema
from rest_framework.utils import json as drf_json

from ...limits import MAX_JSON_BYTES, MAX_JSON_DEPTH, loads_bounded

AUTHENTICATION_CLASSES = (JwtAuthentication, SessionAuthenticationAllowInactiveUser)


class AutoSchema(SpectacularAutoSchema, DrfAutoSchema):
    """
    drf-spectacular's AutoSchema, ahead of DRF's own in the class hierarchy.

    ``@extend_schema`` on a view method builds its annotation on the host's DEFAULT_SCHEMA_CLASS,
    which edx-platform leaves at DRF's ``openapi.AutoSchema`` (and a plugin must not change);
    drf-spectacular then re-bases the annotation on the view's schema class. Deriving from both
    makes that re-based class resolve to drf-spectacular's methods, so method annotations work in
    the LMS as they do in a project that sets DEFAULT_SCHEMA_CLASS to drf-spectacular's.
    """


class BoundedJSONParser(JSONParser):
    """
    DRF's JSONParser with the plugin's input limits (limits.py): a body larger than MAX_JSON_BYTES
    or nested deeper than MAX_JSON_DEPTH is a 400 that says so, never a RecursionError (a 500).
    """

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            text = stream.read(MAX_JSON_BYTES + 1).decode(encoding)
            parse_constant = drf_json.strict_constant if self.strict else None
            return loads_bounded(text, MAX_JSON_DEPTH, MAX_JSON_BYTES, parse_constant=parse_constant)
        except ValueError as exc:
            raise ParseError(_("JSON parse error - %(error)s") % {"error": exc}) from exc


class UnsavedSerializer(serializers.Serializer):
    """
    A serializer that is never saved: the shape of a response, or the parameters of a request.

    DRF leaves ``create`` and ``update`` to each serializer; these refuse, so no subclass needs them.
    """

    def create(self, validated_data):
        raise TypeError(f"{type(self).__name__} is never saved")

    def update(self, instance, validated_data):
        raise TypeError(f"{type(self).__name__} is never saved")


class ApiViewMixin:
    """Mixed into every v1 view."""

    authentication_classes = AUTHENTICATION_CLASSES
    renderer_classes = (JSONRenderer,)
    parser_classes = (BoundedJSONParser, MultiPartParser, FormParser)
    schema = AutoSchema()
