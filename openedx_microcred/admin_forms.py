"""
The admin's forms: a credential's (its criteria as indented JSON) and the reason for a revocation.
"""

import json

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey

from .formfields import https_url_field
from .models import Credential

CRITERIA_EXAMPLE = json.dumps({"type": "all", "of": [
    {"type": "course_passed", "course": "course-v1:Org+CS101+2026"},
    {"type": "course_grade", "course": "course-v1:Org+CS102+2026", "min_percent": 80},
    {"type": "at_least", "n": 1, "of": [
        {"type": "credential", "credential": "python-bronze"},
        {"type": "certificate", "course": "course-v1:Org+CS104+2026", "mode": "verified"},
    ]},
]}, indent=2)


class CriteriaField(forms.JSONField):
    """The criteria as indented JSON (an empty box, not "null", on the add form)."""

    def prepare_value(self, value):
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        if value is None:
            return ""
        return json.dumps(value, indent=2, ensure_ascii=False, cls=self.encoder)


class CredentialAdminForm(forms.ModelForm):
    """
    The credential's change form: the criteria as indented JSON with their syntax in the help, and
    the course key normalized (or refused) as typed.
    """

    criteria = CriteriaField(
        widget=forms.Textarea(attrs={
            "rows": 20, "cols": 100, "spellcheck": "false", "class": "vLargeTextField",
            "style": "font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; width: 60em;",
            "placeholder": CRITERIA_EXAMPLE,
        }),
        help_text=_(
            "The requirement tree, as JSON. Groups: all, any, at_least (with n), each with a list "
            "\"of\" requirements. Leaves: course_passed, course_grade (min_percent), course_completion "
            "(min_percent), certificate (mode), enrolled (modes), credential (a slug: this makes a stack). "
            "Any node may carry a \"label\"."
        ),
    )

    quality_assurance_url = https_url_field(
        required=False, max_length=500, help_text=_("The public record of the quality assurance."))

    class Meta:
        model = Credential
        # Derived from the criteria when the credential is saved; never edited by hand.
        exclude = ("requires",)  # pylint: disable=modelform-uses-exclude  (every other field: the admin's fieldsets)

    def clean_course_key(self):
        """The course key in its canonical string form, None when empty; text that is not a course key is an error."""
        value = self.cleaned_data.get("course_key")
        if not value:
            return None
        try:
            return str(CourseKey.from_string(str(value).strip()))
        except InvalidKeyError:
            raise ValidationError(_("'%(value)s' is not a valid course key."), params={"value": value}) from None

    def _update_errors(self, errors):
        """
        When the criteria did not even parse as JSON, keep only that precise error: what the
        model's clean() says of the old, unchanged value is noise.
        """
        if hasattr(errors, "error_dict") and "criteria" in self._errors:
            errors = ValidationError({k: v for k, v in errors.error_dict.items() if k != "criteria"})
            if not errors.error_dict:
                return None
        return super()._update_errors(errors)


class RevokeForm(forms.Form):
    """The reason an operator gives for a revocation: shown to the learner on their page."""

    reason = forms.CharField(
        label=_("Reason"), max_length=255, strip=True,
        help_text=_("The learners see it next to the revoked credential (at most 255 characters)."),
        widget=forms.Textarea(attrs={"rows": 3, "class": "vLargeTextField revoke-reason"}))
