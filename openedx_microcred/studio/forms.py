"""
The forms of the Studio pages: a credential (with its criteria as JSON, which the criteria builder
edits in the browser) and the stack builder, which writes the criteria of a stack from a choice of
the organization's credentials.

The forms convert and check what a browser sends (JSON, numbers, lines); the model and the catalog
(``catalog.save_credential``) check the rest, and the views put their errors on these fields.
"""

import json

from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .. import limits, rules, vocabularies
from ..formfields import https_url_field
from ..images import MAX_BYTES, validate_badge_image
from ..models import Credential, platform_target_problems

BADGE_ACCEPT = ".png,.svg,image/png,image/svg+xml"
_NOT_GIVEN = [("", _("Not given"))]

GROUP_MODES = (
    (rules.ALL, _("All of them")),
    (rules.ANY, _("Any one of them")),
    (rules.AT_LEAST, _("At least a number of them")),
)


class AccessibleFormMixin:
    """
    Links every control to its help text and its errors (``aria-describedby``) and marks invalid
    controls (``aria-invalid``). The ids match ``studio/_field.html``: ``<id>_helptext`` and
    ``<id>_error``. Call ``describe_fields`` once the errors are final (after ``add_error``).
    """

    def describe_fields(self):
        """Point each field's aria-describedby at its help text and its error, and mark the invalid ones."""
        for name, field in self.fields.items():
            bound = self[name]
            ids = []
            if field.help_text:
                ids.append(f"{bound.auto_id}_helptext")
            if self.is_bound and bound.errors:
                ids.append(f"{bound.auto_id}_error")
                field.widget.attrs["aria-invalid"] = "true"
            else:
                field.widget.attrs.pop("aria-invalid", None)
            if ids:
                field.widget.attrs["aria-describedby"] = " ".join(ids)
        return self

    def add_model_errors(self, error: ValidationError, field_map=None):
        """
        Put the errors of a model or catalog ValidationError next to the fields they are about;
        errors about anything the form has no field for go at the top of the form.
        """
        field_map = field_map or {}
        if not hasattr(error, "error_dict"):
            for message in error.messages:
                self.add_error(None, message)
            return
        for name, messages in error.message_dict.items():
            target = field_map.get(name, name)
            for message in messages:
                if target in self.fields:
                    self.add_error(target, message)
                elif name == NON_FIELD_ERRORS:
                    self.add_error(None, message)
                else:
                    self.add_error(None, f"{name}: {message}")

    def error_summary(self):
        """(field id or None, label, message) for every error, in form order, for the summary."""
        summary = [(None, "", message) for message in self.non_field_errors()]
        for name in self.fields:
            bound = self[name]
            summary.extend((bound.id_for_label or bound.auto_id, bound.label, message) for message in bound.errors)
        return summary


def _json_text(value):
    return json.dumps(value, indent=2, ensure_ascii=False)


