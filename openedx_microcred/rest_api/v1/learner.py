"""
The learner's own data: their awards, their progress toward every credential and stack, and what
the learner-dashboard MFE widget shows (docs/learner-dashboard-widget.md).

Learners only ever see their own data. Global staff may ask for anyone's with ``?username=``;
anyone else asking for another learner gets a 403 (whether that learner exists or not).
The views only call ``api.py`` and serialize the dataclasses it returns.
"""

from django.contrib.auth import get_user_model
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.permissions import IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from ... import api, limits, links, permissions, retirement
from ...models import Award, ExternalCredential
from .base import ApiViewMixin, UnsavedSerializer
from .serializers import CourseKeyField

OTHER_LEARNER = _("You can only see your own credentials.")
NOT_THE_HOLDER = _("Only the holder of a credential can hide it or show it.")
NO_SUCH_AWARD = _("There is no credential with this id.")
NO_SUCH_LEARNER = _("There is no learner with this username.")

_USERNAME = OpenApiParameter(
    "username", str, description=_("Another learner's username (global staff only); default: yourself."),
)
_ERRORS = {
    401: OpenApiResponse(description=_("Not signed in (session or JWT).")),
    403: OpenApiResponse(description=_("Another learner's data, and you are not global staff.")),
    404: OpenApiResponse(description=_("Global staff asked for a username that does not exist.")),
}


# --- Serializers of api.py's dataclasses (read only; they also give the OpenAPI schema) -----------


class _Out(UnsavedSerializer):
    """A read-only serializer of a dataclass from data.py."""


def _nest(serializer_class, name, help_text):
    """Give ``serializer_class`` a field ``name``: a list of itself (a tree; drf-spectacular makes it a $ref)."""
    serializer_class._declared_fields[name] = serializer_class(  # pylint: disable=protected-access  (DRF's only way)
        many=True, help_text=help_text)


class AwardSerializer(_Out):
    """One award: the credential, its status and dates, and the evidence frozen when it was made."""

    uuid = serializers.UUIDField()
    credential_slug = serializers.CharField()
    title = serializers.CharField()
    user_id = serializers.IntegerField()
    status = serializers.CharField()
    issued_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    evidence = serializers.JSONField(help_text=_("Which requirement was met by which event, frozen at award time."))


class RequirementStatusSerializer(_Out):
    """One requirement of a credential's criteria and how far the learner is with it."""

    path = serializers.CharField()
    kind = serializers.CharField()
    met = serializers.BooleanField()
    fraction = serializers.FloatField()
    course_key = serializers.CharField(allow_null=True)
    credential_slug = serializers.CharField(allow_null=True)
    min_percent = serializers.FloatField(allow_null=True)
    mode = serializers.CharField(allow_null=True)
    issuer = serializers.CharField(allow_null=True, help_text=_("An external credential's issuer (its DID or id)."))
    achievement = serializers.CharField(allow_null=True,
                                        help_text=_("An external credential's achievement id, else its type."))


class CredentialProgressSerializer(_Out):
    """How far the learner is along one credential: the requirements met and missing."""

    credential_slug = serializers.CharField()
    title = serializers.CharField()
    earned = serializers.BooleanField()
    fraction = serializers.FloatField()
    met = RequirementStatusSerializer(many=True)
    missing = RequirementStatusSerializer(many=True)
    is_stack = serializers.BooleanField()


_nest(CredentialProgressSerializer, "children", _("For a stack: the same for each credential in it."))


class PlatformLinkSerializer(_Out):
    """Where an award was sent: a badge platform account and the badge there."""

    account = serializers.CharField()
    platform = serializers.CharField()
    label = serializers.CharField()
    external_id = serializers.CharField()
    url = serializers.URLField(allow_null=True, help_text=_("The badge on the platform; null when unknown."))


class _BadgeSerializer(_Out):
    """What an earned and a revoked badge both say of themselves."""

    uuid = serializers.UUIDField()
    credential_slug = serializers.CharField()
    title = serializers.CharField()
    image_url = serializers.URLField(allow_null=True)
    issued_at = serializers.DateTimeField()


