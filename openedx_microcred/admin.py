"""
The Django admin an operator uses: the credential catalog, and read-only views of what the engine
stored (learner facts, progress, awards, rejected events).

Large instances have millions of facts, progress rows and awards. Their lists therefore select the
related rows in the same query, skip the full (unfiltered) count, and search by exact identifiers
(username, email, course key, event id, award uuid, credential slug), which the database can answer
from an index, instead of ``LIKE '%term%'`` over every row.
"""

import json
import uuid
from functools import partial

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery
from django.db.models.deletion import ProtectedError
from django.db.models.functions import Coalesce
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator, capfirst
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from . import awards, catalog, delivery, eventlog, facts, requirement_words, rules
from .admin_forms import CredentialAdminForm, RevokeForm
from .dispatch import enqueue_evaluation
from .models import (
    Award,
    BackfillRun,
    CourseDependency,
    Credential,
    Delivery,
    ExternalCredential,
    LearnerFact,
    Progress,
    RejectedEvent,
    RetirementRecord,
    TrustedIssuer,
    subject_hash,
)

EMPTY = "—"
_REQUIRES = Credential.requires.through  # from_credential (the stack) → to_credential (what it requires)


# --- Rendering helpers --------------------------------------------------------------------------


def _admin_url(obj):
    try:
        return reverse(f"admin:{obj._meta.app_label}_{obj._meta.model_name}_change", args=[obj.pk])
    except NoReverseMatch:  # pragma: no cover  (the model is not registered on this site)
        return None


def _pretty_json(value):
    if value in (None, "", [], {}):
        return EMPTY
    return format_html(
        '<pre style="white-space: pre-wrap; margin: 0;">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False, default=str),
    )


def _course(key):
    return format_html("<code>{}</code>", key)


def _credential_ref(slug, pks):
    """A required credential, linked to its change page when it exists."""
    pk = pks.get(slug)
    if pk is None:
        return format_html('<code>{}</code> <strong>({})</strong>', slug, _("no such credential"))
    url = reverse("admin:openedx_microcred_credential_change", args=[pk])
    return format_html('<a href="{}"><code>{}</code></a>', url, slug)


def describe_requirement(node, raw=None, credential_pks=None):
    """
    A requirement (sub)tree as readable HTML (requirement_words.html), its courses as code and the
    credentials it requires linked. ``raw`` is the node's JSON form, for the authors' "label"s.
    """
    credential_pks = credential_pks or {}
    return requirement_words.html(node, course=_course, credential=lambda slug: _credential_ref(slug, credential_pks),
                                  labels=_labels(raw, node.path))


def _labels(raw, path):
    """The "label"s of a tree's JSON form, by the path rules.parse_criteria gives each node."""
    labels, stack = {}, [(raw, path)]
    while stack:
        data, where = stack.pop()
        if not isinstance(data, dict):
            continue
        if isinstance(data.get("label"), str) and data["label"]:
            labels[where] = data["label"]
        if isinstance(data.get("of"), list):
            stack.extend((child, f"{where}.of[{i}]") for i, child in enumerate(data["of"]))
    return labels


def _describe_leaf_dict(data, where, credential_pks):
    """One stored leaf (progress, evidence), readable if it still parses, as JSON otherwise."""
    try:
        return describe_requirement(rules.parse_criteria(data, where), data, credential_pks)
    except rules.InvalidCriteria:
        return format_html("<code>{}</code>", json.dumps(data, sort_keys=True))


def _credential_pks(slugs):
    slugs = {s for s in slugs if isinstance(s, str)}
    return dict(Credential.objects.filter(slug__in=slugs).values_list("slug", "pk")) if slugs else {}


def _leaf_credential_slug(entry):
    requirement = entry.get("requirement") if isinstance(entry, dict) else None
    if isinstance(requirement, dict) and requirement.get("type") == rules.CredentialEarned.kind:
        return requirement.get("credential")
    return None


class ExactSearchMixin:
    """
    Search by exact identifiers only, each term matched against every identifier this admin knows
    (``exact_search``). Users and credentials are looked up first, so the search itself is a few
    indexed conditions on one table, which stays fast on tables of millions of rows.
    """

    exact_search = ()  # of "user" (username or email), "course_key", "event_id", "uuid", "credential"

    def get_search_results(self, request, queryset, search_term):
        """
        The rows every term names exactly (terms narrow, as in Django's search), and False: an exact
        match on identifiers never duplicates a row, so the list needs no DISTINCT.
        """
        terms = search_term.split()
        for term in terms:
            query = Q(pk__in=[])
            if "user" in self.exact_search:
                users = get_user_model().objects.filter(Q(username=term) | Q(email=term)).values_list("pk", flat=True)
                query |= Q(user_id__in=list(users[:1000]))
            if "credential" in self.exact_search:
                query |= Q(credential_id__in=list(Credential.objects.filter(slug=term).values_list("pk", flat=True)))
            if "course_key" in self.exact_search:
                try:
                    query |= Q(course_key=CourseKey.from_string(term))
                except InvalidKeyError:
                    pass
            if "event_id" in self.exact_search:
                query |= Q(event_id=term)
            if "uuid" in self.exact_search:
                try:
                    query |= Q(uuid=uuid.UUID(term))
                except ValueError:
                    pass
            queryset = queryset.filter(query)
        return queryset, False