class CredentialForm(AccessibleFormMixin, forms.Form):
    """Everything a course team sets on one credential."""

    title = forms.CharField(label=_("Title"), max_length=255)
    slug = forms.SlugField(
        label=_("Slug"), max_length=100, required=False,
        help_text=_("A stable identifier, used in criteria, catalog files and badge platforms: letters, digits, "
                    "hyphens and underscores. It cannot change once the credential is created. Leave it empty to "
                    "use one made from the title."),
    )
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 4}))
    image = forms.FileField(
        label=_("Badge image"), required=False, validators=[validate_badge_image],
        widget=forms.FileInput(attrs={"accept": BADGE_ACCEPT}),
        # Lazy: translated when the page is shown, not once at import.
        help_text=lazy(lambda: gettext("A PNG or SVG file of at most %(kib)d KiB.") % {"kib": MAX_BYTES // 1024},
                       str)(),
    )
    remove_image = forms.BooleanField(label=_("Remove the current badge image"), required=False)
    criteria = forms.CharField(
        label=_("Criteria (JSON)"),
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "criteria-json"}),
        help_text=_("What a learner must do to earn the credential: a requirement tree as described in the "
                    "catalog file format. The builder above and this JSON show the same criteria: change either "
                    "one; when this JSON is changed, it is what counts."),
    )
    learning_outcomes = forms.CharField(
        label=_("Learning outcomes"), required=False, widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("One learning outcome per line."),
    )
    workload_hours = forms.IntegerField(label=_("Workload (hours)"), required=False, min_value=0)
    ects_credits = forms.DecimalField(label=_("ECTS credits"), required=False, min_value=0, max_digits=5,
                                      decimal_places=1)
    eqf_level = forms.TypedChoiceField(
        label=_("EQF level"), required=False, coerce=int, empty_value=None,
        choices=[("", _("Not given"))] + [(str(level), str(level)) for level in range(1, 9)],
        help_text=_("The level of the European Qualifications Framework, 1 to 8."),
    )
    # The EU elements with a controlled vocabulary: the European Learning Model's terms.
    assessment_type = forms.ChoiceField(
        label=_("Assessment type"), required=False,
        choices=_NOT_GIVEN + vocabularies.choices(vocabularies.ASSESSMENT_TYPES),
        help_text=_("The main type of assessment, from the European Learning Model's list."))
    participation_form = forms.ChoiceField(
        label=_("Participation form"), required=False,
        choices=_NOT_GIVEN + vocabularies.choices(vocabularies.LEARNING_MODES),
        help_text=_("The mode of learning and assessment, from the European Learning Model's list."))
    supervision = forms.ChoiceField(
        label=_("Supervision"), required=False,
        choices=_NOT_GIVEN + vocabularies.choices(vocabularies.SUPERVISION_TYPES),
        help_text=_("How the assessment is supervised, and whether the learner's identity is verified."))
    identity_verified = forms.BooleanField(label=_("The learner's identity is verified"), required=False)
    quality_assurance = forms.CharField(label=_("Quality assurance"), required=False,
                                        widget=forms.Textarea(attrs={"rows": 3}),
                                        help_text=_("How the quality of the credential is assured."))
    quality_assurance_framework = forms.CharField(
        label=_("Quality assurance framework or body"), required=False, max_length=255,
        help_text=_("For example the accreditation organization or the internal framework."))
    quality_assurance_code = forms.CharField(label=_("Quality assurance code"), required=False, max_length=100,
                                             help_text=_("The number of the decision, if there is one."))
    quality_assurance_url = https_url_field(label=_("Quality assurance URL"), required=False, max_length=500,
                                            help_text=_("The public record of the quality assurance."))
    language = forms.CharField(label=_("Language"), required=False, max_length=35,
                               help_text=_("The language of the learning, such as 'en' or 'nl-NL'. Empty: the "
                                           "site's language."))
    eu_notes = forms.CharField(
        label=_("Notes from earlier free text"), required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Text saved before assessment type and participation form became choices that matched no "
                    "term. Pick the terms above, then clear this note."))
    validity_days = forms.IntegerField(label=_("Validity (days)"), required=False, min_value=1,
                                       help_text=_("How many days an award stays valid; leave empty for no expiry."))
    revocation_policy = forms.ChoiceField(label=_("Revocation policy"), choices=Credential.RevocationPolicy.choices)
    stack_kind = forms.ChoiceField(
        label=_("Stack kind"), required=False, choices=Credential.StackKind.choices,
        help_text=_("For a credential that requires other credentials."),
    )
    platform_targets = forms.CharField(
        label=_("Badge platforms (JSON)"), required=False,
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "targets-json"}),
        help_text=_('Where awards are sent, as JSON (the picker above writes it): a list such as '
                    '[{"account": "credly", "template_id": "…"}]. The account '
                    "is one the operator configured; the other keys are the platform's own: template_id (Credly), "
                    "group_id (Accredible), badge_id (Open Badge Factory), badgeclass (Badgr). Leave empty for none."),
    )

    def __init__(self, *args, credential=None, **kwargs):
        self.credential = credential
        if credential is not None and "initial" not in kwargs:
            kwargs["initial"] = self.initial_from(credential)
        super().__init__(*args, **kwargs)
        if credential is not None and credential.pk:
            self.fields["slug"].disabled = True
            self.fields["slug"].help_text = _("The slug cannot change: criteria, files and awards refer to it.")
        if credential is None or not credential.image:
            del self.fields["remove_image"]
        if not (credential is not None and credential.eu_notes) and not (self.is_bound and self.data.get("eu_notes")):
            del self.fields["eu_notes"]  # only a credential migrated with unmatched text has notes

    @staticmethod
    def initial_from(credential):
        return {
            "title": credential.title,
            "slug": credential.slug,
            "description": credential.description,
            "criteria": _json_text(credential.criteria) if credential.criteria is not None else "",
            "learning_outcomes": "\n".join(credential.learning_outcomes or []),
            "workload_hours": credential.workload_hours,
            "ects_credits": credential.ects_credits,
            "eqf_level": str(credential.eqf_level) if credential.eqf_level else "",
            "assessment_type": credential.assessment_type,
            "participation_form": credential.participation_form,
            "supervision": credential.supervision,
            "quality_assurance": credential.quality_assurance,
            "quality_assurance_framework": credential.quality_assurance_framework,
            "quality_assurance_code": credential.quality_assurance_code,
            "quality_assurance_url": credential.quality_assurance_url,
            "language": credential.language,
            "eu_notes": credential.eu_notes,
            "identity_verified": credential.identity_verified,
            "validity_days": credential.validity_days,
            "revocation_policy": credential.revocation_policy,
            "stack_kind": credential.stack_kind,
            "platform_targets": _json_text(credential.platform_targets) if credential.platform_targets else "",
        }

    def clean_criteria(self):
        """The criteria, parsed as JSON and checked by the rules engine."""
        text = self.cleaned_data["criteria"]
        try:
            data = limits.loads_bounded(text)
        except ValueError as exc:
            raise ValidationError(gettext("The criteria are not valid JSON: %(error)s") % {"error": exc}) from exc
        try:
            rules.parse_criteria(data)
        except rules.InvalidCriteria as exc:
            raise ValidationError(exc.messages) from exc
        return data

    def clean_learning_outcomes(self):
        return [line.strip() for line in self.cleaned_data["learning_outcomes"].splitlines() if line.strip()]

    def clean_platform_targets(self):
        """The platform targets, parsed as JSON and checked (an empty text is none)."""
        text = self.cleaned_data["platform_targets"].strip()
        if not text:
            return []
        try:
            targets = limits.loads_bounded(text)
        except ValueError as exc:
            message = gettext("The badge platforms are not valid JSON: %(error)s") % {"error": exc}
            raise ValidationError(message) from exc
        problems = platform_target_problems(targets)
        if problems:
            raise ValidationError([str(problem) for problem in problems])
        return targets

    def apply_to(self, credential):
        """Copy the cleaned values onto ``credential`` (not saved)."""
        data = self.cleaned_data
        for name in ("title", "description", "criteria", "learning_outcomes", "workload_hours", "ects_credits",
                     "eqf_level", "assessment_type", "participation_form", "supervision", "quality_assurance",
                     "quality_assurance_framework", "quality_assurance_code", "quality_assurance_url", "language",
                     "eu_notes", "identity_verified", "validity_days", "revocation_policy", "stack_kind",
                     "platform_targets"):
            if name in data:  # eu_notes only when the form has it
                setattr(credential, name, data[name])
        if not credential.pk:
            credential.slug = data["slug"]
        if data.get("image"):
            credential.image = data["image"]
        elif data.get("remove_image"):
            # The file itself stays: awards already issued name its URL.
            credential.image = ""
        return credential


