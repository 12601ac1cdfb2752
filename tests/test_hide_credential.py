"""
A learner hides a credential from its public page (and its hosted JSON), and shows it again: from
the REST API and from the "My credentials" page. Only its holder may; the status list and the
verification of copies held elsewhere keep working.
"""

import re
import uuid

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from edx_rest_framework_extensions.auth.jwt.tests.utils import generate_jwt

from openedx_microcred import issuance, links
from openedx_microcred.awards import revoke_awards
from openedx_microcred.issuer import lms_root_url
from openedx_microcred.models import Award

from . import events
from .conftest import C1, C2

MY_PAGE = reverse("openedx_microcred:my-credentials")


@pytest.fixture
def grace(db):
    return get_user_model().objects.create_user("grace", "grace@example.com")


@pytest.fixture
def staff(db):
    return get_user_model().objects.create_user("sam", "sam@example.com", is_staff=True, is_superuser=True)


@pytest.fixture
def award(learner, make_credential, on_commit):
    """The learner's signed award of "Python Basics" (C1 passed)."""
    make_credential("basics", {"type": "course_passed", "course": C1}, title="Python Basics")
    with on_commit():
        events.passing(learner, C1)
    award = Award.objects.get(user=learner)
    assert award.document is not None
    return award


def api_url(award_uuid):
    return reverse("openedx_microcred:v1:my-award-visibility", args=[award_uuid])


def page_url(award):
    return f"/microcred/credentials/{award.uuid}/"


def json_url(award):
    return f"/microcred/credentials/{award.uuid}.json"


def set_hidden(client, award, hidden, user=None):
    if user is not None:
        client.force_login(user)
    return client.post(api_url(award.uuid), {"hidden": hidden}, content_type="application/json")


def test_the_holder_hides_it_and_the_public_sees_hidden(client, award, learner):
    response = set_hidden(client, award, True, learner)
    assert response.status_code == 200
    assert response.json() == {"uuid": str(award.uuid), "hidden": True,
                               "public_url": links.credential_url(award.uuid)}
    award.refresh_from_db()
    assert award.hidden and award.status == "active"

    public = Client()
    page = public.get(page_url(award))
    assert page.status_code == 404
    text = page.content.decode()
    assert "hidden by its holder" in text
    assert "Python Basics" not in text and "ada" not in text.lower()
    document = public.get(json_url(award))
    assert document.status_code == 404
    assert document.json() == {"detail": "This credential has been hidden by its holder.", "reason": "hidden"}

    # Verification does not depend on the page: a copy still verifies, the status list is public.
    assert issuance.verify_credential(award.document).valid
    status_list = award.document["credentialStatus"]["statusListCredential"]
    assert public.get(status_list.replace(lms_root_url(), "")).status_code == 200


def test_the_holder_still_sees_the_page_and_the_json(client, award, learner):
    set_hidden(client, award, True, learner)
    page = client.get(page_url(award))
    assert page.status_code == 200
    text = page.content.decode()
    assert "Python Basics" in text and 'data-hidden="true"' in text and "Only you can see this page" in text
    assert client.get(json_url(award) + "?download=1").status_code == 200


def test_showing_it_again(client, award, learner):
    set_hidden(client, award, True, learner)
    response = set_hidden(client, award, False)
    assert response.status_code == 200 and response.json()["hidden"] is False
    public = Client()
    assert public.get(page_url(award)).status_code == 200
    assert "Only you can see this page" not in public.get(page_url(award)).content.decode()
    assert public.get(json_url(award)).status_code == 200


def test_a_hidden_credential_that_is_revoked_stays_hidden_and_revoked(client, award, learner, on_commit):
    set_hidden(client, award, True, learner)
    with on_commit():
        revoke_awards([award.pk], "mistake")
    assert Client().get(page_url(award)).status_code == 404
    assert issuance.verify_credential(award.document).failed == "revocation"


# --- Who may -------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["grace", "staff"])
def test_nobody_but_the_holder_may(client, award, request, who):
    other = request.getfixturevalue(who)
    response = set_hidden(client, award, True, other)
    assert response.status_code == 403
    assert response.json()["detail"] == "Only the holder of a credential can hide it or show it."
    form = client.post(reverse("openedx_microcred:credential-visibility", args=[award.uuid]), {"hidden": "1"})
    assert form.status_code == 403
    award.refresh_from_db()
    assert not award.hidden


def test_anonymous_gets_401_from_the_api_and_the_login_page_from_the_form(client, award):
    response = client.post(api_url(award.uuid), {"hidden": True}, content_type="application/json")
    assert response.status_code == 401
    form = client.post(reverse("openedx_microcred:credential-visibility", args=[award.uuid]), {"hidden": "1"})
    assert form.status_code == 302 and form["Location"].startswith("/login/")
    award.refresh_from_db()
    assert not award.hidden


def test_unknown_credential_and_bad_body(client, award, learner):
    client.force_login(learner)
    assert client.post(api_url(uuid.uuid4()), {"hidden": True}, content_type="application/json").status_code == 404
    bad = client.post(api_url(award.uuid), {"hidden": "perhaps"}, content_type="application/json")
    assert bad.status_code == 400 and "hidden" in bad.json()
    assert client.post(api_url(award.uuid), {}, content_type="application/json").status_code == 400
    assert client.get(api_url(award.uuid)).status_code == 405


