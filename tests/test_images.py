"""Badge images: PNG or SVG, size-checked, no active content; carried into the issued credential."""

import re
from urllib.parse import urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from openedx_microcred.images import MAX_BYTES, validate_badge_image
from openedx_microcred.issuance import badge_image_url
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
    assert image == {"id": f"http://127.0.0.1:8000/microcred/badges/{credential.uuid}/basics.png", "type": "Image"}
    page = client.get(f"/microcred/credentials/{award.uuid}/").content.decode()
    assert f'<img class="badge" src="{image["id"]}"' in page
    assert client.get(urlsplit(image["id"]).path).status_code == 200


def test_a_bad_image_is_refused_on_save(db, make_credential):
    with pytest.raises(ValidationError) as info:
        make_credential("basics", {"type": "course_passed", "course": C1}, image=upload("x.png", b"nope"))
    assert "image" in info.value.message_dict
    assert Credential.objects.count() == 0


# --- Active content that the old deny-list let through (issue 11, defect 1) ---------------------

def svg(body, head=b""):
    return head + (b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" '
                   b'viewBox="0 0 10 10">' + body + b"</svg>")


@pytest.mark.parametrize("body, refused", [
    # Clicking the circle navigates to javascript: in the LMS origin when the SVG is opened directly.
    (b'<a><animate attributeName="href" values="javascript:alert(document.domain)"/>'
     b'<circle cx="5" cy="5" r="4"/></a>', "<a>"),
    (b'<a><set attributeName="xlink:href" to="javascript:alert(1)"/><circle r="4"/></a>', "<a>"),
    (b'<use href="#c"><set attributeName="href" to="data:image/svg+xml,..."/></use>', "<set>"),
    (b'<image href="#c"><animate attributeName="href" values="https://evil.example/t.png"/></image>',
     "<animate>"),
    (b'<circle r="4"><animateMotion path="M0 0"/></circle>', "<animateMotion>"),
    (b'<a href="#x"><circle r="4"/></a>', "<a>"),
    (b'<feImage href="https://evil.example/x.png"/>', "<feImage>"),
    (b'<html:script xmlns:html="http://www.w3.org/1999/xhtml">alert(1)</html:script>', "<script>"),
    (b'<circle r="4" xml:base="javascript:alert(1)//"/>', "xml:base"),
])
def test_an_svg_with_animation_links_or_foreign_elements_is_refused(body, refused):
    with pytest.raises(ValidationError, match=refused):
        validate_badge_image(upload("badge.svg", svg(body)))


@pytest.mark.parametrize("content", [
    svg(b'<style>@import url(https://evil.example/x.css);</style><circle r="4"/>'),
    svg(b'<style>circle { fill: url(https://evil.example/track.png) }</style><circle r="4"/>'),
    svg(b'<style><![CDATA[circle { fill: u\\72l(//evil.example/x) }]]></style><circle r="4"/>'),
    svg(b'<circle r="4" style="fill:url(https://evil.example/track)"/>'),
    svg(b'<circle r="4" style="fill: image-set(&quot;https://evil.example/a.png&quot; 1x)"/>'),
    svg(b'<circle r="4" fill="url(https://evil.example/track#g)"/>'),
    svg(b'<circle r="4" filter="url(&quot;//evil.example/f.svg#f&quot;)"/>'),
    svg(b'<circle r="4" style="width: expression(alert(1))"/>'),
    svg(b'<circle r="4"/>', head=b'<?xml-stylesheet href="https://evil.example/x.css"?>'),
])
def test_an_svg_whose_css_fetches_a_foreign_url_is_refused(content):
    with pytest.raises(ValidationError, match="url|@import|expression|image-set|xml-stylesheet"):
        validate_badge_image(upload("badge.svg", content))


@pytest.mark.parametrize("body", [
    # What badge tools export: gradients, local url(#id) paint and filters, <use> of a local symbol,
    # a <style> sheet with classes, text, an embedded PNG, editor metadata.
    b'<defs><linearGradient id="g" x1="0" x2="1"><stop offset="0" stop-color="#fc0"/>'
    b'<stop offset="1" style="stop-color: rgb(200, 100, 0); stop-opacity: .8"/></linearGradient>'
    b'<filter id="f"><feGaussianBlur stdDeviation="1" result="b"/><feOffset dx="1" dy="1"/>'
    b'<feMerge><feMergeNode in="b"/><feMergeNode in="SourceGraphic"/></feMerge></filter>'
    b'<symbol id="s"><circle r="4"/></symbol></defs>'
    b'<title>Badge</title><desc>A gold badge</desc>'
    b'<circle cx="5" cy="5" r="4" fill="url(#g)" filter="url( \'#f\' )" class="ring" data-name="Ring"/>'
    b'<use href="#s" x="1"/><use xlink:href="#s" y="1"/>'
    b'<text x="1" y="9" font-family="Open Sans, sans-serif" style="font-weight: bold">A<tspan>+</tspan></text>',
    b'<style type="text/css"><![CDATA[.ring { fill: #fc0; stroke: url(#g) } text { font: 2px sans-serif }]]>'
    b'</style><circle class="ring" r="4"/>',
    b'<image width="1" height="1" href="data:image/png;base64,iVBORw0KGgo="/>',
    b'<metadata><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"/></metadata>'
    b'<sodipodi:namedview xmlns:sodipodi="http://sodipodi.sourceforge.net/DTD/sodipodi-0.dtd" '
    b'pagecolor="#fff"/><g xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape" '
    b'inkscape:label="Layer 1" inkscape:groupmode="layer"><path d="M0 0L10 10" transform="rotate(45 5 5)"/></g>',
])
def test_a_static_badge_svg_from_an_editor_is_accepted(body):
    validate_badge_image(upload("badge.svg", svg(body)))


