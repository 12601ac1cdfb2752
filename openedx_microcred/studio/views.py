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
import re
from collections import OrderedDict
from dataclasses import dataclass
from functools import wraps
from uuid import uuid4

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.text import slugify
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from .. import backends, catalog, issuance, limits, models, organizations, permissions, rules
from ..images import validate_badge_image
from ..models import Credential
from ..openbadges import document
from ..platform import get_platform
from . import builder
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


def managed_course(request, text):
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
    The courses of the credentials the criteria require, for ``permissions.can_manage_credential``:
    slug → course key (str, or None for an organization-level credential). A slug that does not
    exist counts as the course's own: saving reports it as an unknown credential, which says more
    than a 403.
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
    """The edit, preview, publish and archive URLs of ``credential``, from the course page ``home``."""
    def url(name):
        return _with_course(reverse(f"openedx_microcred:studio-credential-{name}", kwargs={"uuid": credential.uuid}),
                            credential, home)

    return {name: url(name) for name in ("edit", "preview", "publish", "archive")}


def course_label(key, names):
    """A course as the pages name it: "Name (key)", or the key alone when its name is not known."""
    name = names.get(str(key))
    return f"{name} ({key})" if name else str(key)


# --- The criteria builder and the badge platform picker --------------------------------------------


def _orgs_for(org):
    """The organization and those its credentials may require (operator pairings, organizations.py)."""
    paired = organizations.pairings().get(org)
    return [org] + [other for other in (paired if isinstance(paired, (list, tuple)) else []) if other != org]


def _org_credentials(orgs, exclude=None):
    """The organizations' credentials that are not archived, by organization, course, then title."""
    query = Q()
    for org in orgs if isinstance(orgs, (list, tuple)) else [orgs]:
        query |= Q(org__iexact=org)
    credentials = Credential.objects.filter(query).exclude(state=Credential.State.ARCHIVED)
    if exclude is not None and exclude.pk:
        credentials = credentials.exclude(pk=exclude.pk)
    return list(credentials.order_by("org", "course_key", "title").only("slug", "title", "course_key", "state", "org"))


def _option(value, label, selected):
    return {"value": value, "label": label, "selected": value == selected}


class CriteriaPicker:
    """What the builder's pickers offer: the team's courses and the organization's credentials."""

    def __init__(self, user, org, course_key, credential, criteria_courses=()):
        orgs = _orgs_for(org)
        own = str(course_key) if course_key else ""
        keys = set(permissions.team_courses(user, orgs)) | set(criteria_courses)
        if own:
            keys.add(own)
        names = get_platform().course_names(keys)
        ordered = sorted(keys, key=lambda key: (key != own, key))
        self.courses = [(key, course_label(key, names)) for key in ordered]
        self.course_keys = set(keys)
        others = _org_credentials(orgs, exclude=credential)
        credential_names = get_platform().course_names({str(c.course_key) for c in others if c.course_key})
        self.credentials = []
        for other in others:
            where = course_label(other.course_key, credential_names) if other.course_key else other.org
            label = f"{other.title} — {where}"
            if other.state == Credential.State.DRAFT:
                label = _("%(credential)s (draft)") % {"credential": label}
            self.credentials.append((other.slug, label))
        self.default_course = own

    def course_options(self, value):
        options = [_option(key, label, value) for key, label in self.courses]
        if value and value not in self.course_keys:
            options.append(_option(value, _("%(course)s (not one of your courses)") % {"course": value}, value))
        return [_option("", _("Choose a course"), value)] + options

    def credential_options(self, value):
        """The <option>s of the credential picker, ``value`` selected (kept even when it is no longer offered)."""
        options = [_option(slug, label, value) for slug, label in self.credentials]
        if value and value not in {slug for slug, _label in self.credentials}:
            options.append(_option(value, _("%(slug)s (not a credential of this organization)") % {"slug": value},
                                   value))
        return [_option("", _("Choose a credential"), value)] + options