class EarnedBadgeSerializer(_BadgeSerializer):
    """An earned badge, with its share links and where it was sent."""

    expires_at = serializers.DateTimeField(allow_null=True)
    public_url = serializers.URLField(help_text=_("The public credential page."))
    json_url = serializers.URLField(help_text=_("The signed Open Badges 3.0 credential, as a download."))
    linkedin_url = serializers.URLField(allow_null=True, help_text=_(
        "LinkedIn's \"Add to profile\" form, filled in; null while the learner hides the credential."))
    platform_links = PlatformLinkSerializer(many=True)
    hidden = serializers.BooleanField(help_text=_("Hidden by its holder: offer no share action."))


class MissingRequirementSerializer(_Out):
    """A requirement the learner has still to meet, in words and with its course."""

    path = serializers.CharField()
    kind = serializers.CharField()
    text = serializers.CharField(help_text=_("The requirement in words, in the request's language."))
    fraction = serializers.FloatField()
    percent = serializers.IntegerField()
    course_key = serializers.CharField(allow_null=True)
    course_name = serializers.CharField(allow_null=True)
    course_url = serializers.URLField(allow_null=True)
    credential_slug = serializers.CharField(allow_null=True)
    credential_title = serializers.CharField(allow_null=True)
    min_percent = serializers.FloatField(allow_null=True)
    mode = serializers.CharField(allow_null=True)
    current_percent = serializers.FloatField(allow_null=True, help_text=_("A grade requirement: the grade now."))
    blocks_done = serializers.IntegerField(allow_null=True, help_text=_("A completion requirement: blocks completed."))
    blocks_needed = serializers.IntegerField(allow_null=True, help_text=_("A completion requirement: blocks needed."))
    blocks_total = serializers.IntegerField(allow_null=True,
                                            help_text=_("A completion requirement: blocks in the course."))
    progress_text = serializers.CharField(allow_null=True, help_text=_(
        "Where the learner stands, in words: \"your grade 76 % — 80 % needed\", \"12 of 24 blocks done\"."))


class NextStepSerializer(_Out):
    text = serializers.CharField()
    needed = serializers.IntegerField()
    requirement = MissingRequirementSerializer(allow_null=True)


_nest(NextStepSerializer, "options", _("For a choice: the options, `needed` of which are still to do."))


class StackLevelSerializer(_Out):
    """One level of a stack and how far the learner is with it."""

    credential_slug = serializers.CharField()
    title = serializers.CharField()
    earned = serializers.BooleanField()
    percent = serializers.IntegerField()
    revoked = serializers.BooleanField(help_text=_("Revoked by the issuer: show no percentage."))


class CredentialStatusSerializer(_Out):
    """A credential on the learner's dashboard: earned or how far along, and the next steps."""

    credential_slug = serializers.CharField()
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    image_url = serializers.URLField(allow_null=True)
    earned = serializers.BooleanField()
    fraction = serializers.FloatField()
    percent = serializers.IntegerField()
    is_stack = serializers.BooleanField()
    stack_kind = serializers.CharField(allow_blank=True)
    award_uuid = serializers.UUIDField(allow_null=True)
    next_steps = NextStepSerializer(many=True)
    levels = StackLevelSerializer(many=True)
    revoked = serializers.BooleanField(help_text=_("Revoked by the issuer: show \"revoked\", no percentage."))


_nest(CredentialStatusSerializer, "children", _("For a stack: the same for each credential in it."))


class RevokedBadgeSerializer(_BadgeSerializer):
    revoked_at = serializers.DateTimeField(allow_null=True)
    reason = serializers.CharField(help_text=_("Why it was revoked, for the learner."))
    can_earn_again = serializers.BooleanField()