def test_a_jwt_works_too(client, award, learner):
    response = client.post(api_url(award.uuid), {"hidden": True}, content_type="application/json",
                           HTTP_AUTHORIZATION=f"JWT {generate_jwt(learner)}")
    assert response.status_code == 200
    assert Award.objects.get(pk=award.pk).hidden


# --- The "My credentials" page -------------------------------------------------------------------


def _form_token(html):
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)


def test_the_toggle_on_my_credentials_works_without_a_script(award, learner):
    browser = Client(enforce_csrf_checks=True)  # a real form post: the page's CSRF token is needed
    browser.force_login(learner)
    page = browser.get(MY_PAGE).content.decode()
    assert 'data-hidden="false"' in page and "Hide from the public" in page
    action = reverse("openedx_microcred:credential-visibility", args=[award.uuid])
    assert f'action="{action}"' in page

    assert browser.post(action, {"hidden": "1"}).status_code == 403  # no token: refused
    response = browser.post(action, {"hidden": "1", "csrfmiddlewaretoken": _form_token(page)})
    assert response.status_code == 302 and response["Location"] == f"{MY_PAGE}#badge-{award.uuid}"
    assert Award.objects.get(pk=award.pk).hidden
    assert Client().get(page_url(award)).status_code == 404

    page = browser.get(MY_PAGE).content.decode()
    assert 'data-hidden="true"' in page and "Hidden from the public" in page
    assert "Its public page is now hidden" in page  # the message after the redirect
    response = browser.post(action, {"hidden": "0", "csrfmiddlewaretoken": _form_token(page)})
    assert response.status_code == 302
    assert not Award.objects.get(pk=award.pk).hidden
    assert Client().get(page_url(award)).status_code == 200
    assert 'data-hidden="false"' in browser.get(MY_PAGE).content.decode()


# --- In the stacks built on it ---------------------------------------------------------------------


@pytest.fixture
def stack(learner, make_credential, on_commit):
    """Ada's "Python Basics" (C1) and "Web Basics" (C2), and the stack "Full Stack" built on both."""
    make_credential("basics", {"type": "course_passed", "course": C1}, title="Python Basics")
    make_credential("web", {"type": "course_passed", "course": C2}, title="Web Basics")
    make_credential("full-stack", {"type": "all", "of": [{"type": "credential", "credential": "basics"},
                                                         {"type": "credential", "credential": "web"}]},
                    title="Full Stack")
    with on_commit():
        events.passing(learner, C1)
        events.passing(learner, C2)
    awards = {a.credential.slug: a for a in Award.objects.filter(user=learner).select_related("credential")}
    assert set(awards) == {"basics", "web", "full-stack"} and awards["full-stack"].document is not None
    return awards


def public_views_of(award):
    """The text of the award's public page and its hosted JSON, both found (200)."""
    public = Client()
    page = public.get(page_url(award))
    document = public.get(json_url(award))
    assert page.status_code == 200 and document.status_code == 200
    return page.content.decode() + document.content.decode()


def test_a_hidden_credential_is_not_named_by_the_public_page_or_json_of_a_stack_built_on_it(
        client, stack, learner):
    hidden, shown = stack["basics"], stack["web"]
    assert str(hidden.uuid) in public_views_of(stack["full-stack"])  # shared: linked as evidence

    set_hidden(client, hidden, True, learner)

    public = public_views_of(stack["full-stack"])
    assert str(hidden.uuid) not in public and page_url(hidden) not in public
    assert "Holds the credential Python Basics" not in public
    assert "One further credential (not shared)." in public
    assert str(shown.uuid) in public and "Holds the credential Web Basics" in public  # still shared
    # What is served verifies: the stack was signed again, with the same id, status and dates.
    served = Award.objects.get(pk=stack["full-stack"].pk).document
    result = issuance.verify_credential(served)
    assert result.valid, result
    before = stack["full-stack"].document
    assert {k: served[k] for k in ("id", "credentialStatus", "validFrom", "issuer")} == \
        {k: before[k] for k in ("id", "credentialStatus", "validFrom", "issuer")}
    # A copy downloaded before still verifies: nothing was revoked.
    assert issuance.verify_credential(before).valid


def test_showing_it_again_names_it_in_the_stack_again(client, stack, learner):
    original = stack["full-stack"].document
    set_hidden(client, stack["basics"], True, learner)
    set_hidden(client, stack["basics"], False)

    assert str(stack["basics"].uuid) in public_views_of(stack["full-stack"])
    assert Award.objects.get(pk=stack["full-stack"].pk).document == original  # the same signed document


def test_a_credential_hidden_before_its_stack_is_signed_is_not_named_in_it(
        client, learner, make_credential, on_commit):
    make_credential("basics", {"type": "course_passed", "course": C1}, title="Python Basics")
    make_credential("stack", {"type": "all", "of": [{"type": "credential", "credential": "basics"},
                                                    {"type": "course_passed", "course": C2}]}, title="Stack")
    with on_commit():
        events.passing(learner, C1)
    basics = Award.objects.get(user=learner)
    set_hidden(client, basics, True, learner)
    with on_commit():
        events.passing(learner, C2)
    stack_award = Award.objects.get(user=learner, credential__slug="stack")
    assert str(basics.uuid) not in public_views_of(stack_award)