def _showable(data):
    """Whether the builder can show this JSON exactly (known types and keys, groups of such); bounded first."""
    try:
        rules.check_criteria_size(data)
    except rules.InvalidCriteria:
        return False
    stack = [data]
    while stack:
        node = stack.pop()
        if not isinstance(node, dict) or node.get("type") not in builder.TYPE_FIELDS:
            return False
        allowed = {"type", *builder.TYPE_FIELDS[node["type"]]}
        if node["type"] in builder.GROUP_TYPES:
            allowed.add("of")
            if not isinstance(node.get("of"), list) or not node["of"]:
                return False
            stack.extend(node["of"])
        if not set(node) <= allowed or not all(isinstance(node.get(k), (str, int, float, list))
                                               for k in node if k != "of"):
            return False
    return True


def _same_json(text, other):
    """Whether two texts hold the same JSON (or, unreadable, the same text but for white space)."""
    try:
        return limits.loads_bounded(text) == limits.loads_bounded(other)
    except ValueError:
        return re.sub(r"\s+", "", text) == re.sub(r"\s+", "", other)


@dataclass
class Editors:
    """The builder and the picker of one page: their rows, and what they did to the posted data."""

    rows: list | None = None  # None: shown from the JSON
    targets: list | None = None  # likewise
    acted: bool = False  # a builder or picker button was pressed: show the page again, save nothing
    notice: str = ""
    problem: str = ""
    pending_image: tuple = ("", "", "")  # (token, file name, why it was refused)


def account_choices(org):
    """The badge platform accounts that serve ``org``, with what each can issue (fetched, cached)."""
    accounts = []
    for name, config in sorted(organizations.accounts().items()):
        if not organizations.account_serves(config, org):
            continue
        key, templates, error = backends.account_templates(name)
        accounts.append({"name": name, "key": key, "templates": templates, "error": error,
                         "label": f"{name} ({config.get('backend', '')})"})
    return accounts


def _target_keys():
    """The target keys of every configured account: account → (its target key, how its backend stores a picked id)."""
    keys = {}
    for name in organizations.accounts():
        backend = backends.backend_class(name)
        if backend is not None:
            keys[name] = (backend.target_key, backend.target_value)
    return keys


def resolve_editors(post, default_course, accounts):
    """
    Which of the two views of the criteria (and of the platform targets) the browser's post is to
    be read from, and the post with the JSON written from the rows where they win. Returns
    (post, Editors). The post without builder fields (the REST-like path, tests) is read as JSON.
    """
    post = post.copy()
    editors = Editors()
    rows = builder.rows_from_post(post)
    action = post.get("cb-action", "")
    if rows is not None and _same_json(post.get("criteria", ""), post.get("criteria_shown", "")):
        if action.startswith("reset"):
            rows = builder.rows_from_tree({"type": rules.CoursePassed.kind, "course": default_course})
            editors.notice = _("The builder starts again with one requirement.")
        elif action and action != "refresh":
            rows, done = builder.apply_action(rows, action, default_course)
            editors.notice = done or ""
        tree = builder.tree_from_rows(rows)
        post["criteria"] = builder.json_text(tree) if tree is not None else ""
        editors.rows = rows
    elif rows is not None:
        editors.notice = _("The criteria JSON was changed, so the builder now shows it.")
    editors.acted = bool(action) or bool(post.get("pt-action"))

    targets = builder.target_rows_from_post(post)
    keys = _target_keys()
    if targets is not None and _same_json(post.get("platform_targets", "").strip() or "[]",
                                          post.get("platform_targets_shown", "").strip() or "[]"):
        pt_action = post.get("pt-action", "")
        if pt_action == "add" and len(targets) < limits.MAX_PLATFORM_TARGETS:
            targets.append(builder.TargetRow(accounts[0]["name"] if len(accounts) == 1 else ""))
            editors.notice = _("Badge platform added.")
        elif pt_action.startswith("remove-") and pt_action[7:].isdigit() and int(pt_action[7:]) < len(targets):
            del targets[int(pt_action[7:])]
            editors.notice = _("Badge platform removed.")
        editors.targets = targets
        chosen = builder.targets_from_rows(targets, keys)
        post["platform_targets"] = builder.json_text(chosen) if chosen else ""
    return post, editors