class ReadOnlyAdminMixin:
    """Rows the engine writes from events: an operator looks, but does not add, edit or delete."""

    def has_add_permission(self, request, obj=None):  # pylint: disable=unused-argument  (Django's signature)
        return False

    def has_change_permission(self, request, obj=None):  # pylint: disable=unused-argument  (Django's signature)
        return False

    def has_delete_permission(self, request, obj=None):  # pylint: disable=unused-argument  (Django's signature)
        return False


# --- Credentials --------------------------------------------------------------------------------


@admin.register(Credential)
class CredentialAdmin(admin.ModelAdmin):
    """
    The credential catalog: criteria shown as read, what a credential requires and what requires it,
    publishing and archiving in bulk, and deletion refused while awards or stacks depend on it.
    """

    form = CredentialAdminForm
    list_display = (
        "slug", "title", "org", "course_key", "state", "is_stack", "revocation_policy", "active_awards", "modified",
    )
    list_display_links = ("slug", "title")
    list_filter = ("state", "org", "revocation_policy", "stack_kind")
    search_fields = ("slug", "title", "course_key")
    search_help_text = _("Part of a slug, title or course key.")
    actions = ("publish", "archive")
    save_on_top = True
    readonly_fields = (
        "uuid", "created", "modified", "criteria_tree", "requires_display", "required_by_display",
        "dependency_courses", "awards_display",
    )
    fieldsets = (
        (_("Identity"), {"fields": ("slug", "title", "description", "image", "org", "course_key", "state", "uuid")}),
        (_("Criteria"), {
            "fields": ("criteria", "criteria_tree", "requires_display", "required_by_display", "dependency_courses"),
            "description": _(
                "Saving checks the criteria, the credentials they require (which must exist, with no "
                "cycle) and refreshes the index of the courses whose events re-evaluate this credential."
            ),
        }),
        (_("Policy and validity"), {"fields": ("revocation_policy", "stack_kind", "validity_days", "awards_display")}),
        (_("Badge platforms"), {
            "fields": ("platform_targets",),
            "description": _('Where awards are pushed, e.g. [{"account": "credly", "template_id": "…"}]; '
                             "accounts and their secrets are configured in MICROCRED_PLATFORM_ACCOUNTS."),
        }),
        (_("EU microcredential metadata"), {
            "classes": ("collapse",),
            "fields": (
                "eu_notes", "learning_outcomes", "workload_hours", "ects_credits", "eqf_level", "assessment_type",
                "participation_form", "supervision", "identity_verified", "language", "quality_assurance",
                "quality_assurance_framework", "quality_assurance_code", "quality_assurance_url",
            ),
            "description": _("Assessment type, participation form and supervision are the European Learning "
                             "Model's terms. Notes hold free text saved before they were choices."),
        }),
        (_("Record"), {"fields": ("created", "modified")}),
    )

    def get_queryset(self, request):
        active_awards = (
            Award.objects.filter(credential=OuterRef("pk"), status=Award.Status.ACTIVE)
            .order_by().values("credential").annotate(n=Count("pk")).values("n")
        )
        # Subqueries rather than a JOIN + GROUP BY: the count of the list stays a plain count and
        # each subquery runs only for the rows of the page, from the award index by credential.
        return super().get_queryset(request).annotate(
            active_award_count=Coalesce(Subquery(active_awards, output_field=IntegerField()), 0),
            requires_any=Exists(_REQUIRES.objects.filter(from_credential=OuterRef("pk"))),
        )

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is not None:
            # Other credentials' criteria and exported files name it by its slug.
            fields = ("slug",) + tuple(fields)
        return fields

    def get_prepopulated_fields(self, request, obj=None):
        return {"slug": ("title",)} if obj is None else {}

    # List columns.

    @admin.display(boolean=True, description=_("stack"), ordering="requires_any")
    def is_stack(self, obj):
        return obj.requires_any

    @admin.display(description=_("active awards"), ordering="active_award_count")
    def active_awards(self, obj):
        return obj.active_award_count

    # Change page.

    @admin.display(description=_("requirements, as read"))
    def criteria_tree(self, obj):
        """The saved criteria in words, or a note that they do not parse (the form shows the error)."""
        if obj.criteria is None:
            return EMPTY
        try:
            tree = rules.parse_criteria(obj.criteria)
        except rules.InvalidCriteria:
            return _("(the criteria above are not valid; see the error)")
        return describe_requirement(tree, obj.criteria, _credential_pks(tree.credentials()))

    @admin.display(description=_("requires"))
    def requires_display(self, obj):
        if not obj.pk:
            return EMPTY
        return self._credential_list(obj.requires.all())

    @admin.display(description=_("required by (stacks)"))
    def required_by_display(self, obj):
        if not obj.pk:
            return EMPTY
        return self._credential_list(obj.required_by.all())

    @admin.display(description=_("dependency index (courses)"))
    def dependency_courses(self, obj):
        """The courses of the dependency index: those whose events re-evaluate this credential."""
        if not obj.pk:
            return EMPTY
        keys = sorted(str(k) for k in obj.course_dependencies.values_list("course_key", flat=True))
        if not keys:
            return EMPTY
        return format_html(
            "<ul>{}</ul><p class=\"help\">{}</p>",
            format_html_join("", "<li><code>{}</code></li>", ((k,) for k in keys)),
            _("An event in one of these courses re-evaluates this credential (directly or through a "
              "credential it requires)."),
        )

    @admin.display(description=_("awards"))
    def awards_display(self, obj):
        """The count of active awards, linked to the award list filtered to this credential."""
        if not obj.pk:
            return EMPTY
        count = getattr(obj, "active_award_count", None)
        if count is None:
            count = obj.awards.filter(status=Award.Status.ACTIVE).count()
        url = reverse("admin:openedx_microcred_award_changelist") + f"?credential__id__exact={obj.pk}"
        return format_html('<a href="{}">{}</a>', url,
                           ngettext("%(n)d active award", "%(n)d active awards", count) % {"n": count})

    @staticmethod
    def _credential_list(queryset):
        """Credentials as a list of links to their change pages, by slug, each with its title and state."""
        rows = list(queryset.order_by("slug").values_list("pk", "slug", "title", "state"))
        if not rows:
            return EMPTY
        states = dict(Credential.State.choices)
        return format_html("<ul>{}</ul>", format_html_join(
            "", '<li><a href="{}"><code>{}</code></a> {} ({})</li>',
            ((reverse("admin:openedx_microcred_credential_change", args=[pk]), slug, title, states.get(state, state))
             for pk, slug, title, state in rows),
        ))

    # Saving: the same path as catalog.save_credential, so the dependency index never goes stale.

    def save_model(self, request, obj, form, change):
        catalog.save_credential(obj)

    # Actions.

    @admin.action(description=_("Publish selected drafts"), permissions=("change",))
    def publish(self, request, queryset):
        """
        Make the selected drafts active and evaluate the learners who may already meet them; a draft
        that breaks the organization or EU rules stays a draft, with the reason shown.
        """
        drafts = list(queryset.filter(state=Credential.State.DRAFT))
        skipped = queryset.count() - len(drafts)
        # This action sets the state without a full save: the organization rule and the EU details'
        # rule (the issuer's country) the model's clean() applies to every save are applied here as
        # well, so a draft that breaks either stays a draft.
        crossing = {}
        for credential in drafts:
            try:
                problems = credential.organization_problems(credential.requirement())
                problems.update(credential.eu_problems(publishing=True))
            except rules.InvalidCriteria as exc:
                problems = {"criteria": exc.messages}
            if problems:
                crossing[credential.pk] = problems
                self.message_user(request, _("'%(slug)s' was not published: %(problems)s") % {
                    "slug": credential.slug,
                    "problems": " ".join(str(m) for messages in problems.values() for m in messages),
                }, messages.ERROR)
        drafts = [c for c in drafts if c.pk not in crossing]
        if drafts:
            Credential.objects.filter(pk__in=[c.pk for c in drafts], state=Credential.State.DRAFT).update(
                state=Credential.State.ACTIVE, modified=timezone.now()
            )
            for credential in drafts:
                credential.state = Credential.State.ACTIVE
                self.log_change(request, credential, "Published (draft → active).")
            catalog.evaluate_learners_of(drafts)  # learners who already meet the criteria
        self.message_user(request, ngettext("Published %(n)d credential.", "Published %(n)d credentials.",
                                            len(drafts)) % {"n": len(drafts)}, messages.SUCCESS)
        if skipped:
            self.message_user(request, ngettext(
                "%(n)d selected credential was not a draft and was left as it was.",
                "%(n)d selected credentials were not drafts and were left as they were.",
                skipped) % {"n": skipped}, messages.WARNING)
        self._warn_inactive_requirements(request, [c.pk for c in drafts])

    @admin.action(description=_("Archive selected credentials"), permissions=("change",))
    def archive(self, request, queryset):
        """Archive the selected credentials (their awards are kept), warning of the active stacks that require them."""
        chosen = list(queryset.exclude(state=Credential.State.ARCHIVED))
        if chosen:
            Credential.objects.filter(pk__in=[c.pk for c in chosen]).update(
                state=Credential.State.ARCHIVED, modified=timezone.now()
            )
            for credential in chosen:
                self.log_change(request, credential, "Archived.")
        self.message_user(request, ngettext("Archived %(n)d credential; its awards are kept.",
                                            "Archived %(n)d credentials; their awards are kept.",
                                            len(chosen)) % {"n": len(chosen)}, messages.SUCCESS)
        stacks = (
            _REQUIRES.objects.filter(to_credential__in=[c.pk for c in chosen],
                                     from_credential__state=Credential.State.ACTIVE)
            .values_list("from_credential__slug", "to_credential__slug")
        )
        for stack, child in stacks.order_by("from_credential__slug", "to_credential__slug"):
            self.message_user(request, _("Active stack '%(stack)s' requires '%(child)s', which is now archived: "
                                         "learners can no longer complete it.") % {"stack": stack, "child": child},
                              messages.WARNING)

    def _warn_inactive_requirements(self, request, pks):
        """A warning for each credential these stacks require that is not active: nobody can earn the stack yet."""
        edges = (
            _REQUIRES.objects.filter(from_credential__in=pks)
            .exclude(to_credential__state=Credential.State.ACTIVE)
            .order_by("from_credential__slug", "to_credential__slug")
            .values_list("from_credential__slug", "to_credential__slug")
        )
        for stack, child in edges:
            self.message_user(request, _("'%(stack)s' requires '%(child)s', which is not active: learners cannot "
                                         "earn it until that is published.") % {"stack": stack, "child": child},
                              messages.WARNING)

    # Deleting: refused while awards exist (Award.credential is PROTECT) or stacks require it.

    def deletion_blockers(self, credentials):
        """Why these credentials cannot be deleted (together), as messages; empty if they can."""
        pks = [c.pk for c in credentials]
        award_counts = dict(
            Award.objects.filter(credential_id__in=pks).order_by().values("credential_id")
            .annotate(n=Count("pk")).values_list("credential_id", "n")
        )
        required_by = {}
        for child, stack in (
            _REQUIRES.objects.filter(to_credential_id__in=pks).exclude(from_credential_id__in=pks)
            .order_by("from_credential__slug").values_list("to_credential_id", "from_credential__slug")
        ):
            required_by.setdefault(child, []).append(stack)
        blockers = []
        for credential in credentials:
            count = award_counts.get(credential.pk)
            if count:
                blockers.append(ngettext(
                    "%(credential)s has %(n)d award (active or revoked). Awards are the record of what "
                    "learners earned and are never deleted: archive the credential instead.",
                    "%(credential)s has %(n)d awards (active or revoked). Awards are the record of what "
                    "learners earned and are never deleted: archive the credential instead.",
                    count) % {"credential": credential, "n": count})
            if credential.pk in required_by:
                blockers.append(_(
                    "%(credential)s is required by %(stacks)s: remove it from their criteria first."
                ) % {"credential": credential, "stacks": ", ".join(required_by[credential.pk])})
        return blockers

    def get_deleted_objects(self, objs, request):
        """
        What deleting would remove, summarized: Django's default lists every related row, and a
        credential can have millions of progress rows.
        """
        objs = list(objs)
        blockers = self.deletion_blockers(objs)
        if blockers:
            return [], {}, set(), blockers
        progress = Progress.objects.filter(credential__in=objs).count()
        dependencies = CourseDependency.objects.filter(credential__in=objs).count()
        deleted = []
        for obj in objs:
            deleted.append(format_html('{}: <a href="{}">{}</a>', capfirst(Credential._meta.verbose_name),
                                       _admin_url(obj), obj))
        deleted.append([
            ngettext("%(n)d progress row", "%(n)d progress rows", progress) % {"n": progress},
            ngettext("%(n)d dependency index row", "%(n)d dependency index rows", dependencies) % {"n": dependencies},
        ])
        model_count = {
            Credential._meta.verbose_name_plural: len(objs),
            _("progress rows"): progress,
            _("dependency index rows"): dependencies,
        }
        perms_needed = set() if self.has_delete_permission(request) else {Credential._meta.verbose_name}
        return deleted, {k: v for k, v in model_count.items() if v}, perms_needed, []

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and self.has_delete_permission(request, obj):
            blockers = self.deletion_blockers([obj])
            if blockers:
                for blocker in blockers:
                    self.message_user(request, blocker, messages.ERROR)
                return HttpResponseRedirect(_admin_url(obj))
        try:
            return super().delete_view(request, object_id, extra_context)
        except ProtectedError:
            # An award was issued between the confirmation page and the POST.
            self.message_user(request, _("%(credential)s was just awarded and can no longer be deleted: "
                                         "archive it instead.") % {"credential": obj}, messages.ERROR)
            return HttpResponseRedirect(_admin_url(obj))

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            func, name, description = actions["delete_selected"]
            actions["delete_selected"] = (self._guard_protected(func), name, description)
        return actions

    @staticmethod
    def _guard_protected(func):
        """
        Django's bulk delete action, in one transaction that a race with an award (ProtectedError)
        rolls back whole, with a message instead of a server error.
        """
        def guarded(modeladmin, request, queryset):
            try:
                with transaction.atomic(using=queryset.db):
                    return func(modeladmin, request, queryset)
            except ProtectedError:
                modeladmin.message_user(request, _("Some of the selected credentials were just awarded and can no "
                                                   "longer be deleted; nothing was deleted."), messages.ERROR)
                return None

        guarded.__name__ = getattr(func, "__name__", "delete_selected")
        for attribute in ("short_description", "allowed_permissions"):
            if hasattr(func, attribute):
                setattr(guarded, attribute, getattr(func, attribute))
        return guarded