class SharingSerializer(UnsavedSerializer):
    """The requester's sharing choices: their name and their grades on their credentials' public pages."""

    show_name = serializers.BooleanField(required=False, help_text=_("Show my name on my credentials' public pages."))
    show_grade = serializers.BooleanField(required=False,
                                          help_text=_("Show my grades on my credentials' public pages."))

    def validate(self, attrs):
        unknown = set(self.initial_data) - set(self.fields) if hasattr(self.initial_data, "keys") else set()
        if unknown:
            raise serializers.ValidationError({name: [_("Unknown field.")] for name in sorted(unknown)})
        return attrs


class LearnerDashboardSerializer(_Out):
    """The learner dashboard widget's data: the learner's badges and their progress."""

    user_id = serializers.IntegerField()
    username = serializers.CharField()
    badges_count = serializers.IntegerField()
    badges = EarnedBadgeSerializer(many=True)
    progress = CredentialStatusSerializer(many=True)
    my_credentials_url = serializers.URLField()
    revoked = RevokedBadgeSerializer(many=True, help_text=_("Revoked credentials not earned again: no share action."))
    sharing = SharingSerializer()


class MyAwardsSerializer(_Out):
    username = serializers.CharField()
    awards = AwardSerializer(many=True)


class MyProgressSerializer(_Out):
    username = serializers.CharField()
    progress = CredentialProgressSerializer(many=True)


class ProgressFilterSerializer(UnsavedSerializer):
    course_key = CourseKeyField(required=False, help_text=_("Only the credentials that depend on this course."))


# --- Views ----------------------------------------------------------------------------------------


class _LearnerView(ApiViewMixin, APIView):
    """A view of one learner's data: the requester's own, or any learner's for global staff."""

    permission_classes = (IsAuthenticated,)

    @staticmethod
    def learner(request):
        """The learner whose data is asked for: the requester, or (global staff only) ``?username=``."""
        username = request.query_params.get("username")
        if username and username != request.user.get_username():
            if not permissions.is_global_staff(request.user):
                raise PermissionDenied(OTHER_LEARNER)
            target = get_user_model().objects.filter(username=username).first()
            if target is None:
                raise NotFound(NO_SUCH_LEARNER)
        else:
            target = request.user
        if not permissions.can_view_learner(request.user, target.pk):
            raise PermissionDenied(OTHER_LEARNER)
        return target


class MyAwardsView(_LearnerView):
    """The learner's awards: active ones, and revoked ones too with ``include_revoked=true``."""

    @extend_schema(
        summary=_("My awards"),
        parameters=[_USERNAME, OpenApiParameter("include_revoked", bool, description=_("Also list revoked awards."))],
        responses={200: MyAwardsSerializer, **_ERRORS},
    )
    def get(self, request):
        """The learner's awards: the active ones, and the revoked ones too with ``include_revoked=true``."""
        learner = self.learner(request)
        include_revoked = request.query_params.get("include_revoked", "").lower() in ("1", "true", "yes")
        awards = api.get_learner_awards(learner, include_revoked=include_revoked)
        return Response(MyAwardsSerializer({"username": learner.get_username(), "awards": awards}).data)


class MyProgressView(_LearnerView):
    """The learner's progress toward every credential and stack they are on (or those of one course)."""

    @extend_schema(
        summary=_("My progress"),
        parameters=[_USERNAME, ProgressFilterSerializer],
        responses={200: MyProgressSerializer,
                   400: OpenApiResponse(description=_("An invalid course_key: {\"course_key\": [message]}.")),
                   **_ERRORS},
    )
    def get(self, request):
        """
        The learner's progress toward every credential and stack they are on, or only those that
        depend on ``course_key``: earned or not, the fraction done, the requirements met and missing,
        and for a stack the same for each credential in it.
        """
        learner = self.learner(request)
        filters = ProgressFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        progress = api.get_learner_progress(learner, filters.validated_data.get("course_key"))
        return Response(MyProgressSerializer({"username": learner.get_username(), "progress": progress}).data)


