"""
The Studio pages of a course team: the course's credentials, the credential form (with the
criteria builder), the stack builder, the preview of what a learner receives, and publishing and
archiving with a confirmation step.

Every page needs a signed-in member of the course team (``permissions.can_manage_course``);
saving criteria that reach outside the course, or an organization-level stack, needs the
organization role (``permissions.can_manage_credential``). Saving goes through
``catalog.save_credential`` / ``publish_credential`` / ``archive_credential``, whose validation
errors are shown next to the fields they are about.
"""

import json
from collections import OrderedDict
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from .. import catalog, issuance, permissions, rules
from ..models import Credential
from ..openbadges import document
from ..platform import get_platform
from .forms import CredentialForm, StackForm

TEMPLATES = "openedx_microcred/studio/"


class Refused(Exception):
    """A request the page cannot serve: shown as an error page with this status and message."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status
        self.message = message


def studio_view(view):
    """Turn ``Refused`` into an error page (400, 403, 404) that says why."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        try:
            return view(request, *args, **kwargs)
        except Refused as refused:
            return render(request, TEMPLATES + "error.html",
                          {"status": refused.status, "message": refused.message}, status=refused.status)

    return wrapped


# --- Who and what ---------------------------------------------------------------------------------


def _parse_course_key(text):
    try:
        return CourseKey.from_string(text)
    except InvalidKeyError:
        return None


def _managed_course(request, text):
    """The course of the URL, if it is a course key and the user is on its team."""
    key = _parse_course_key(text)
    if key is None:
        raise Refused(400, _("“%(key)s” is not a valid course key.") % {"key": text})
    if not permissions.can_manage_course(request.user, key):
        raise Refused(403, _("You are not on the team of %(course)s, so you cannot manage its credentials.")
                      % {"course": key})
    return key


def _credential(uuid):
    credential = Credential.objects.filter(uuid=uuid).first()
    if credential is None:
        raise Refused(404, _("There is no credential with this id."))
    return credential


def _check_can_manage(user, credential):
    """A course credential is its course team's; an organization-level one needs the organization role."""
    if credential.course_key:
        allowed = permissions.can_manage_course(user, credential.course_key)
    else:
        allowed = permissions.can_manage_org(user, credential.org)
    if not allowed:
        raise Refused(403, _("You cannot manage this credential: it belongs to a course or an organization "
                             "whose team you are not on."))


def _home_course(request, credential):
    """The course whose list a page returns to: the credential's own, or the one the user came from."""
    if credential.course_key:
        return credential.course_key
    key = _parse_course_key(request.GET.get("course") or request.POST.get("course") or "")
    if key is not None:
        return key
    dependency = credential.course_dependencies.order_by("course_key").values_list("course_key", flat=True).first()
    return dependency


def _course_of_credentials(criteria, own_course):
    """
    slug → course key (str, or None for an organization-level credential) of the credentials the
    criteria require, for ``permissions.can_manage_credential``. A slug that does not exist counts
    as the course's own: saving reports it as an unknown credential, which says more than a 403.
    """
    try:
        slugs = rules.parse_criteria(criteria).credentials()
    except rules.InvalidCriteria:
        slugs = set()
    courses = {slug: (str(key) if key else None)
               for slug, key in Credential.objects.filter(slug__in=slugs).values_list("slug", "course_key")}
    own = str(own_course) if own_course else None
    return lambda slug: courses.get(slug, own)


def _may_save(user, credential):
    return permissions.can_manage_credential(
        user, credential.org, credential.course_key, credential.criteria,
        _course_of_credentials(credential.criteria, credential.course_key),
    )


def _save(request, form, credential, refusal_field, field_map=None):
    """
    Check the permission for what is about to be saved, then save through the catalog. Returns the
    saved credential, or None with the errors on the form and the HTTP status to render it with.
    """
    if not _may_save(request.user, credential):
        if credential.course_key:
            message = _("These criteria reach outside %(course)s (courses or credentials of other courses): only "
                        "the organization's staff can save them. Use only this course's courses and credentials, "
                        "or ask the organization's staff.") % {"course": credential.course_key}
        else:
            message = _("Only the organization's staff can save an organization-level stack. Make it a stack "
                        "of this course, or ask the organization's staff.")
        form.add_error(refusal_field, message)
        return None, 403
    try:
        return catalog.save_credential(credential), 200
    except ValidationError as exc:
        form.add_model_errors(exc, field_map)
        return None, 200


