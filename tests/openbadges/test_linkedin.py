"""
LinkedIn's "Add to profile" link: the certification form's parameters, percent-encoded.
"""

from datetime import date
from urllib.parse import parse_qsl, urlsplit

import pytest

from openedx_microcred.openbadges import linkedin

from .samples import ISSUED_AT, LMS, issued


def test_linkedin_add_to_profile_url():
    url = linkedin.linkedin_add_to_profile_url(
        name="Python Data Basics & Co", organization_id=1337, organization_name="ignored when the id is known",
        issued_on=ISSUED_AT, expires_on=date(2029, 3, 13),
        cert_url=f"{LMS}/microcred/credentials/3f2c8a9e/?share=1", cert_id="3f2c8a9e-51b4",
    )
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "www.linkedin.com", "/profile/add")
    assert parse_qsl(parts.query) == [
        ("startTask", "CERTIFICATION_NAME"), ("name", "Python Data Basics & Co"), ("organizationId", "1337"),
        ("issueYear", "2026"), ("issueMonth", "3"), ("expirationYear", "2029"), ("expirationMonth", "3"),
        ("certUrl", f"{LMS}/microcred/credentials/3f2c8a9e/?share=1"), ("certId", "3f2c8a9e-51b4"),
    ]
    # Every reserved character is percent-encoded, spaces as %20.
    assert "name=Python%20Data%20Basics%20%26%20Co" in url
    assert ("certUrl=https%3A%2F%2Flearn.example-university.eu"
            "%2Fmicrocred%2Fcredentials%2F3f2c8a9e%2F%3Fshare%3D1") in url


def test_linkedin_url_by_organization_name_without_expiry():
    url = linkedin.linkedin_url_for(issued(valid_until=None))
    query = dict(parse_qsl(urlsplit(url).query))
    assert query["organizationName"] == "Example University of Applied Sciences"
    assert "organizationId" not in query and "expirationYear" not in query
    assert query["certId"] == "3f2c8a9e-51b4-4d0e-9a77-0c1d2e3f4a5b"
    assert query["certUrl"] == f"{LMS}/microcred/credentials/3f2c8a9e-51b4-4d0e-9a77-0c1d2e3f4a5b/"
    with pytest.raises(ValueError):
        linkedin.linkedin_add_to_profile_url(name="x", cert_url=LMS, cert_id="1", issued_on=ISSUED_AT)