# --- Learner facts ------------------------------------------------------------------------------


@admin.register(LearnerFact)
class LearnerFactAdmin(ReadOnlyAdminMixin, ExactSearchMixin, admin.ModelAdmin):
    """The facts the engine recorded from events (a grade, a completion...), each with the event it came from."""

    list_display = ("user", "course_key", "kind", "short_value", "event_time", "event_id")
    list_filter = ("kind",)
    list_select_related = ("user",)
    show_full_result_count = False
    search_fields = ("user__username", "user__email", "course_key", "event_id")  # matched exactly, see below
    exact_search = ("user", "course_key", "event_id")
    search_help_text = _("Exact username, email, course key or event id.")
    fields = ("user", "course_key", "kind", "value_display", "event_type", "event_id", "event_time", "modified")
    readonly_fields = fields

    @admin.display(description=_("value"))
    def short_value(self, obj):
        return Truncator(json.dumps(obj.value, sort_keys=True, ensure_ascii=False)).chars(60)

    @admin.display(description=_("value"))
    def value_display(self, obj):
        return _pretty_json(obj.value)


@admin.register(TrustedIssuer)
class TrustedIssuerAdmin(admin.ModelAdmin):
    """
    The operator's list of the other issuers whose Open Badges 3.0 credentials learners may add,
    per organization whose credentials may then require them (docs/decisions/0012).
    """

    list_display = ("issuer", "name", "org", "created")
    list_filter = ("org",)
    search_fields = ("issuer", "name", "org")
    fields = ("issuer", "name", "org")