def _course_list_url(course_key):
    return reverse("openedx_microcred:studio-course", kwargs={"course_key": str(course_key)})


def _with_course(url, credential, home):
    """``url`` with ?course= when the credential has no course of its own (to come back to ``home``)."""
    if credential.course_key or not home:
        return url
    return f"{url}?{urlencode({'course': str(home)})}"


def _credential_urls(credential, home):
    def url(name):
        return _with_course(reverse(f"openedx_microcred:studio-credential-{name}", kwargs={"uuid": credential.uuid}),
                            credential, home)

    return {name: url(name) for name in ("edit", "preview", "publish", "archive")}


def _course_label(key, names):
    name = names.get(str(key))
    return f"{name} ({key})" if name else str(key)


# --- Context for the criteria builder --------------------------------------------------------------


def builder_strings():
    """The criteria builder's words, translated here so that the JavaScript needs no catalog."""
    return {
        "builder": _("Criteria builder"),
        "root": _("Criteria"),
        "group": _("Group %(number)s"),
        "requirement": _("Requirement %(number)s"),
        "groupMode": _("Learners must meet"),
        "modeAll": _("all of these"),
        "modeAny": _("any one of these"),
        "modeAtLeast": _("at least a number of these"),
        "howMany": _("How many"),
        "groupLabel": _("Name of this group (optional)"),
        "addRequirement": _("Add a requirement"),
        "addGroup": _("Add a group"),
        "removeGroup": _("Remove this group"),
        "removeRequirement": _("Remove this requirement"),
        "combine": _("Combine with more requirements"),
        "type": _("Requirement type"),
        "type_course_passed": _("Pass a course"),
        "type_course_grade": _("Reach a course grade"),
        "type_course_completion": _("Complete a course"),
        "type_certificate": _("Earn a course certificate"),
        "type_enrolled": _("Be enrolled in a course"),
        "type_credential": _("Earn another credential"),
        "course": _("Course key"),
        "minGrade": _("Minimum grade (%)"),
        "minCompletion": _("Minimum completion (%)"),
        "mode": _("Certificate mode (optional)"),
        "modes": _("Enrollment modes (optional, separated by commas)"),
        "credential": _("Credential"),
        "chooseCredential": _("Choose a credential"),
        "emptyGroup": _("This group is empty: add a requirement to it, or remove it."),
        "added": _("Requirement added."),
        "groupAdded": _("Group added."),
        "removed": _("Requirement removed."),
        "groupRemoved": _("Group removed."),
        "typeChanged": _("Requirement type changed to: %(type)s."),
        "combined": _("The requirement is now in a group; add more requirements to it."),
        "badJson": _("The criteria JSON cannot be read, so the builder cannot show it. Correct the JSON, or start "
                     "again."),
        "startOver": _("Start again with one requirement"),
        "jsonApplied": _("The builder now shows the criteria typed as JSON."),
    }


def _org_credentials(org, exclude=None):
    """The organization's credentials that are not archived, by course then title."""
    credentials = Credential.objects.filter(org__iexact=org).exclude(state=Credential.State.ARCHIVED)
    if exclude is not None and exclude.pk:
        credentials = credentials.exclude(pk=exclude.pk)
    return list(credentials.order_by("course_key", "title").only("slug", "title", "course_key", "state"))


def _builder_context(course_key, credential=None, criteria=None):
    org = credential.org if credential is not None else course_key.org
    others = _org_credentials(org, exclude=credential)
    course_keys = {str(course_key)} if course_key else set()
    course_keys |= {str(c.course_key) for c in others if c.course_key}
    try:
        course_keys |= set(rules.parse_criteria(criteria).courses()) if criteria is not None else set()
    except rules.InvalidCriteria:
        pass
    names = get_platform().course_names(course_keys)
    return {
        "builder_strings": builder_strings(),
        "builder_courses": [{"key": key, "name": names.get(key, "")} for key in sorted(course_keys)],
        "builder_credentials": [{"slug": c.slug, "title": c.title, "course": str(c.course_key or "")}
                                for c in others],
        "builder_default_course": str(course_key) if course_key else "",
    }


# --- Pages ---------------------------------------------------------------------------------------


