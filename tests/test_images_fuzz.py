"""
Fuzzing the badge image validator: whatever bytes and file name come in, it accepts or raises a
ValidationError with a message; never another exception. Through the REST API the same uploads get
a 200 or a 400, never a 500.
"""

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.urls import reverse
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from openedx_microcred.images import MAX_BYTES, PNG_SIGNATURE, validate_badge_image
from sandbox.host.models import CourseAccessRole

from .conftest import C1

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
FEWER = settings(max_examples=60, deadline=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

HEAD = b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" viewBox="0 0 9 9">'
SEEDS = [
    HEAD + b'<circle cx="4" cy="4" r="4" fill="url(#g)"/></svg>',
    HEAD + b'<defs><linearGradient id="g"><stop offset="0" stop-color="#fc0"/></linearGradient></defs>'
           b'<style>.a { fill: rgb(1, 2, 3) }</style><text class="a" style="font: 2px serif">A</text></svg>',
    HEAD + b'<a><set attributeName="href" to="javascript:alert(1)"/><circle r="4"/></a></svg>',
    HEAD + b'<style>@import url(//evil.example/x.css);</style></svg>',
    b'<?xml version="1.0" encoding="UTF-8"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" "x.dtd">'
    + HEAD + b'<image href="data:image/png;base64,iVBORw0KGgo="/></svg>',
]
# Pieces that reach the validator's corners: markup, CSS, encodings, entities, instructions.
FRAGMENTS = [
    b"<", b">", b"/>", b"</svg>", b"<g>", b"</g>", b"<![CDATA[", b"]]>", b"<!--", b"-->", b"&", b"&amp;",
    b"&#0;", b"&#x110000;", b'<!DOCTYPE svg [<!ENTITY a "b">]>', b'<!ATTLIST circle onclick CDATA "x">',
    b"<?xml-stylesheet href='x'?>", b'<?xml version="1.0" encoding="x-nope"?>', b"\x00", b"\xff\xfe",
    b"\xef\xbb\xbf", b"\xc3\x28", b'<style>', b"</style>", b' style="', b' fill="', b' href="', b'"',
    b"url(", b"u\\72l(", b")", b"(", b"{", b"}", b"[", b"@import ", b"@media ", b"expression(", b"--x:",
    b"\\", b"javascript:", b"#", b"data:image/png;base64,", b' xlink:href="#a"', b' onload="x"',
    b"<animate attributeName='href'/>", b"<foreignObject>", b"<script>", b" xml:base='x'",
    b' xmlns:h="http://www.w3.org/1999/xhtml"', b"<h:script>", b"\n", b"\t", "é€😀".encode(),
]
NAMES = st.one_of(
    st.sampled_from(["badge.svg", "badge.SVG", "badge.png", "b.Png", "badge.svg.png", "badge.gif", ".svg",
                     "svg", "", "../../etc/passwd.svg", "a b.svg", "ümlaut.svg", "x.svg\x00.png"]),
    st.text(max_size=30),
)


@st.composite
def mutated_svg(draw):
    """A seed badge with a few bytes inserted, deleted, flipped or a fragment repeated many times."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 8))):
        where = draw(st.integers(0, len(data)))
        action = draw(st.sampled_from(["insert", "delete", "flip", "repeat"]))
        if action == "insert":
            data[where:where] = draw(st.one_of(st.sampled_from(FRAGMENTS), st.binary(max_size=8)))
        elif action == "delete":
            del data[where:where + draw(st.integers(1, 20))]
        elif action == "flip" and where < len(data):
            data[where] ^= 1 << draw(st.integers(0, 7))
        elif action == "repeat":
            piece = draw(st.sampled_from(FRAGMENTS))
            data[where:where] = piece * draw(st.integers(1, 2000))
    return bytes(data)


CONTENTS = st.one_of(
    mutated_svg(),
    st.binary(max_size=300),
    st.binary(max_size=200).map(lambda tail: PNG_SIGNATURE + tail),
    st.lists(st.sampled_from(FRAGMENTS), max_size=40).map(b"".join),
)


def check(name, content):
    try:
        validate_badge_image(ContentFile(content, name=name))  # any name: UploadedFile would refuse some
    except ValidationError as exc:
        assert exc.messages and all(isinstance(m, str) and m for m in exc.messages)


@FUZZ
@given(name=NAMES, content=CONTENTS)
@example(name="b.svg", content=HEAD + b'<circle style="fill: ' + b"(" * 100_000 + b'"/></svg>')
@example(name="b.svg", content=HEAD + b'<circle fill="' + b"rgb(" * 60_000 + b'"/></svg>')
@example(name="b.svg", content=HEAD + b"<g>" * 50_000 + b"</g>" * 50_000 + b"</svg>")
@example(name="b.svg", content=b'<?xml version="1.0" encoding="x-nope"?>' + HEAD + b"</svg>")
@example(name="b.svg", content=HEAD + b"<style>" + b"a{" * 50_000 + b"</style></svg>")
@example(name="b.svg", content=b"<svg>" + b"x" * (MAX_BYTES + 1))
def test_the_validator_accepts_or_refuses_any_upload_with_a_reason(name, content):
    check(name, content)


@FUZZ
@given(name=st.sampled_from(["badge.svg", "badge.png"]), content=mutated_svg())
def test_mutated_badges_are_accepted_or_refused_with_a_reason(name, content):
    check(name, content)


@pytest.fixture
def staff_client(db, settings, tmp_path, make_credential):
    """A course staff member's API client, and the image URL of a credential of their course."""
    settings.MEDIA_ROOT = tmp_path
    user = get_user_model().objects.create_user("cstaff")
    CourseAccessRole.objects.create(user=user, org="DemoX", course_key=C1, role="staff")
    credential = make_credential("c1", {"type": "course_passed", "course": C1}, course_key=C1)
    client = APIClient()
    client.force_login(user)
    return client, reverse("openedx_microcred:v1:credential-image", kwargs={"uuid": credential.uuid})


def multipart(name, content):
    """A multipart body written by hand: a client may send any file name, not only a valid one."""
    boundary = b"fuzzboundary7MA4YWxkTrZu0gW"
    body = (b"--" + boundary + b"\r\n"
            + b'Content-Disposition: form-data; name="image"; filename="' + name.encode() + b'"\r\n'
            + b"Content-Type: application/octet-stream\r\n\r\n" + content + b"\r\n--" + boundary + b"--\r\n")
    return body, f"multipart/form-data; boundary={boundary.decode()}"


@FEWER
@given(name=NAMES, content=CONTENTS)
@example(name="b.svg", content=HEAD + b'<circle style="fill: ' + b"(" * 100_000 + b'"/></svg>')
@example(name="..", content=b"<svg/>")
@example(name='a"b.svg', content=SEEDS[0])
@example(name="a\r\nContent-Type: text/html\r\n\r\n.svg", content=SEEDS[0])
def test_an_api_upload_of_anything_is_a_200_or_a_400(staff_client, name, content):
    client, url = staff_client
    body, content_type = multipart(name, content)
    response = client.put(url, body, content_type=content_type)
    assert response.status_code in (200, 400), (response.status_code, response.content[:300])
    assert response.json()