@admin.register(ExternalCredential)
class ExternalCredentialAdmin(ReadOnlyAdminMixin, ExactSearchMixin, admin.ModelAdmin):
    """Credentials from other issuers that learners added: verified here, their status read again on a schedule."""

    list_display = ("user", "achievement_name", "issuer", "status", "verified_at", "checked_at")
    list_filter = ("status",)
    list_select_related = ("user",)
    show_full_result_count = False
    search_fields = ("user__username", "user__email")
    exact_search = ("user",)
    search_help_text = _("Exact username or email.")
    fields = ("user", "issuer", "issuer_name", "achievement_id", "achievement_types", "achievement_name", "result",
              "status", "subject_match", "valid_from", "valid_until", "verified_at", "checked_at",
              "last_check_error", "status_list_url", "status_index", "source_url", "credential_id",
              "document_display")
    readonly_fields = fields

    @admin.display(description=_("credential"))
    def document_display(self, obj):
        return _pretty_json(obj.document)


# --- Progress -----------------------------------------------------------------------------------


@admin.register(Progress)
class ProgressAdmin(ReadOnlyAdminMixin, ExactSearchMixin, admin.ModelAdmin):
    """Each learner's progress towards each credential, as last evaluated, requirement by requirement."""

    list_display = ("user", "credential", "percent", "met", "modified")
    list_filter = (("credential__state", admin.ChoicesFieldListFilter), "met")
    list_select_related = ("user", "credential")
    show_full_result_count = False
    search_fields = ("user__username", "user__email", "credential__slug")  # matched exactly, see below
    exact_search = ("user", "credential")
    search_help_text = _("Exact username, email or credential slug.")
    fields = ("user", "credential", "percent", "met", "requirements_display", "modified")
    readonly_fields = fields

    @admin.display(description=_("progress"), ordering="fraction")
    def percent(self, obj):
        return f"{obj.fraction:.0%}"

    @admin.display(description=_("requirements"))
    def requirements_display(self, obj):
        """The stored requirements, each met or not, in words, with the fraction done."""
        entries = [e for e in (obj.requirements or []) if isinstance(e, dict)]
        if not entries:
            return EMPTY
        pks = _credential_pks(_leaf_credential_slug(e) for e in entries)
        rows = []
        for entry in entries:
            met = bool(entry.get("met"))
            fraction = entry.get("fraction") or 0
            rows.append((
                "✔" if met else "✘",
                _("met") if met else _("not met"),
                entry.get("path", ""),
                _describe_leaf_dict(entry.get("requirement"), entry.get("path", "criteria"), pks),
                f"{float(fraction):.0%}" if isinstance(fraction, (int, float)) else fraction,
            ))
        return format_html("<ul>{}</ul>", format_html_join(
            "", '<li><span title="{1}">{0}</span> <code>{2}</code> {3} ({4})</li>', rows))