def _row(user, credential, home, levels=None):
    requires = list(credential.requires.all())
    can_manage = (permissions.can_manage_course(user, credential.course_key) if credential.course_key
                  else permissions.can_manage_org(user, credential.org))
    return {
        "credential": credential,
        "is_stack": bool(requires),
        "requires": requires,
        "can_manage": can_manage,
        "can_publish": credential.state != Credential.State.ACTIVE,
        "can_archive": credential.state != Credential.State.ARCHIVED,
        "urls": _credential_urls(credential, home),
        "badge_url": issuance.badge_image_url(credential, levels),  # the upload, or the default badge
    }


@login_required
@require_GET
@studio_view
def course_credentials(request, course_key):
    """The course's credentials and stacks, and the stacks elsewhere that build on them."""
    key = _managed_course(request, course_key)
    own = Credential.objects.filter(course_key=key).prefetch_related("requires").order_by("title", "slug")
    # (Not .exclude(course_key=key): CourseKeyField refuses the IS NULL test that excluding needs.)
    elsewhere = (Credential.objects.filter(course_dependencies__course_key=key)
                 .exclude(pk__in=Credential.objects.filter(course_key=key).values("pk"))
                 .prefetch_related("requires").distinct().order_by("title", "slug"))
    names = get_platform().course_names([str(key)])
    levels = issuance.badge_levels()
    return render(request, TEMPLATES + "course.html", {
        "course_key": key,
        "course_label": _course_label(key, names),
        "rows": [_row(request.user, c, key, levels) for c in own],
        "elsewhere": [_row(request.user, c, key, levels) for c in elsewhere],
    })