def check_picked_templates(form, targets, accounts):
    """A template picked for an account must be one the account's platform lists (errors on the rows and the field)."""
    listed = {a["name"]: {tid for tid, _name in a["templates"]} for a in accounts if a["templates"] is not None}
    for number, row in enumerate(targets, start=1):
        if row.account in listed and row.template and row.template not in listed[row.account]:
            message = _("Badge platform %(number)d: “%(template)s” is not one of the templates of account "
                        "%(account)s.") % {"number": number, "template": row.template, "account": row.account}
            row.errors.append(message)
            form.add_error("platform_targets", message)


_INPUT_ORDER = ("course", "min_percent", "mode", "modes", "credential", "n", "label")


def _input_label(row, name):
    return {
        "course": _("Course"),
        "min_percent": _("Minimum grade (%)") if row.type == rules.CourseGrade.kind else _("Minimum completion (%)"),
        "mode": _("Certificate mode (optional)"),
        "modes": _("Enrollment modes (optional, separated by commas)"),
        "credential": _("Credential"),
        "n": _("How many"),
        "label": _("Name of this group (optional)"),
    }[name]


def _builder_input(index, row, name, picker):
    """One input of a builder row: a picker (select) for courses and credentials, text for the rest."""
    options = None
    if name == "course":
        options = picker.course_options(row.value("course"))
    elif name == "credential":
        options = picker.credential_options(row.value("credential"))
    return {"name": name, "id": f"cb-{index}-{name}", "label": _input_label(row, name), "value": row.value(name),
            "options": options, "errors": row.errors.get(name, []),
            "numeric": name in ("min_percent", "n")}


