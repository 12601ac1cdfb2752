"""
What every v1 view shares: authentication the way Open edX services do it (JWT cookie or header
and the LMS session, from edx-drf-extensions), JSON only, and drf-spectacular's AutoSchema for the
OpenAPI schema (schema.py), whatever the host's DEFAULT_SCHEMA_CLASS.
"""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from edx_rest_framework_extensions.auth.jwt.authentication import JwtAuthentication
from edx_rest_framework_extensions.auth.session.authentication import SessionAuthenticationAllowInactiveUser
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer
from rest_framework.schemas.openapi import AutoSchema as DrfAutoSchema

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


class ApiViewMixin:
    """Mixed into every v1 view."""

    authentication_classes = AUTHENTICATION_CLASSES
    renderer_classes = (JSONRenderer,)
    parser_classes = (JSONParser, MultiPartParser, FormParser)
    schema = AutoSchema()