class StackForm(AccessibleFormMixin, forms.Form):
    """A stack made of the organization's credentials; it becomes a credential whose criteria name them."""

    OWNER_COURSE, OWNER_ORG = "course", "org"

    title = forms.CharField(label=_("Title"), max_length=255)
    slug = forms.SlugField(
        label=_("Slug"), max_length=100,
        help_text=_("A stable identifier: letters, digits, hyphens and underscores. It cannot change later."),
    )
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    stack_kind = forms.ChoiceField(
        label=_("Stack kind"), widget=forms.RadioSelect,
        choices=[choice for choice in Credential.StackKind.choices if choice[0]],
        initial=Credential.StackKind.VERTICAL,
    )
    owner = forms.ChoiceField(label=_("Owner"), widget=forms.RadioSelect, initial=OWNER_COURSE)
    credentials = forms.MultipleChoiceField(
        label=_("Credentials in the stack"),
        help_text=_("The organization's credentials, by course. Credentials of other courses make this a "
                    "cross-course stack, which only organization staff can save."),
    )
    mode = forms.ChoiceField(label=_("Learners must earn"), widget=forms.RadioSelect, choices=GROUP_MODES,
                             initial=rules.ALL)
    n = forms.IntegerField(label=_("How many (for “at least”)"), required=False, min_value=1)
    previous_level = forms.ChoiceField(
        label=_("Requires the previous level"), required=False,
        help_text=_("For a level of a vertical stack (bronze → silver → gold): the level below this one. "
                    "Learners must hold it as well as the credentials chosen above."),
    )

    def __init__(self, *args, course_key, choices, **kwargs):
        """``choices``: [(group label, [(slug, title), ...]), ...], the org's credentials by course."""
        super().__init__(*args, **kwargs)
        self.course_key = course_key
        self.grouped_choices = choices
        flat = [(slug, title) for _group, options in choices for slug, title in options]
        self.fields["credentials"].choices = flat
        self.fields["previous_level"].choices = [("", _("None: this is the first level"))] + flat
        self.fields["owner"].choices = [
            (self.OWNER_COURSE, _("This course (%(course)s)") % {"course": course_key}),
            (self.OWNER_ORG, _("The organization (%(org)s), for a stack across its courses") % {"org": course_key.org}),
        ]

    def clean(self):
        data = super().clean()
        selected = data.get("credentials") or []
        mode = data.get("mode")
        previous = data.get("previous_level")
        if previous and previous in selected:
            self.add_error("previous_level", gettext("The previous level is already one of the credentials chosen "
                                                     "above; choose it in one place only."))
        if mode == rules.AT_LEAST and selected:
            n = data.get("n")
            if n is None:
                self.add_error("n", gettext("Say how many of the chosen credentials learners must earn."))
            elif n > len(selected):
                self.add_error("n", gettext("At most %(count)d: only %(count)d credentials are chosen.")
                               % {"count": len(selected)})
        return data

    def criteria(self):
        """The requirement tree the choices describe (call once the form is valid)."""
        data = self.cleaned_data
        leaves = [{"type": rules.CredentialEarned.kind, "credential": slug} for slug in data["credentials"]]
        mode = data["mode"]
        previous = data.get("previous_level")
        if mode == rules.AT_LEAST:
            group = {"type": rules.AT_LEAST, "n": data["n"], "of": leaves}
        elif len(leaves) == 1:
            group = leaves[0]
        else:
            group = {"type": mode, "of": leaves}
        if not previous:
            return group
        required = {"type": rules.CredentialEarned.kind, "credential": previous}
        if group.get("type") == rules.ALL:
            return {"type": rules.ALL, "of": [required] + group["of"]}
        return {"type": rules.ALL, "of": [required, group]}

    def build_credential(self):
        """An unsaved draft Credential for the stack."""
        data = self.cleaned_data
        org_level = data["owner"] == self.OWNER_ORG
        return Credential(
            slug=data["slug"], title=data["title"], description=data["description"], org=self.course_key.org,
            course_key=None if org_level else self.course_key, state=Credential.State.DRAFT,
            stack_kind=data["stack_kind"], criteria=self.criteria(),
        )
