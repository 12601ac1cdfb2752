"""
An SVG badge with script in it, stored straight into storage (as a file kept from before the
allow-list would be): opened from the URL the pages use, the sandboxing CSP keeps it from running;
the same file from the host's bare /media/ copy runs, which shows the payload works.
"""

import json

import pytest

pytestmark = pytest.mark.browser

PAYLOAD = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 100" '
    'onload="document.documentElement.setAttribute(\'data-onload\', \'ran\')">'
    "<script>document.documentElement.setAttribute('data-script', 'ran')</script>"
    '<a><set attributeName="href" to="javascript:document.documentElement.setAttribute(\'data-click\', \'ran\')"/>'
    '<rect id="target" width="100" height="100" fill="#fc0"/></a></svg>'
)
CREATE = """
import json
from django.core.files.base import ContentFile
from openedx_microcred import catalog, issuance
from openedx_microcred.models import Credential
credential = catalog.save_credential(Credential(
    slug="sandboxed", title="Sandboxed", org="DemoX", course_key="course-v1:DemoX+PY101+2026",
    criteria={"type": "course_passed", "course": "course-v1:DemoX+PY101+2026"},
    image=ContentFile(b'<svg xmlns="http://www.w3.org/2000/svg"/>', name="sandboxed.svg")))
with credential.image.storage.open(credential.image.name, "wb") as stored:
    stored.write(PAYLOAD.encode())
print(json.dumps({"served": issuance.badge_image_url(credential), "media": credential.image.url}))
"""


def ran(page):
    page.locator("#target").click()
    page.wait_for_timeout(300)
    return {name: page.evaluate(f"document.documentElement.getAttribute('data-{name}')")
            for name in ("onload", "script", "click")}


def test_a_stored_svg_with_script_runs_nothing_from_the_url_the_pages_use(site, new_page):
    output = site.manage("shell", "-c", f"PAYLOAD = {PAYLOAD!r}\n{CREATE}")
    urls = json.loads(output.strip().splitlines()[-1])
    page = new_page()
    response = page.goto(urls["served"])
    assert response.headers["content-security-policy"] == "sandbox; default-src 'none'; style-src 'unsafe-inline'"
    assert ran(page) == {"onload": None, "script": None, "click": None}

    page.goto(f"{site.lms}{urls['media']}")  # the demo host's unprotected copy: the payload is live
    assert ran(page) == {"onload": "ran", "script": "ran", "click": "ran"}