# --- Serving: every URL the pages, the credential and the API emit is sandboxed ------------------

SANDBOX = "sandbox; default-src 'none'; style-src 'unsafe-inline'"
# Stored straight into storage, as a file kept from before the allow-list would be: the headers,
# not the validator, are what keeps this one from running.
ANIMATED_LINK = (b'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10"><a>'
                 b'<set attributeName="href" to="javascript:alert(document.domain)"/><circle r="4"/></a></svg>')


def emitted_image_urls(client, award):
    """The badge image URL as the public page, the learner's page, the credential and both APIs give it."""
    credential = award.credential
    urls = {"credential": award.document["credentialSubject"]["achievement"]["image"]["id"]}
    page = client.get(f"/microcred/credentials/{award.uuid}/").content.decode()
    urls["public page"] = re.search(r'<img class="badge" src="([^"]+)"', page).group(1)
    client.force_login(award.user)
    mine = client.get("/microcred/my/").content.decode()
    urls["learner page"] = re.search(r'<img class="badge-image" src="([^"]+)"', mine).group(1)
    urls["learner API"] = client.get("/microcred/api/v1/me/dashboard-widget/").json()["badges"][0]["image_url"]
    staff = get_user_model().objects.create_user("gstaff", is_staff=True)
    client.force_login(staff)
    urls["credential API"] = client.get(f"/microcred/api/v1/credentials/{credential.uuid}/").json()["image"]
    return urls


@pytest.mark.parametrize("name, content, content_type", [
    ("basics.svg", SVG, "image/svg+xml"), ("basics.png", PNG, "image/png"),
])
def test_a_badge_image_is_served_sandboxed_wherever_it_is_linked(client, learner, make_credential, on_commit,
                                                                 settings, tmp_path, name, content, content_type):
    settings.MEDIA_ROOT = tmp_path
    make_credential("basics", {"type": "course_passed", "course": C1}, image=upload(name, content))
    with on_commit():
        events.passing(learner, C1)
    urls = emitted_image_urls(client, Award.objects.get())
    assert len(set(urls.values())) == 1, urls
    url = urlsplit(urls["credential"])
    assert url.netloc == "127.0.0.1:8000" and url.path.startswith("/microcred/badges/"), url
    response = client.get(url.path)
    assert response.status_code == 200
    assert response["Content-Type"] == content_type
    assert response["Content-Security-Policy"] == SANDBOX
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == content


def test_an_svg_stored_before_the_allow_list_is_served_in_a_sandbox(client, make_credential, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    credential = make_credential("basics", {"type": "course_passed", "course": C1}, image=upload("b.svg", SVG))
    (tmp_path / credential.image.name).write_bytes(ANIMATED_LINK)
    response = client.get(urlsplit(badge_image_url(credential)).path)
    assert response["Content-Security-Policy"] == SANDBOX and response["Content-Type"] == "image/svg+xml"
    assert b"".join(response.streaming_content) == ANIMATED_LINK


def test_a_replaced_badge_image_is_still_served_for_the_awards_that_carry_it(client, make_credential, settings,
                                                                             tmp_path):
    settings.MEDIA_ROOT = tmp_path
    credential = make_credential("basics", {"type": "course_passed", "course": C1}, image=upload("one.png", PNG))
    first = urlsplit(badge_image_url(credential)).path
    credential.image = upload("two.svg", SVG)
    credential.save()
    second = urlsplit(badge_image_url(credential)).path
    assert first != second
    for path, content, content_type in ((first, PNG, "image/png"), (second, SVG, "image/svg+xml")):
        response = client.get(path)
        assert response["Content-Type"] == content_type and response["Content-Security-Policy"] == SANDBOX
        assert b"".join(response.streaming_content) == content


@pytest.mark.parametrize("name", ["other.png", "..", ".svg", "one.gif", "%2e%2e%2fone.png", "..%2fbadges%2fone.png"])
def test_a_badge_image_url_of_no_stored_image_is_not_found(client, make_credential, settings, tmp_path, name):
    settings.MEDIA_ROOT = tmp_path
    credential = make_credential("basics", {"type": "course_passed", "course": C1}, image=upload("one.png", PNG))
    (tmp_path / "one.gif").write_bytes(PNG)
    assert client.get(f"/microcred/badges/{credential.uuid}/{name}").status_code == 404


def test_a_badge_image_url_is_only_read_and_goes_when_the_file_does(client, make_credential, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    credential = make_credential("basics", {"type": "course_passed", "course": C1}, image=upload("b.png", PNG))
    current = urlsplit(badge_image_url(credential)).path
    assert client.head(current).status_code == 200
    assert client.post(current).status_code == 405
    assert client.get(current.replace(str(credential.uuid), "00000000-0000-4000-8000-000000000000")).status_code == 404
    (tmp_path / credential.image.name).unlink()
    assert client.get(current).status_code == 404
    credential.image = ""
    credential.save()
    assert "/default-" in badge_image_url(credential)  # with no upload, the default badge
