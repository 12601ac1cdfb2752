"""
Serializers of the v1 API. They turn JSON (or multipart form data) into model values and back;
what a credential must satisfy is checked by the model's full_clean and by catalog.save_credential,
whose ValidationErrors come back as HTTP 400 {field: [messages]}.
"""

from django.core.exceptions import NON_FIELD_ERRORS
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from opaque_keys import InvalidKeyError
from opaque_keys.edx.keys import CourseKey
from rest_framework import serializers
from rest_framework.settings import api_settings

from ... import catalog, issuance
from ...limits import loads_bounded
from ...models import Credential
from .base import UnsavedSerializer


def api_validation_error(exc: DjangoValidationError) -> serializers.ValidationError:
    """A Django ValidationError as DRF's {field: [messages]}, with Django's "__all__" as non_field_errors."""
    detail = serializers.as_serializer_error(exc)
    if NON_FIELD_ERRORS in detail:
        detail[api_settings.NON_FIELD_ERRORS_KEY] = detail.pop(NON_FIELD_ERRORS)
    return serializers.ValidationError(detail)


def save(credential: Credential) -> Credential:
    """catalog.save_credential, with its validation errors as a DRF 400."""
    try:
        return catalog.save_credential(credential)
    except DjangoValidationError as exc:
        raise api_validation_error(exc) from exc


@extend_schema_field({
    "type": "string", "nullable": True, "example": "course-v1:DemoX+PY101+2026",
    "description": "An Open edX course key; null (or empty) for an organization-level credential.",
})
class CourseKeyField(serializers.Field):
    """An Open edX course key, as a string; empty or null means none."""

    default_error_messages = {
        "invalid": _("'{value}' is not a valid course key."),
        "type": _("A course key is a string such as course-v1:Org+Course+Run."),
    }

    def __init__(self, **kwargs):
        kwargs.setdefault("allow_null", True)
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("type")
        if not data.strip():
            return None
        try:
            return CourseKey.from_string(data.strip())
        except InvalidKeyError:
            self.fail("invalid", value=data[:200])

    def to_representation(self, value):
        return str(value) if value else None


@extend_schema_field({
    "type": "object", "additionalProperties": True,
    "description": "The requirement tree (docs/catalog-format.md, Criteria), e.g. "
                   '{"type": "course_passed", "course": "course-v1:DemoX+PY101+2026"}. '
                   "In multipart form data, send it as JSON text.",
    "example": {"type": "course_grade", "course": "course-v1:DemoX+PY101+2026", "min_percent": 70},
})
class BoundedJSONField(serializers.JSONField):
    """A JSONField whose JSON text (multipart form data) is read with the plugin's limits (limits.py)."""

    def to_internal_value(self, data):
        if self.binary or getattr(data, "is_json_string", False):
            try:
                data = loads_bounded(data)
            except ValueError:
                self.fail("invalid")
            return data
        return super().to_internal_value(data)


class CriteriaField(BoundedJSONField):
    """The requirement tree; the model parses it (rules.parse_criteria) and says where it is wrong."""


@extend_schema_field({
    "type": "array",
    "items": {
        "type": "object", "required": ["account"], "additionalProperties": True,
        "properties": {"account": {"type": "string", "description": "A MICROCRED_PLATFORM_ACCOUNTS name."}},
    },
    "description": "Where awards are pushed: one object per platform account, with that platform's "
                   "settings (template_id, group_id, badge_id or badgeclass). In multipart form data, "
                   "send it as JSON text.",
})
class PlatformTargetsField(BoundedJSONField):
    """The platform targets; the model checks their shape."""


class BadgeImageField(serializers.FileField):
    """An uploaded badge image; output: the URL it is served from (never the storage's own URL)."""

    def to_representation(self, value):
        return issuance.badge_image_url(value.instance) if value else None


