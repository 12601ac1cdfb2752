"""The default badge: made for a credential with no uploaded image, checked like an upload, served like one."""

import re
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from openedx_microcred import images, issuance
from openedx_microcred.images import default_badge_svg, validate_badge_image
from openedx_microcred.models import Award

from . import events
from .conftest import C1

SANDBOX = "sandbox; default-src 'none'; style-src 'unsafe-inline'"
needs_rasterizer = pytest.mark.skipif(not images.rasterizer_available(),
                                      reason="cairosvg with libcairo2 is not installed")


def served(client, url):
    response = client.get(urlsplit(url).path)
    assert response.status_code == 200, url
    return response, b"".join(response.streaming_content)


def test_the_same_credential_gives_the_same_bytes_and_another_title_other_bytes():
    first = default_badge_svg("Python Gold", "DemoX", level=3)
    assert default_badge_svg("Python Gold", "DemoX", level=3) == first
    assert default_badge_svg("Python Gold!", "DemoX", level=3) != first
    assert default_badge_svg("Python Gold", "DemoX", level=2) != first
    assert images.default_badge_name(first) != images.default_badge_name(default_badge_svg("Python Gold!", "DemoX"))


def test_the_default_badge_passes_the_upload_rules_whatever_the_title_holds():
    svg = default_badge_svg('<script>alert("x")</script> & ]]> <!-- ' + "ü" * 300, 'Org "A" <b>', level=9)
    validate_badge_image(SimpleUploadedFile("default.svg", svg))
    assert b"<script>" not in svg and b"&lt;script&gt;" in svg


def test_a_level_has_its_colour_and_says_its_level():
    bronze, gold = default_badge_svg("Bronze", "DemoX", level=1), default_badge_svg("Gold", "DemoX", level=3)
    assert images.DEFAULT_COLOURS[1][1].encode() in bronze and images.DEFAULT_COLOURS[3][1].encode() in gold
    assert b"LEVEL 3" in gold and b"LEVEL" not in default_badge_svg("Single", "DemoX")


def test_a_long_title_is_wrapped_in_three_lines_at_most():
    svg = default_badge_svg("Machine learning with Python for absolute beginners and everyone else too", "DemoX")
    lines = re.findall(r"<tspan [^>]*>([^<]*)</tspan>", svg.decode())
    assert len(lines) == 3 and lines[-1].endswith("…") and all(len(line) <= 13 for line in lines)


def test_levels_of_a_stack_follow_the_ladder(make_credential):
    make_credential("base", {"type": "course_passed", "course": C1})
    bronze = make_credential("bronze", {"type": "credential", "credential": "base"}, stack_kind="vertical")
    silver = make_credential("silver", {"type": "credential", "credential": "bronze"}, stack_kind="vertical")
    gold = make_credential("gold", {"type": "credential", "credential": "silver"}, stack_kind="vertical")
    levels = issuance.badge_levels()
    assert (levels[bronze.pk], levels[silver.pk], levels[gold.pk]) == (1, 2, 3)
    assert b"LEVEL 3" in issuance.default_badge(gold)


def test_a_credential_without_an_upload_is_served_its_default_badge_in_the_sandbox(client, make_credential,
                                                                                   settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    credential = make_credential("basics", {"type": "course_passed", "course": C1})
    url = issuance.badge_image_url(credential)
    assert url.endswith(images.default_badge_name(issuance.default_badge(credential)))
    response, body = served(client, url)
    assert response["Content-Security-Policy"] == SANDBOX and response["Content-Type"] == "image/svg+xml"
    assert body == issuance.default_badge(credential)
    # A default name this credential does not make (nothing stored under it): not found.
    assert client.get(f"/microcred/badges/{credential.uuid}/default-{'0' * 20}.svg").status_code == 404


def test_the_signed_credential_always_carries_an_image_that_keeps_answering(client, make_credential, learner,
                                                                            on_commit, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    credential = make_credential("basics", {"type": "course_passed", "course": C1}, state="active")
    with on_commit():
        events.passing(learner, C1)
    award = Award.objects.get(user=learner, credential=credential)
    document = issuance.issue_award(award.pk)
    image = document["credentialSubject"]["achievement"]["image"]["id"]
    assert image == issuance.badge_image_url(credential) and document["image"]["id"] == image
    credential.title = "Basics, renamed"
    credential.save()
    assert issuance.badge_image_url(credential) != image  # a new design, a new URL...
    assert served(client, image)[1] == default_badge_svg("Basics", credential.org)  # ...and the old one stays


@needs_rasterizer
def test_a_png_of_the_default_badge_is_made_once_and_is_the_same_each_time(client, make_credential, settings,
                                                                           tmp_path):
    settings.MEDIA_ROOT = tmp_path
    credential = make_credential("basics", {"type": "course_passed", "course": C1})
    url = issuance.badge_png_url(credential)
    assert url.endswith(".svg.png")
    response, body = served(client, url)
    assert response["Content-Type"] == "image/png" and body.startswith(images.PNG_SIGNATURE)
    assert response["Content-Security-Policy"] == SANDBOX
    assert body == images.svg_to_png(issuance.default_badge(credential))
    assert served(client, url)[1] == body


@needs_rasterizer
def test_an_uploaded_svg_gets_a_png_copy_and_an_uploaded_png_is_its_own(client, make_credential, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4"/></svg>'
    credential = make_credential("drawn", {"type": "course_passed", "course": C1},
                                 image=SimpleUploadedFile("drawn.svg", svg))
    response, body = served(client, issuance.badge_png_url(credential))
    assert response["Content-Type"] == "image/png" and body.startswith(images.PNG_SIGNATURE)
    png = images.PNG_SIGNATURE + b"\x00" * 16
    painted = make_credential("painted", {"type": "course_passed", "course": C1},
                              image=SimpleUploadedFile("painted.png", png))
    assert issuance.badge_png_url(painted) == issuance.badge_image_url(painted)
