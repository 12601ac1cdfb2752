"""
The plugin's public URLs on the LMS: where a credential, its signed JSON, a status list, a badge
image and the learner's page live. They go into signed credentials, badge platforms and emails, so
they are absolute (MICROCRED_LMS_ROOT_URL, or LMS_ROOT_URL) and built in this one place; the routes
that answer them are in urls.py.
"""

from urllib.parse import quote, urlsplit

from .issuer import lms_root_url


def absolute_url(url: str | None) -> str | None:
    """``url`` made absolute on the LMS when it is a path (the platform gives course URLs both ways)."""
    if not url:
        return None
    return url if urlsplit(url).scheme else f"{lms_root_url()}/{url.lstrip('/')}"


def credential_url(award_uuid) -> str:
    """The credential's public page; also the signed credential's id."""
    return f"{lms_root_url()}/microcred/credentials/{award_uuid}/"


def credential_json_url(award_uuid) -> str:
    """The signed Open Badges 3.0 credential as JSON."""
    return f"{lms_root_url()}/microcred/credentials/{award_uuid}.json"


def status_list_url(number) -> str:
    """The signed BitstringStatusListCredential of list ``number``."""
    return f"{lms_root_url()}/microcred/status/{number}"


def badge_url(credential_uuid, file_name: str) -> str:
    """A credential's badge image, served by the plugin's own view (never the storage's URL)."""
    return f"{lms_root_url()}/microcred/badges/{credential_uuid}/{quote(file_name)}"


def my_credentials_url() -> str:
    """The learner's "My credentials" page."""
    return f"{lms_root_url()}/microcred/my/"