# --- Awards -------------------------------------------------------------------------------------


@admin.register(Award)
class AwardAdmin(ExactSearchMixin, admin.ModelAdmin):
    """
    The awards: read-only records, which an operator revokes (with a reason the learner sees) or whose
    block on earning again an operator lifts.
    """

    list_display = ("uuid", "user", "credential", "status", "issued_at", "expires_at", "revoked_at")
    list_filter = ("status", "credential")
    list_select_related = ("user", "credential")
    show_full_result_count = False
    # The primary key follows issue order and is indexed; issued_at is not (see Meta.ordering).
    ordering = ("-pk",)
    search_fields = ("user__username", "user__email", "credential__slug", "uuid")  # matched exactly, see below
    exact_search = ("user", "credential", "uuid")
    search_help_text = _("Exact username, email, credential slug or award uuid.")
    actions = ("revoke", "allow_earning_again")
    fields = (
        "uuid", "user", "credential", "status", "current", "issued_at", "expires_at", "revoked_at",
        "revocation_reason", "revocation_source", "blocks_reaward", "evidence_display",
    )
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):  # pylint: disable=unused-argument  (Django's signature)
        return False  # the engine awards; an operator revokes

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False  # an award is a record: revoke it

    def has_revoke_permission(self, request):
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    @admin.action(description=_("Revoke selected awards…"), permissions=("revoke",))
    def revoke(self, request, queryset):
        """
        Django's intermediate page first (as for deletion): which awards, and a reason, which the
        learner is shown. Only the confirmation's POST (with its CSRF token) revokes.
        """
        active = queryset.filter(status=Award.Status.ACTIVE, current=True).select_related("user", "credential")
        form = RevokeForm(request.POST if request.POST.get("confirm") == "yes" else None)
        if form.is_bound and form.is_valid():
            return self._revoke(request, queryset, form.cleaned_data["reason"])
        return TemplateResponse(request, "admin/openedx_microcred/award/revoke_confirmation.html", {
            **self.admin_site.each_context(request),
            "title": _("Revoke these awards?"),
            "opts": self.opts,
            "awards": list(active.order_by("pk")[:200]),
            "active_count": active.count(),
            "inactive_count": queryset.count() - active.count(),
            "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
            "form": form,
            "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
        })

    def _revoke(self, request, queryset, reason):
        """
        Revoke the selection's active awards for this reason, log each, and queue the learners'
        evaluation (their stacks may follow); None, so Django goes back to the list.
        """
        candidates = queryset.filter(status=Award.Status.ACTIVE, current=True).order_by().values_list("pk", flat=True)
        revoked = awards.revoke_awards(candidates, reason, source=Award.RevocationSource.OPERATOR)
        for award in Award.objects.filter(pk__in=revoked).select_related("credential", "user"):
            self.log_change(request, award, f"Revoked by {request.user.get_username()} ({reason}).")
        # Stacks above a revoked credential may have to follow (their own revocation policy).
        for user_id in {a.user_id for a in Award.objects.filter(pk__in=revoked)}:
            transaction.on_commit(partial(enqueue_evaluation, user_id, None))
        selected = queryset.count()
        self.message_user(request, ngettext("Revoked %(n)d award.", "Revoked %(n)d awards.", len(revoked))
                          % {"n": len(revoked)}, messages.SUCCESS)
        if selected > len(revoked):
            skipped = selected - len(revoked)
            self.message_user(request, ngettext(
                "%(n)d selected award was not active and was left unchanged.",
                "%(n)d selected awards were not active and were left unchanged.", skipped) % {"n": skipped},
                messages.WARNING)

    @admin.action(description=_("Allow the learners to earn these credentials again"), permissions=("revoke",))
    def allow_earning_again(self, request, queryset):
        """Lift an operator revocation's block: the criteria decide again from the next evaluation."""
        blocked = list(queryset.filter(blocks_reaward=True).values_list("pk", "user_id"))
        Award.objects.filter(pk__in=[pk for pk, _ in blocked]).update(blocks_reaward=False)
        for user_id in {user_id for _, user_id in blocked}:
            transaction.on_commit(partial(enqueue_evaluation, user_id, None))
        self.message_user(request, ngettext("Lifted %(n)d block; the learner is evaluated again.",
                                            "Lifted %(n)d blocks; the learners are evaluated again.", len(blocked))
                          % {"n": len(blocked)}, messages.SUCCESS)

    @admin.display(description=_("evidence"))
    def evidence_display(self, obj):
        """
        What met each requirement when the award was issued: the facts and their events, or the award
        of a required credential, linked.
        """
        entries = [e for e in (obj.evidence or []) if isinstance(e, dict)]
        if not entries:
            return EMPTY
        pks = _credential_pks(_leaf_credential_slug(e) for e in entries)
        child_uuids = set()
        for entry in entries:
            try:
                child_uuids.add(uuid.UUID(str(entry.get("award"))))
            except ValueError:
                pass
        children = dict(Award.objects.filter(uuid__in=child_uuids).values_list("uuid", "pk")) if child_uuids else {}
        items = []
        for entry in entries:
            path = entry.get("path", "criteria")
            requirement = _describe_leaf_dict(entry.get("requirement"), path, pks)
            if "award" in entry:
                items.append(format_html("<code>{}</code> {}: {} {}", path, requirement, _("met by award"),
                                         self._award_link(entry.get("award"), children)))
            else:
                met_by = [f for f in entry.get("facts") or [] if isinstance(f, dict)]
                if met_by:
                    how = format_html("{}<ul>{}</ul>", _("met by"), format_html_join("", "<li>{}</li>", (
                        (format_html(
                            str(_("{kind} of {course}: event {event_id} at {time} → {value}")),
                            kind=f.get("kind", "?"), course=_course(f.get("course_key", "?")),
                            event_id=format_html("<code>{}</code>", f.get("event_id", "?")),
                            time=f.get("event_time", "?"),
                            value=format_html("<code>{}</code>", json.dumps(f.get("value"), sort_keys=True,
                                                                            ensure_ascii=False)),
                        ),) for f in met_by)))
                else:
                    how = _("met (no fact recorded)")
                items.append(format_html("<code>{}</code> {}: {}", path, requirement, how))
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((i,) for i in items)))

    @staticmethod
    def _award_link(value, children):
        """A required award's uuid, linked to its change page when that award is among ``children`` (uuid → pk)."""
        if not value:
            return _("(the required award was not recorded)")
        try:
            pk = children.get(uuid.UUID(str(value)))
        except ValueError:
            pk = None
        if pk is None:
            return format_html("<code>{}</code>", value)
        return format_html('<a href="{}"><code>{}</code></a>',
                           reverse("admin:openedx_microcred_award_change", args=[pk]), value)


