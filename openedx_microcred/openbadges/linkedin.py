"""
LinkedIn's "Add to profile" link for a credential: pure functions, no ORM, no network.

The link opens the learner's licenses & certifications form on LinkedIn, filled in with the
credential's name, issuer, dates, public page and id (docs/open-badges.md).
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from urllib.parse import quote, urlencode

from .document import IssuedCredential

LINKEDIN_ADD_TO_PROFILE = "https://www.linkedin.com/profile/add"


def _month(value) -> tuple:
    """The (year, month) LinkedIn asks of a date or datetime (a datetime's in UTC); ValueError otherwise."""
    if isinstance(value, datetime):
        if value.utcoffset() is not None:
            value = value.astimezone(timezone.utc)
        return value.year, value.month
    if isinstance(value, date):
        return value.year, value.month
    raise ValueError(f"a date or datetime is required, not {value!r}")


def linkedin_add_to_profile_url(*, name: str, cert_url: str, cert_id: str, issued_on,
                                expires_on=None, organization_id=None, organization_name: str | None = None) -> str:
    """
    The LinkedIn "Add to profile" link for a certification: opens the learner's licenses &
    certifications form filled in. The organization is given by its LinkedIn id (which links the
    company page and logo) or, failing that, by name.
    """
    if not name or not cert_url or not cert_id:
        raise ValueError("a certification needs a name, a URL and an id")
    params = [("startTask", "CERTIFICATION_NAME"), ("name", name)]
    if organization_id:
        params.append(("organizationId", str(organization_id)))
    elif organization_name:
        params.append(("organizationName", organization_name))
    else:
        raise ValueError("an organization id or name is required")
    year, month = _month(issued_on)
    params += [("issueYear", str(year)), ("issueMonth", str(month))]
    if expires_on is not None:
        year, month = _month(expires_on)
        params += [("expirationYear", str(year)), ("expirationMonth", str(month))]
    params += [("certUrl", cert_url), ("certId", str(cert_id))]
    return f"{LINKEDIN_ADD_TO_PROFILE}?{urlencode(params, quote_via=quote)}"


def linkedin_url_for(issued: IssuedCredential, *, organization_id=None, share_url: str | None = None) -> str:
    """The LinkedIn link for an award: its public page (default: the credential id) and its uuid."""
    return linkedin_add_to_profile_url(
        name=issued.achievement.name, cert_url=share_url or issued.credential_id, cert_id=issued.award_uuid,
        issued_on=issued.valid_from, expires_on=issued.valid_until,
        organization_id=organization_id, organization_name=issued.issuer.name,
    )