def _render_credential_form(request, form, course_key, credential=None, status=200):
    form.describe_fields()
    criteria = credential.criteria if credential is not None else None
    if form.is_bound and form.is_valid():
        criteria = form.cleaned_data.get("criteria", criteria)
    context = {
        "form": form,
        "course_key": course_key,
        "credential": credential,
        "badge_image_url": issuance.badge_image_url(credential) if credential is not None else None,
        "urls": _credential_urls(credential, course_key) if credential is not None else None,
        "course_url": _course_list_url(course_key) if course_key else None,
    }
    context.update(_builder_context(course_key, credential, criteria))
    return render(request, TEMPLATES + "credential_form.html", context, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@studio_view
def credential_new(request, course_key):
    """Create a credential of the course (a draft)."""
    key = _managed_course(request, course_key)
    initial = {
        "criteria": json.dumps({"type": rules.CoursePassed.kind, "course": str(key)}, indent=2),
        "revocation_policy": Credential.RevocationPolicy.KEEP,
    }
    if request.method != "POST":
        return _render_credential_form(request, CredentialForm(initial=initial), key)
    form = CredentialForm(request.POST, request.FILES, initial=initial)
    status = 200
    if form.is_valid():
        credential = form.apply_to(Credential(org=key.org, course_key=key, state=Credential.State.DRAFT))
        saved, status = _save(request, form, credential, "criteria")
        if saved is not None:
            messages.success(request, _("“%(title)s” is saved as a draft. Preview it, then publish it when it is "
                                        "ready.") % {"title": saved.title})
            return redirect("openedx_microcred:studio-credential-edit", uuid=saved.uuid)
    return _render_credential_form(request, form, key, status=status)


@login_required
@require_http_methods(["GET", "POST"])
@studio_view
def credential_edit(request, uuid):
    """Change a credential (its slug stays)."""
    stored = _credential(uuid)
    _check_can_manage(request.user, stored)
    home = _home_course(request, stored)
    if request.method != "POST":
        return _render_credential_form(request, CredentialForm(credential=stored), home, stored)
    form = CredentialForm(request.POST, request.FILES, credential=stored)
    status = 200
    if form.is_valid():
        working = Credential.objects.get(pk=stored.pk)  # the page keeps showing what is stored
        saved, status = _save(request, form, form.apply_to(working), "criteria")
        if saved is not None:
            messages.success(request, _("“%(title)s” is saved.") % {"title": saved.title})
            return redirect(_credential_urls(saved, home)["edit"])
    return _render_credential_form(request, form, home, stored, status=status)


def _org_choices(course_key):
    """[(group label, [(slug, label), ...]), ...]: the organization's credentials by course."""
    credentials = _org_credentials(course_key.org)
    names = get_platform().course_names({str(c.course_key) for c in credentials if c.course_key})
    groups = OrderedDict()
    for credential in credentials:
        key = credential.course_key
        label = _course_label(key, names) if key else _("Organization-wide")
        option = f"{credential.title} ({credential.slug})"
        if credential.state == Credential.State.DRAFT:
            option = _("%(credential)s — draft") % {"credential": option}
        groups.setdefault((0 if key == course_key else 1 if key else 2, label), []).append((credential.slug, option))
    # This course first, then the organization-wide credentials, then the other courses.
    return [(label, options) for (_rank, label), options in sorted(groups.items(), key=lambda item: item[0])]


@login_required
@require_http_methods(["GET", "POST"])
@studio_view
def stack_new(request, course_key):
    """The stack builder: pick credentials, say how many are needed, save a draft stack."""
    key = _managed_course(request, course_key)
    form = StackForm(request.POST if request.method == "POST" else None, course_key=key, choices=_org_choices(key))
    status = 200
    if form.is_valid():
        credential = form.build_credential()
        refusal = "owner" if credential.course_key is None else "credentials"
        saved, status = _save(request, form, credential, refusal, field_map={"criteria": "credentials"})
        if saved is not None:
            messages.success(request, _("The stack “%(title)s” is saved as a draft. Add its learning outcomes and "
                                        "badge here, then publish it.") % {"title": saved.title})
            return redirect(_credential_urls(saved, key)["edit"])
    form.describe_fields()
    selected = set(form["credentials"].value() or [])
    groups = [
        {"label": label, "options": [{"slug": slug, "label": option, "checked": slug in selected,
                                      "id": f"id_credentials_{index}_{position}"}
                                     for position, (slug, option) in enumerate(options)]}
        for index, (label, options) in enumerate(form.grouped_choices)
    ]
    return render(request, TEMPLATES + "stack_form.html", {
        "form": form,
        "course_key": key,
        "course_url": _course_list_url(key),
        "groups": groups,
        "can_manage_org": permissions.can_manage_org(request.user, key.org),
    }, status=status)


@login_required
@require_GET
@studio_view
def credential_preview(request, uuid):
    """The badge and the achievement as the issued Open Badges 3.0 credential will describe it."""
    credential = _credential(uuid)
    _check_can_manage(request.user, credential)
    home = _home_course(request, credential)
    achievement, problem = None, None
    try:
        info = issuance.achievement_info(credential)
        achievement = document.build_achievement(info)
    except (ValueError, rules.InvalidCriteria) as exc:
        problem = str(exc)
    alignments = (achievement or {}).get("alignment", [])
    outcomes = [a.get("targetName") for a in alignments if a.get("targetType") == document.TARGET_TYPE_LEARNING_OUTCOME]
    quality_assurance = next((a for a in alignments
                              if a.get("targetType") == document.TARGET_TYPE_QUALITY_ASSURANCE), None)
    return render(request, TEMPLATES + "preview.html", {
        "credential": credential,
        "course_key": home,
        "course_url": _course_list_url(home) if home else None,
        "urls": _credential_urls(credential, home),
        "achievement": achievement,
        "achievement_json": json.dumps(achievement, indent=2, ensure_ascii=False) if achievement else "",
        "learning_outcomes": outcomes,
        "quality_assurance": quality_assurance,
        "problem": problem,
    })


_ACTIONS = {
    "publish": catalog.publish_credential,
    "archive": catalog.archive_credential,
}


@login_required
@require_http_methods(["GET", "POST"])
@studio_view
def credential_state(request, uuid, action):
    """Publish or archive: a confirmation page (GET), then the change (POST with confirm=yes)."""
    credential = _credential(uuid)
    _check_can_manage(request.user, credential)
    home = _home_course(request, credential)
    back = _course_list_url(home) if home else _credential_urls(credential, home)["edit"]
    if request.method == "POST" and request.POST.get("confirm") == "yes":
        if not _may_save(request.user, credential):
            raise Refused(403, _("This credential's criteria reach outside its course: only the organization's staff "
                                 "can publish or archive it."))
        try:
            _ACTIONS[action](credential)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            done = (_("“%(title)s” is published: learners who meet its criteria now earn it.") if action == "publish"
                    else _("“%(title)s” is archived: learners can no longer earn it; awards already made stay "
                           "valid."))
            messages.success(request, done % {"title": credential.title})
        return redirect(back)
    return render(request, TEMPLATES + "confirm.html", {
        "credential": credential,
        "action": action,
        "course_key": home,
        "course_url": back,
        "action_url": _credential_urls(credential, home)[action],
    })
