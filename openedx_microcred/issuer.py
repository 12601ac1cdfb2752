"""
The awarding body as the settings describe it (``MICROCRED_ISSUER``): read once here for the
signed documents, the links and JSON that name it, and for the checks that a credential can be
published with EU microcredential details (the EU Recommendation makes the issuer's country
mandatory). Settings only: no models, so the model layer can ask before anything is signed.
"""

import re

from django.conf import settings
from django.utils import translation
from django.utils.encoding import force_str
from django.utils.translation import gettext as _

from .app_settings import microcred_settings

# MICROCRED_ISSUER keys. country: ISO 3166-1 alpha-2 (addressCountryCode); country_name,
# region, locality, street_address, postal_code: the rest of the address; institution_code and
# institution_code_type: an otherIdentifier such as {"42NB", "ext:BRIN"} or an Erasmus code.
ISSUER_FIELDS = (
    "name", "url", "country", "email", "description", "image", "country_name", "region", "locality",
    "street_address", "postal_code", "institution_code", "institution_code_type",
)

COUNTRY_CODE = re.compile(r"^[A-Z]{2}$")


def text_setting(value):
    """
    A settings value as plain text, or None when empty. edx-platform's PLATFORM_NAME is a lazy
    translation (gettext_lazy) and an operator's values may be too; JSON, URLs and signatures need
    text. It is translated into the site's language, not the current request's: a signed credential
    names its issuer the same way whoever happened to trigger the signing.
    """
    if value is None or value == "":
        return None
    with translation.override(settings.LANGUAGE_CODE):
        return force_str(value) or None


def lms_root_url() -> str:
    """The LMS's root URL, without a trailing slash: MICROCRED_LMS_ROOT_URL, else the platform's LMS_ROOT_URL."""
    root = text_setting(microcred_settings.LMS_ROOT_URL) or \
        text_setting(getattr(settings, "LMS_ROOT_URL", ""))
    return (root or "http://127.0.0.1:8000").rstrip("/")


def configured_issuer() -> dict:
    """
    The awarding body as the settings describe it (MICROCRED_ISSUER, falling back to PLATFORM_NAME
    and the LMS URL), every value text or None: the one place these settings enter documents,
    links and JSON.
    """
    configured = microcred_settings.ISSUER or {}
    issuer = {name: text_setting(configured.get(name)) for name in ISSUER_FIELDS}
    issuer["name"] = issuer["name"] or text_setting(getattr(settings, "PLATFORM_NAME", None)) or "Open edX"
    issuer["url"] = issuer["url"] or lms_root_url()
    return issuer


def country_problem() -> str | None:
    """Why the configured issuer has no usable country for an EU microcredential, or None."""
    country = configured_issuer()["country"]
    if not country:
        return _("The EU Recommendation on micro-credentials makes the issuer's country mandatory: set "
                 "MICROCRED_ISSUER['country'] to an ISO 3166-1 alpha-2 code such as 'NL'.")
    if not COUNTRY_CODE.match(country):
        return _("MICROCRED_ISSUER['country'] must be an ISO 3166-1 alpha-2 code such as 'NL', not '%(country)s'.") \
            % {"country": country}
    return None