class DashboardWidgetView(_LearnerView):
    """
    What the learner-dashboard MFE widget shows: the learner's badges (with share links) and every
    credential and stack they are on, stacks in progress first (docs/learner-dashboard-widget.md).
    """

    @extend_schema(
        summary=_("My credentials, for the learner dashboard"),
        parameters=[_USERNAME],
        responses={200: LearnerDashboardSerializer, **_ERRORS},
    )
    def get(self, request):
        """
        The learner's badges (with share links) and every credential and stack they are on, with
        what is still missing, stacks in progress first (docs/learner-dashboard-widget.md).
        """
        return Response(LearnerDashboardSerializer(api.get_learner_dashboard(self.learner(request))).data)


class VisibilityRequestSerializer(UnsavedSerializer):
    """The body of a visibility change: whether to hide the credential's public page."""

    hidden = serializers.BooleanField(help_text=_("True hides the credential's public page; false shows it again."))


class VisibilitySerializer(_Out):
    uuid = serializers.UUIDField()
    hidden = serializers.BooleanField()
    public_url = serializers.URLField(help_text=_(
        "The public page: for anyone but the holder, \"hidden by its holder\" (404) while hidden."))


class AwardVisibilityView(ApiViewMixin, APIView):
    """
    Hide one of the requester's credentials from its public page (and its hosted JSON), or show it
    again. Only the learner it was issued to may; the status list and verification of copies held
    elsewhere are not affected.
    """

    permission_classes = (IsAuthenticated,)

    @extend_schema(
        summary=_("Hide or show my credential's public page"),
        request=VisibilityRequestSerializer,
        responses={200: VisibilitySerializer,
                   400: OpenApiResponse(description=_("No boolean \"hidden\" in the body.")),
                   401: _ERRORS[401],
                   403: OpenApiResponse(description=_("The credential was issued to someone else.")),
                   404: OpenApiResponse(description=_("No credential has this id."))},
    )
    def post(self, request, uuid):
        """
        Hide (``"hidden": true``) or show again the public page and hosted JSON of one of the
        requester's credentials. Only the learner it was issued to may; the status list and the
        verification of copies held elsewhere are not affected.
        """
        body = VisibilityRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        try:
            award = retirement.set_hidden(request.user, uuid, body.validated_data["hidden"])
        except Award.DoesNotExist as exc:
            raise NotFound(NO_SUCH_AWARD) from exc
        except retirement.NotTheHolder as exc:
            raise PermissionDenied(NOT_THE_HOLDER) from exc
        return Response(VisibilitySerializer({"uuid": award.uuid, "hidden": award.hidden,
                                              "public_url": links.credential_url(award.uuid)}).data)


# --- Credentials from other issuers (docs/decisions/0012) -----------------------------------------

NO_SUCH_EXTERNAL = _("You have no external credential with this id.")


class ExternalCredentialSerializer(_Out):
    """A credential from another issuer that the learner added, as verified here."""

    id = serializers.IntegerField()
    issuer = serializers.CharField()
    issuer_name = serializers.CharField(allow_blank=True)
    achievement_id = serializers.CharField(allow_blank=True)
    achievement_name = serializers.CharField(allow_blank=True)
    achievement_types = serializers.ListField(child=serializers.CharField())
    result = serializers.FloatField(allow_null=True)
    status = serializers.CharField(help_text=_("active, revoked, expired or untrusted: only an active one counts."))
    subject_match = serializers.CharField(help_text=_("How the credential names you: email_hash, email or mailto."))
    valid_from = serializers.DateTimeField(allow_null=True)
    valid_until = serializers.DateTimeField(allow_null=True)
    verified_at = serializers.DateTimeField()
    checked_at = serializers.DateTimeField(allow_null=True)
    source_url = serializers.CharField(allow_blank=True)


class ExternalCredentialListSerializer(_Out):
    external_credentials = ExternalCredentialSerializer(many=True)


class ExternalCredentialAddedSerializer(_Out):
    credential = ExternalCredentialSerializer()
    awarded = serializers.ListField(child=serializers.CharField(),
                                    help_text=_("Slugs of the credentials it completed."))
    revoked = serializers.ListField(child=serializers.CharField())


