"""
What every v1 view shares: authentication the way Open edX services do it (JWT cookie or header
and the LMS session, from edx-drf-extensions), and JSON only.
"""

from edx_rest_framework_extensions.auth.jwt.authentication import JwtAuthentication
from edx_rest_framework_extensions.auth.session.authentication import SessionAuthenticationAllowInactiveUser
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.renderers import JSONRenderer

AUTHENTICATION_CLASSES = (JwtAuthentication, SessionAuthenticationAllowInactiveUser)


class ApiViewMixin:
    """Mixed into every v1 view."""

    authentication_classes = AUTHENTICATION_CLASSES
    renderer_classes = (JSONRenderer,)
    parser_classes = (JSONParser, MultiPartParser, FormParser)