def builder_view(form, editors, picker, accounts):
    """The builder's rows and the picker's rows as the template shows them."""
    criteria_errors = list(form.errors.get("criteria", [])) if form.is_bound else []
    rows, rest, text = editors.rows, criteria_errors, form["criteria"].value() or ""
    if rows is None:
        try:
            data = limits.loads_bounded(text) if text.strip() else None
        except ValueError:
            data = None
        if data is not None and _showable(data):
            rows = builder.rows_from_tree(data)
        elif text.strip():
            editors.problem = editors.problem or _("The builder cannot show the criteria typed as JSON. Correct the "
                                                   "JSON below, or start again with the builder.")
    if rows is not None:
        builder.number_rows(rows)
        rest = builder.place_errors(rows, criteria_errors)
    shown = []
    for index, row in enumerate(rows or []):
        shown.append({
            "index": index, "row": row, "number": row.number, "depth": min(row.depth, 6),
            "parent": "" if row.parent is None else row.parent, "is_group": row.is_group,
            "type_choices": [(group, [_option(value, label, row.type) for value, label in options])
                             for group, options in builder.type_choices()],
            "inputs": [_builder_input(index, row, name, picker) for name in _INPUT_ORDER if row.uses(name)],
            "errors": row.errors.get("", []),
            "has_error": any(row.errors.values()),
        })
    target_rows = editors.targets
    if target_rows is None:
        try:
            targets = limits.loads_bounded(form["platform_targets"].value() or "[]")
        except ValueError:
            targets = None
        if isinstance(targets, list) and not models.platform_target_problems(targets):
            target_rows = builder.target_rows_from_list(targets, _target_keys())
    by_name = {a["name"]: a for a in accounts}
    picker_rows = []
    for index, row in enumerate(target_rows or []):
        account = by_name.get(row.account)
        picker_rows.append({
            "index": index, "row": row, "number": index + 1,
            "account_options": [_option("", _("Choose an account"), row.account)]
            + [_option(a["name"], a["label"], row.account) for a in accounts]
            + ([] if account or not row.account else
               [_option(row.account, _("%(account)s (does not serve this organization)") % {"account": row.account},
                        row.account)]),
            "templates": account["templates"] if account else None,
            "template_options": [_option("", _("Choose a template"), row.template)]
            + [_option(tid, f"{name} ({tid})", row.template) for tid, name in (account or {}).get("templates") or []],
            "template_error": account["error"] if account else "",
            "extra": builder.json_text(row.extra) if row.extra else "",
        })
    return {
        "builder_rows": shown,
        "builder_errors": rest,
        "builder_problem": editors.problem,
        "builder_notice": editors.notice,
        "criteria_shown": text,
        "targets_shown": form["platform_targets"].value() or "",
        "picker_rows": picker_rows,
        "picker_accounts": accounts,
        "picker_can_add": len(picker_rows) < limits.MAX_PLATFORM_TARGETS and bool(accounts),
        "pending_image": editors.pending_image[0],
        "pending_image_name": editors.pending_image[1],
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
    key = managed_course(request, course_key)
    own = Credential.objects.filter(course_key=key).prefetch_related("requires").order_by("title", "slug")
    # (Not .exclude(course_key=key): CourseKeyField refuses the IS NULL test that excluding needs.)
    elsewhere = (Credential.objects.filter(course_dependencies__course_key=key)
                 .exclude(pk__in=Credential.objects.filter(course_key=key).values("pk"))
                 .prefetch_related("requires").distinct().order_by("title", "slug"))
    names = get_platform().course_names([str(key)])
    levels = issuance.badge_levels()
    return render(request, TEMPLATES + "course.html", {
        "course_key": key,
        "course_label": course_label(key, names),
        "rows": [_row(request.user, c, key, levels) for c in own],
        "elsewhere": [_row(request.user, c, key, levels) for c in elsewhere],
    })


def _render_credential_form(request, form, course_key, credential=None, *, status=200, editors=None,
                            accounts=None):
    """The credential form's page, with the builder's rows and the platform accounts."""
    form.describe_fields()
    org = credential.org if credential is not None else course_key.org
    if accounts is None:
        accounts = account_choices(org)
    text = form["criteria"].value() or ""
    try:
        courses = rules.parse_criteria(limits.loads_bounded(text)).courses() if text.strip() else set()
    except (ValueError, rules.InvalidCriteria):
        courses = set()
    picker = CriteriaPicker(request.user, org, course_key if credential is None or credential.course_key else None,
                            credential, courses)
    context = {
        "form": form,
        "course_key": course_key,
        "credential": credential,
        "badge_image_url": issuance.badge_image_url(credential) if credential is not None else None,
        "urls": _credential_urls(credential, course_key) if credential is not None else None,
        "course_url": _course_list_url(course_key) if course_key else None,
    }
    context.update(builder_view(form, editors or Editors(), picker, accounts))
    return render(request, TEMPLATES + "credential_form.html", context, status=status)


PENDING_IMAGE_SECONDS = 24 * 60 * 60


def _pending_image_key(user, token):
    return f"microcred:pending-image:{user.pk}:{token}"


def _keep_pending_image(request, post):
    """
    A badge image chosen before a builder button was pressed, kept (checked, in the cache, for its
    user only) so that it is not lost when the page is shown again: (token, file name, error).
    """
    upload = request.FILES.get("image")
    token = post.get("pending_image", "")
    if upload is None:
        kept = cache.get(_pending_image_key(request.user, token)) if re.fullmatch(r"[0-9a-f]{32}", token) else None
        return (token, kept["name"], "") if kept else ("", "", "")
    try:
        validate_badge_image(upload)
    except ValidationError as exc:
        return "", "", " ".join(exc.messages)
    token = uuid4().hex
    upload.seek(0)
    cache.set(_pending_image_key(request.user, token), {"name": upload.name, "data": upload.read()},
              PENDING_IMAGE_SECONDS)
    return token, upload.name, ""


def _files_with_pending_image(request, post):
    """The uploaded files, with the kept badge image (``_keep_pending_image``) when no new one was chosen."""
    files = request.FILES.copy()
    token = post.get("pending_image", "")
    if "image" not in files and re.fullmatch(r"[0-9a-f]{32}", token):
        kept = cache.get(_pending_image_key(request.user, token))
        if kept:
            files["image"] = SimpleUploadedFile(kept["name"], kept["data"])
    return files


def _post_credential_form(request, key, stored, initial):
    """
    A post of the credential form: a builder or picker button shows the page again with the change;
    otherwise the credential is validated and saved (the same validation as the REST API and the
    admin: ``catalog.save_credential``). Returns the saved credential, or the page to show.
    """
    org = stored.org if stored is not None else key.org
    accounts = account_choices(org)
    default_course = str(stored.course_key if stored is not None and stored.course_key else key or "")
    post, editors = resolve_editors(request.POST, default_course, accounts)
    if not (stored is not None and stored.pk) and not post.get("slug", "").strip() and post.get("title"):
        post["slug"] = slugify(post["title"])[:100]  # the suggestion the script shows as the title is typed
    if editors.acted:
        fields = {name: post.get(name) for name in CredentialForm.base_fields if name in post}
        fields.update({name: bool(post.get(name)) for name in ("identity_verified", "remove_image")})
        if stored is not None:
            fields["slug"] = stored.slug
        form = CredentialForm(initial=fields, credential=stored)
        editors.pending_image = _keep_pending_image(request, post)
        if editors.pending_image[2]:
            form.fields["image"].help_text = editors.pending_image[2]
        return None, _render_credential_form(request, form, key, stored, editors=editors, accounts=accounts)
    files = _files_with_pending_image(request, post)
    form = (CredentialForm(post, files, initial=initial) if stored is None
            else CredentialForm(post, files, credential=stored))
    status = 200
    if form.is_valid():
        check_picked_templates(form, editors.targets or [], accounts)
    if form.is_valid():
        if stored is None:
            credential = form.apply_to(Credential(org=key.org, course_key=key, state=Credential.State.DRAFT))
        else:
            credential = form.apply_to(Credential.objects.get(pk=stored.pk))  # the page keeps showing what is stored
        saved, status = _save(request, form, credential, "criteria")
        if saved is not None:
            return saved, None
    return None, _render_credential_form(request, form, key, stored, status=status, editors=editors, accounts=accounts)


@login_required
@require_http_methods(["GET", "POST"])
@studio_view
def credential_new(request, course_key):
    """Create a credential of the course (a draft)."""
    key = managed_course(request, course_key)
    initial = {
        "criteria": json.dumps({"type": rules.CoursePassed.kind, "course": str(key)}, indent=2),
        "revocation_policy": Credential.RevocationPolicy.KEEP,
    }
    if request.method != "POST":
        return _render_credential_form(request, CredentialForm(initial=initial), key)
    saved, response = _post_credential_form(request, key, None, initial)
    if saved is None:
        return response
    messages.success(request, _("“%(title)s” is saved as a draft. Preview it, then publish it when it is "
                                "ready.") % {"title": saved.title})
    return redirect("openedx_microcred:studio-credential-edit", uuid=saved.uuid)


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
    saved, response = _post_credential_form(request, home, stored, None)
    if saved is None:
        return response
    messages.success(request, _("“%(title)s” is saved.") % {"title": saved.title})
    return redirect(_credential_urls(saved, home)["edit"])


def _org_choices(course_key):
    """[(group label, [(slug, label), ...]), ...]: the organization's credentials by course."""
    credentials = _org_credentials(course_key.org)
    names = get_platform().course_names({str(c.course_key) for c in credentials if c.course_key})
    groups = OrderedDict()
    for credential in credentials:
        key = credential.course_key
        label = course_label(key, names) if key else _("Organization-wide")
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
    key = managed_course(request, course_key)
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