# --- Rejected events ----------------------------------------------------------------------------


@admin.register(RejectedEvent)
class RejectedEventAdmin(admin.ModelAdmin):
    """
    The events the engine could not use, with the reason; an operator sends them again once the cause
    is fixed, or deletes them.
    """

    list_display = ("received_at", "event_type", "event_id", "short_reason")
    list_filter = ("event_type",)
    search_fields = ("event_id", "event_type", "reason")
    date_hierarchy = "received_at"
    show_full_result_count = False
    fields = ("received_at", "event_type", "event_id", "event_time", "reason", "payload_display")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):  # pylint: disable=unused-argument  (Django's signature)
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("reason"))
    def short_reason(self, obj):
        return Truncator(obj.reason).chars(100)

    actions = ("send_again",)

    @admin.action(description=_("Send selected events again"), permissions=("delete",))
    def send_again(self, request, queryset):
        """Once the cause is fixed (the user exists now...), send the kept events through the signals."""
        outcomes, unsendable = {}, []
        for rejected in queryset.order_by("event_time", "pk"):
            try:
                outcome = facts.resend_rejected(rejected)
            except eventlog.InvalidEventLine as exc:
                unsendable.append(f"{rejected.event_id or rejected.pk}: {exc}")
                continue
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        if outcomes:
            summary = ", ".join(f"{outcome} {count}" for outcome, count in sorted(outcomes.items()))
            self.message_user(request, _("Sent again: %(summary)s. Events rejected again are listed anew with "
                                         "their reason.") % {"summary": summary}, messages.SUCCESS)
        for problem in unsendable:
            self.message_user(request, _("Not sendable, kept: %(problem)s") % {"problem": problem}, messages.WARNING)

    @admin.display(description=_("payload"))
    def payload_display(self, obj):
        return _pretty_json(obj.payload)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The outbox to badge platforms: what is waiting, what failed and why (errors never hold secrets)."""

    list_display = ("award_uuid", "account", "platform", "action", "state", "attempts", "next_attempt_at",
                    "external_id", "upstream_state", "short_error")
    list_filter = ("state", "platform", "account", "action")
    search_fields = ("=external_id", "=award__uuid", "=account")
    list_select_related = ("award",)
    show_full_result_count = False
    actions = ("retry", "cancel")
    fields = ("award", "account", "platform", "action", "target", "state", "attempts", "next_attempt_at",
              "outcome_unknown", "external_id", "upstream_state", "last_error", "created", "modified")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):  # pylint: disable=unused-argument  (Django's signature)
        return False  # awards and revocations write the outbox

    def has_change_permission(self, request, obj=None):
        return False

    def has_retry_permission(self, request):
        return request.user.has_perm(f"{self.opts.app_label}.change_{self.opts.model_name}")

    @admin.display(description=_("award"))
    def award_uuid(self, obj):
        return obj.award.uuid

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return Truncator(obj.last_error).chars(120)

    @admin.action(description=_("Retry selected deliveries now"), permissions=("retry",))
    def retry(self, request, queryset):
        count = delivery.retry_now(list(queryset))
        self.message_user(request, ngettext("%(n)d delivery queued again.", "%(n)d deliveries queued again.", count)
                          % {"n": count}, messages.SUCCESS)

    @admin.action(description=_("Cancel selected deliveries"), permissions=("retry",))
    def cancel(self, request, queryset):
        count = delivery.cancel(list(queryset))
        self.message_user(request, ngettext("%(n)d delivery cancelled.", "%(n)d deliveries cancelled.", count)
                          % {"n": count}, messages.SUCCESS)


# --- Back-fill runs -----------------------------------------------------------------------------


@admin.register(BackfillRun)
class BackfillRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """microcred_backfill's runs and checkpoints: how far each got and what it did (the command writes them)."""

    list_display = ("pk", "scope", "target", "state", "cursor", "rows_read", "facts_applied", "facts_stale",
                    "rows_rejected", "learners_evaluated", "awards_made", "started_at", "updated_at", "finished_at")
    list_filter = ("state", "scope")
    search_fields = ("=target",)
    show_full_result_count = False
    fields = ("scope", "target", "state", "cursor", "chunk_size", "chunks", "rows_read", "learners_read",
              "facts_applied", "facts_unchanged", "facts_stale", "facts_duplicate", "rows_rejected",
              "learners_evaluated", "awards_made", "revocations", "awards_by_credential_display", "last_error",
              "started_at", "updated_at", "finished_at")
    readonly_fields = fields

    @admin.display(description=_("awards by credential"))
    def awards_by_credential_display(self, obj):
        return _pretty_json(obj.awards_by_credential)


# --- Learner retirement ---------------------------------------------------------------------------


@admin.register(RetirementRecord)
class RetirementRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """
    The audit trail of learner retirements (retirement.py): when, what asked for it, how much was
    removed. No personal data: a learner is found only by typing their user id, which is hashed.
    """

    list_display = ("retired_at", "source", "awards_revoked", "revocations_queued", "documents_removed",
                    "facts_deleted", "progress_deleted", "rejected_events_deleted")
    list_filter = ("source",)
    date_hierarchy = "retired_at"
    show_full_result_count = False
    search_help_text = _("A user id: shows that learner's retirement record, if there is one.")
    search_fields = ("=subject",)
    fields = ("subject", "retired_at", "updated_at", "source", "awards_revoked", "revocations_queued",
              "documents_removed", "facts_deleted", "progress_deleted", "rejected_events_deleted")
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        if not term.isdigit():
            return queryset.none(), False
        return queryset.filter(subject=subject_hash(int(term))), False
