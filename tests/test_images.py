"""Badge images: PNG or SVG, size-checked, no active content; carried into the issued credential."""

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from openedx_microcred.images import MAX_BYTES, validate_badge_image
from openedx_microcred.models import Award, Credential

from . import events
from .conftest import C1

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><circle cx="5" cy="5" r="4"/></svg>'


def upload(name, content):
    return SimpleUploadedFile(name, content)


@pytest.mark.parametrize("name, content", [("badge.png", PNG), ("badge.SVG", SVG)])
def test_png_and_clean_svg_are_accepted(name, content):
    validate_badge_image(upload(name, content))


@pytest.mark.parametrize("name, content, message", [
    ("badge.png", b"GIF89a" + b"\x00" * 10, "not a PNG"),
    ("badge.gif", b"GIF89a", "PNG or an SVG"),
    ("badge.png", PNG + b"\x00" * MAX_BYTES, "at most 512 KiB"),
    ("badge.svg", b"<svg", "cannot be read"),
    ("badge.svg", b"<html xmlns='http://www.w3.org/1999/xhtml'/>", "not an SVG"),
    ("badge.svg", SVG.replace(b"<circle", b"<script>alert(1)</script><circle"), "<script>"),
    ("badge.svg", SVG.replace(b"<circle", b'<circle onload="alert(1)"'), "event handlers"),
    ("badge.svg", SVG.replace(b"<circle", b'<image href="https://evil.example/x.png"/><circle'), "refer to their own"),
    ("badge.svg", b'<!DOCTYPE svg [<!ENTITY a "aaaa">]><svg xmlns="http://www.w3.org/2000/svg">&a;</svg>',
     "cannot be read"),
])
def test_bad_images_are_refused_with_a_reason(name, content, message):
    with pytest.raises(ValidationError, match=message):
        validate_badge_image(upload(name, content))


def test_the_badge_image_is_in_the_credential_and_on_its_page(client, learner, make_credential, on_commit,
                                                              settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    credential = make_credential("basics", {"type": "course_passed", "course": C1}, image=upload("basics.png", PNG))
    with on_commit():
        events.passing(learner, C1)
    award = Award.objects.get()
    image = award.document["credentialSubject"]["achievement"]["image"]
    assert image == {"id": f"http://127.0.0.1:8000{credential.image.url}", "type": "Image"}
    page = client.get(f"/microcred/credentials/{award.uuid}/").content.decode()
    assert f'<img src="{image["id"]}"' in page
    assert client.get(credential.image.url).status_code == 200


def test_a_bad_image_is_refused_on_save(db, make_credential):
    with pytest.raises(ValidationError) as info:
        make_credential("basics", {"type": "course_passed", "course": C1}, image=upload("x.png", b"nope"))
    assert "image" in info.value.message_dict
    assert Credential.objects.count() == 0
