"""The Studio pages' addresses, the forms they post and what the tests read back from them."""

import json

from django.contrib.messages import get_messages
from django.urls import reverse
from lxml import html

from ..conftest import C1


def course_url(course_key=C1):
    return reverse("openedx_microcred:studio-course", kwargs={"course_key": course_key})


def new_url(course_key=C1):
    return reverse("openedx_microcred:studio-credential-new", kwargs={"course_key": course_key})


def stack_url(course_key=C1):
    return reverse("openedx_microcred:studio-stack-new", kwargs={"course_key": course_key})


def credential_url(name, credential):
    return reverse(f"openedx_microcred:studio-credential-{name}", kwargs={"uuid": credential.uuid})


def form_data(**overrides):
    """The POST data of Studio's credential form for "Python Basics"; ``overrides`` replace fields (None drops one)."""
    data = {
        "title": "Python Basics",
        "slug": "py-basics",
        "description": "Passing Python Basics.",
        "criteria": json.dumps({"type": "course_passed", "course": C1}),
        "learning_outcomes": "Write small programs\n\n  Use functions  \n",
        "workload_hours": "40",
        "ects_credits": "1.5",
        "eqf_level": "4",
        "assessment_type": "written-examination",
        "participation_form": "online",
        "quality_assurance": "Reviewed by the board.",
        "identity_verified": "on",
        "validity_days": "",
        "revocation_policy": "keep",
        "stack_kind": "",
        "platform_targets": "",
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def page(response):
    return html.fromstring(response.content.decode())


def browser_post(tree, form_id="credential-form", button=None, **changes):
    """What a browser posts from the page's form: its controls' values, one button's, and ``changes``."""
    form = tree.get_element_by_id(form_id)
    data = {}
    for name, value in form.form_values():
        data.setdefault(name, value)
    if button is not None:
        data[button[0]] = button[1]
    data.update(changes)
    return data


def field_text(response, name):
    """The text of a field's container (label, control, help, errors)."""
    [container] = page(response).xpath(f'//*[@id="field-{name}"]')
    return container.text_content()


def messages_of(response):
    return [str(m) for m in get_messages(response.wsgi_request)]


def stack_data(**overrides):
    data = {"title": "Python Bronze", "slug": "py-bronze", "description": "", "stack_kind": "vertical",
            "owner": "course", "credentials": [], "mode": "all", "n": "", "previous_level": ""}
    data.update(overrides)
    return data