class ExternalCredentialRequestSerializer(UnsavedSerializer):
    """A credential from another issuer to add: the credential itself, where it is published, or its file."""

    credential = serializers.JSONField(required=False, help_text=_("The Open Badges 3.0 credential itself."))
    url = serializers.URLField(required=False, max_length=2000,
                               help_text=_("Where it is published (fetched only from hosts the operator allows)."))
    credential_file = serializers.FileField(required=False, help_text=_("Its JSON file (multipart)."))


class MyExternalCredentialsView(ApiViewMixin, APIView):
    """The requester's credentials from other issuers: list them, or add one (verified before it is kept)."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(summary=_("My credentials from other issuers"),
                   responses={200: ExternalCredentialListSerializer, 401: _ERRORS[401]})
    def get(self, request):
        return Response(ExternalCredentialListSerializer(
            {"external_credentials": api.get_external_credentials(request.user)}).data)

    @extend_schema(
        summary=_("Add a credential from another issuer"),
        request=ExternalCredentialRequestSerializer,
        responses={201: ExternalCredentialAddedSerializer,
                   400: OpenApiResponse(description=_("Refused: {\"detail\": why, \"check\": which check failed}.")),
                   401: _ERRORS[401]},
    )
    def post(self, request):
        """
        Verify a credential from another issuer and keep it: give one of the credential itself,
        the URL it is published at, or its file. The learner is then evaluated again (``awarded``
        and ``revoked`` list what changed); a refusal (400) says which check failed, and keeps nothing.
        """
        body = ExternalCredentialRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        upload = body.validated_data.get("credential_file")
        data = None
        if upload is not None:
            if upload.size > limits.MAX_EXTERNAL_CREDENTIAL_BYTES:
                return Response({"detail": _("The file is larger than %(max)d bytes.")
                                 % {"max": limits.MAX_EXTERNAL_CREDENTIAL_BYTES}, "check": "size"}, status=400)
            data = upload.read(limits.MAX_EXTERNAL_CREDENTIAL_BYTES + 1)
        try:
            added = api.add_external_credential(request.user, upload=data,
                                                credential=body.validated_data.get("credential"),
                                                url=body.validated_data.get("url"))
        except api.ExternalCredentialRefused as refused:
            return Response({"detail": str(refused), "check": refused.check}, status=400)
        return Response(ExternalCredentialAddedSerializer(added).data, status=201)


class MyExternalCredentialDetailView(ApiViewMixin, APIView):
    """Remove one of the requester's credentials from other issuers."""

    permission_classes = (IsAuthenticated,)

    @extend_schema(summary=_("Remove a credential from another issuer"),
                   responses={204: None, 401: _ERRORS[401], 404: OpenApiResponse(description=NO_SUCH_EXTERNAL)})
    def delete(self, request, id):  # pylint: disable=redefined-builtin  (the URL's and the schema's name)
        """Remove one of the requester's credentials from other issuers; the learner is evaluated again without it."""
        try:
            api.remove_external_credential(request.user, id)
        except ExternalCredential.DoesNotExist as exc:
            raise NotFound(NO_SUCH_EXTERNAL) from exc
        return Response(status=204)


class SharingView(ApiViewMixin, APIView):
    """
    What the requester's credentials' public pages show besides the credential: their name, their
    grades (docs/privacy.md: both off until the learner turns them on).
    """

    permission_classes = (IsAuthenticated,)

    @extend_schema(summary=_("My sharing choices"), responses={200: SharingSerializer, 401: _ERRORS[401]})
    def get(self, request):
        return Response(SharingSerializer(api.get_sharing(request.user)).data)

    @extend_schema(
        summary=_("Change my sharing choices"), request=SharingSerializer,
        responses={200: SharingSerializer,
                   400: OpenApiResponse(description=_("A value that is not a boolean, or an unknown field.")),
                   401: _ERRORS[401]},
    )
    def put(self, request):
        """
        Change what the requester's credentials' public pages show, ``show_name`` and ``show_grade``
        (PUT and PATCH alike): a choice left out of the body stays as it is; an unknown field is refused.
        """
        body = SharingSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return Response(SharingSerializer(api.set_sharing(request.user, **body.validated_data)).data)

    patch = put