class CredentialSerializer(serializers.ModelSerializer):
    """
    A credential as the course team sees it. New credentials are drafts: ``state`` changes only
    through the publish and archive endpoints. ``org`` may be left out when ``course_key`` is given
    (it is the course's organization); ``slug`` cannot change once created.
    """

    course_key = CourseKeyField(required=False)
    org = serializers.CharField(
        required=False, max_length=255,
        help_text=_("The awarding organization; defaults to the course's. Required without course_key."),
    )
    criteria = CriteriaField()
    platform_targets = PlatformTargetsField(required=False)
    learning_outcomes = serializers.ListField(
        child=serializers.CharField(), required=False,
        help_text=_("What a holder knows or can do (EU microcredential element)."),
    )
    ects_credits = serializers.DecimalField(
        max_digits=5, decimal_places=1, required=False, allow_null=True, coerce_to_string=False,
    )
    # Checked by the model's own validator (PNG or SVG, size, safe SVG) when the credential is saved.
    image = BadgeImageField(
        required=False, allow_null=True,
        help_text=_("The badge: a PNG or SVG of at most 512 KiB (multipart upload). Output: its absolute URL."),
    )
    is_stack = serializers.BooleanField(read_only=True, help_text=_("Whether the criteria require other credentials."))
    requires = serializers.SerializerMethodField(help_text=_("Slugs of the credentials the criteria require."))

    class Meta:
        model = Credential
        fields = (
            "uuid", "slug", "title", "description", "image", "org", "course_key", "state", "criteria",
            "is_stack", "requires", "revocation_policy", "stack_kind", "validity_days",
            "learning_outcomes", "workload_hours", "ects_credits", "eqf_level", "assessment_type",
            "participation_form", "supervision", "quality_assurance", "quality_assurance_framework",
            "quality_assurance_code", "quality_assurance_url", "language", "eu_notes", "identity_verified",
            "platform_targets",
            "created", "modified",
        )
        read_only_fields = ("uuid", "state", "created", "modified")
        # Uniqueness is the model's (full_clean), checked after the permission check.
        extra_kwargs = {"slug": {"validators": []}}

    @staticmethod
    def _model_values(validated_data):
        if "image" in validated_data and validated_data["image"] is None:
            validated_data["image"] = ""  # no badge image (the column is not nullable)
        return validated_data

    def get_requires(self, obj) -> list[str]:
        return sorted(c.slug for c in obj.requires.all())

    def validate(self, attrs):
        """
        The organization is the course's: derived when left out. One that differs is refused by the
        model's clean() (every way of saving checks it there), as a 400 on "org".
        """
        instance = self.instance
        if instance is not None and "course_key" not in attrs and "org" not in attrs:
            return attrs
        course_key = attrs["course_key"] if "course_key" in attrs else getattr(instance, "course_key", None)
        if course_key:
            attrs.setdefault("org", course_key.org)
        elif not attrs.get("org", getattr(instance, "org", "")):
            raise serializers.ValidationError({"org": [
                _("An organization-level credential (without course_key) needs an org.")
            ]})
        return attrs

    def create(self, validated_data):
        return save(Credential(**self._model_values(validated_data)))

    def update(self, instance, validated_data):
        for name, value in self._model_values(validated_data).items():
            setattr(instance, name, value)
        return save(instance)


class CredentialImageSerializer(serializers.ModelSerializer):
    """A badge image upload (multipart, field "image")."""

    image = BadgeImageField(
        allow_empty_file=False, help_text=_("The badge: a PNG or SVG of at most 512 KiB."),
    )

    class Meta:
        model = Credential
        fields = ("image",)

    def update(self, instance, validated_data):
        instance.image = validated_data["image"]
        return save(instance)


class CredentialFilterSerializer(UnsavedSerializer):
    """The query parameters of the credential list."""

    course_key = CourseKeyField(
        required=False, help_text=_("List the credentials of this course."),
    )
    org = serializers.CharField(
        required=False, help_text=_("List every credential of this organization, course-level and organization-level."),
    )
    state = serializers.ChoiceField(choices=Credential.State.choices, required=False)
