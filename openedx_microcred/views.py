"""
Views: the learner's "My credentials" page, and the public side of issued credentials (their page
and JSON, the revocation lists, the issuer's DID document, our JSON-LD context). JSON for learners
and course teams is the REST API's (rest_api/v1/); the Studio pages are in studio/.
"""

import json
import logging
from pathlib import PurePosixPath

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import SuspiciousFileOperation, ValidationError
from django.http import FileResponse, Http404, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import cache_control
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST, require_safe
from edx_django_utils.ip import get_safest_client_ip

from . import api, delivery, images, issuance, limits, links, retirement, vocabularies
from .app_settings import microcred_settings
from .models import Award, Credential, ExternalCredential, StatusList
from .openbadges import document
from .platform import get_platform

log = logging.getLogger(__name__)

# The VC Data Model 2.0 media type; browsers and tools that do not know it still get JSON.
CREDENTIAL_CONTENT_TYPE = "application/vc+ld+json"


@require_GET
@login_required
def my_credentials(request):
    """The signed-in learner's "My credentials" page: their badges, to share, and every stack they are on."""
    return _my_credentials_page(request)


def _my_credentials_page(request, external_error=None, status=200):
    dashboard = api.get_learner_dashboard(request.user)
    in_progress = [s for s in dashboard.progress if not s.earned]
    return render(request, "openedx_microcred/my_credentials.html", {
        "external_credentials": api.get_external_credentials(request.user),
        "external_error": external_error,
        "external_max_bytes": limits.MAX_EXTERNAL_CREDENTIAL_BYTES,
        "dashboard": dashboard,
        "in_progress": in_progress,
        "listed": {s.credential_slug for s in in_progress},  # what a missing credential can link to
        "now": timezone.now(),
    }, status=status)


@require_POST
@login_required
def external_credential_add(request):
    """
    The "My credentials" page's form to add a credential from another issuer (a plain multipart
    form, no script needed): its file, or the URL it is published at. A refusal shows the page
    again, with the reason, as a 400; nothing is recorded.
    """
    upload = request.FILES.get("credential_file")
    data = None
    if upload is not None:
        if upload.size > limits.MAX_EXTERNAL_CREDENTIAL_BYTES:
            return _my_credentials_page(request, _("The file is larger than %(max)d bytes.")
                                        % {"max": limits.MAX_EXTERNAL_CREDENTIAL_BYTES}, status=400)
        data = upload.read(limits.MAX_EXTERNAL_CREDENTIAL_BYTES + 1)
    url = request.POST.get("credential_url", "").strip()
    try:
        added = api.add_external_credential(request.user, upload=data, url=url or None)
    except api.ExternalCredentialRefused as refused:
        return _my_credentials_page(request, str(refused), status=400)
    if added.awarded:
        messages.success(request, _("Credential added and verified. You earned: %(titles)s.")
                         % {"titles": ", ".join(added.awarded)}, fail_silently=True)
    else:
        messages.success(request, _("Credential added and verified."), fail_silently=True)
    return redirect(f"{reverse('openedx_microcred:my-credentials')}#external-{added.credential.id}")


@require_POST
@login_required
def external_credential_remove(request, pk):
    """Remove one of the learner's external credentials (a plain form); only its owner can."""
    try:
        api.remove_external_credential(request.user, pk)
    except ExternalCredential.DoesNotExist as exc:
        raise Http404("no such credential of yours") from exc
    messages.success(request, _("The credential was removed."), fail_silently=True)
    return redirect(f"{reverse('openedx_microcred:my-credentials')}#external-credentials-heading")


_CHECKBOX_VALUES = {"1": True, "on": True, "true": True, "0": False, "false": False, "off": False}


@require_POST
@login_required
def sharing(request):
    """
    The "My credentials" page's sharing choices (a plain form, no script needed): an unticked box is
    not sent, so a missing field is "no"; anything but a checkbox value is a 400 that changes nothing.
    """
    values = {}
    for name in ("show_name", "show_grade"):
        raw = request.POST.getlist(name)
        if len(raw) > 1 or (raw and raw[0].strip().lower() not in _CHECKBOX_VALUES):
            return HttpResponse(_("%(field)s must be a checkbox value (1 or 0).") % {"field": name},
                                status=400, content_type="text/plain; charset=utf-8")
        values[name] = _CHECKBOX_VALUES[raw[0].strip().lower()] if raw else False
    api.set_sharing(request.user, **values)
    messages.success(request, _("Your choices are saved: your public pages show them now."), fail_silently=True)
    return redirect(f"{reverse('openedx_microcred:my-credentials')}#sharing-heading")


@require_POST
@login_required
def credential_visibility(request, award_uuid):
    """
    The "My credentials" page's hide / show button (a plain form, no script needed): only the
    learner the credential was issued to may hide its public page or show it again.
    """
    hidden = request.POST.get("hidden", "").lower() in ("1", "true", "on", "yes")
    try:
        award = retirement.set_hidden(request.user, award_uuid, hidden)
    except Award.DoesNotExist as exc:
        raise Http404("no such credential") from exc
    except retirement.NotTheHolder:
        return HttpResponseForbidden(_("Only the holder of a credential can hide it or show it."),
                                     content_type="text/plain; charset=utf-8")
    messages.success(request, _("Its public page is now hidden: only you can see it.") if hidden
                     else _("Its public page is visible again."), fail_silently=True)
    return redirect(f"{reverse('openedx_microcred:my-credentials')}#badge-{award.uuid}")


class NotIssued(Exception):
    """An award whose signed credential cannot be made yet (e.g. the learner has no email address)."""


def _award(award_uuid):
    return get_object_or_404(Award.objects.select_related("credential"), uuid=award_uuid)


def _signed(award):
    """
    The award with its signed document, issued now if the issuing task has not run yet; NotIssued
    when it cannot be (the reason is logged for the operator).
    """
    if not award.document:
        try:
            award.document = issuance.issue_award(award.pk)  # the issuing task has not run yet
        except ValueError as exc:
            log.warning("openedx-microcred: award %s cannot be issued: %s", award.uuid, exc)
            raise NotIssued(str(exc)) from exc
    return award


def _not_issued():
    return HttpResponse(_("This credential has been awarded but its signed document could not be issued yet. "
                          "The issuer has been told; please try again later."),
                        status=503, content_type="text/plain; charset=utf-8")


# Why the public does not see a credential: its holder's account was retired (the credential is
# revoked and its signed document deleted), or its holder hid it. Neither touches the status list.
RETIRED, HIDDEN = "retired", "hidden"
_UNAVAILABLE_STATUS = {RETIRED: 410, HIDDEN: 404}


def _unavailable_text(reason):
    return (_("This credential has been revoked by its issuer.") if reason == RETIRED
            else _("This credential has been hidden by its holder."))


def _unavailable(request, award):
    """RETIRED, HIDDEN (for anyone but its holder) or None: why this award is not shown."""
    if award.revocation_source == Award.RevocationSource.RETIREMENT:
        return RETIRED
    if award.hidden and not (request.user.is_authenticated and request.user.pk == award.user_id):
        return HIDDEN
    return None


@require_GET
def credential_page(request, award_uuid):
    """The public page of one credential: what it says, and whether it verifies (checked here)."""
    award = _award(award_uuid)
    unavailable = _unavailable(request, award)
    if unavailable:
        return render(request, "openedx_microcred/credential_page.html", {"unavailable": unavailable},
                      status=_UNAVAILABLE_STATUS[unavailable])
    try:
        award = _signed(award)
    except NotIssued:
        return _not_issued()
    credential = award.document
    achievement = credential["credentialSubject"]["achievement"]
    verification = issuance.verify_credential(credential)
    issuer = credential["issuer"]
    choices = api.get_sharing(award.user_id)
    holder = _holder_name(award.user_id) if choices.show_name else None
    # Shared only while it is valid and public: not when revoked, expired or hidden by its holder.
    shareable = award.status == Award.Status.ACTIVE and not award.hidden and verification.valid
    linkedin = api.linkedin_url(award_uuid=award.uuid, name=credential["name"], issued_at=award.issued_at,
                                expires_at=award.expires_at, issuer_name=issuer.get("name")) if shareable else None
    results = credential["credentialSubject"].get("result", [])
    return render(request, "openedx_microcred/credential_page.html", {
        "credential": credential,
        "achievement": achievement,
        "issuer": issuer,
        "award": award,
        "verification": verification,
        "json_url": links.credential_json_url(award.uuid),
        "page_url": links.credential_url(award.uuid),
        "linkedin_url": linkedin,
        "shareable": shareable,
        "revoked": award.status != Award.Status.ACTIVE,
        "holder_name": holder,
        "show_grade": choices.show_grade,
        "preview_image": issuance.badge_png_url(award.credential),
        "preview_description": _preview_description(credential, issuer, holder),
        # The signed document holds the grade: shown on the page only when the learner shares it.
        "pretty_json": (json.dumps(credential, indent=2, ensure_ascii=False)
                        if choices.show_grade or not results else None),
        "learning_outcomes": [a.get("targetName") for a in achievement.get("alignment", [])
                              if a.get("targetType") == document.TARGET_TYPE_LEARNING_OUTCOME],
        "eu": eu_elements(credential),
        "results": results if choices.show_grade else [],
        "hidden_from_public": award.hidden,  # only its holder gets this far
    })


def _holder_name(user_id):
    user = get_platform().user_data(user_id)
    name = (user.pii.name or "").strip() if user is not None else ""
    return name[:255] or None


def _preview_description(credential, issuer, holder):
    """The text of a link preview (OpenGraph, X card): who holds what, from whom."""
    if holder:
        text = _("%(holder)s holds %(name)s, issued by %(issuer)s.") % {
            "holder": holder, "name": credential["name"], "issuer": issuer.get("name")}
    else:
        text = _("%(name)s, issued by %(issuer)s.") % {"name": credential["name"], "issuer": issuer.get("name")}
    description = (credential.get("description") or "").strip()
    return f"{text} {description}"[:300] if description else text


def eu_elements(credential) -> dict:
    """
    The EU microcredential elements a signed credential carries (Council Recommendation 2022,
    annex I), read from the document as it is stored: what the public page shows, element by
    element (templates: openedx_microcred/_eu_elements.html). Only what is there.
    """
    achievement = credential["credentialSubject"]["achievement"]
    alignments = [a for a in achievement.get("alignment", []) if isinstance(a, dict)]
    eqf = next((a for a in alignments if a.get("targetType") == document.TARGET_TYPE_EQF), None)
    quality = next((a for a in alignments if a.get("targetType") == document.TARGET_TYPE_QUALITY_ASSURANCE), None)
    address = credential.get("issuer", {}).get("address") or {}
    identity = achievement.get("identityChecked", achievement.get("identityVerified"))
    return {
        "eqf_level": eqf.get("targetCode") if eqf else None,
        "eqf_url": eqf.get("targetUrl") if eqf else None,
        "credits": achievement.get("creditsAvailable"),
        "workload_hours": achievement.get("workloadHours"),
        # Controlled choices are ELM concepts (their label); credentials signed before they were
        # carry the earlier free text under the Edubadges-style names.
        "assessment": _concept_label(achievement.get("assessmentMethod")) or achievement.get("assessmentType"),
        "participation": _concept_label(achievement.get("learningMode")) or achievement.get("participationForm"),
        "supervision": _concept_label(achievement.get("supervisionMethod")),
        "quality_assurance": _quality_assurance_text(quality) or achievement.get("qualityAssurance"),
        "quality_assurance_url": quality.get("targetUrl") if quality else None,
        "identity_verified": identity if isinstance(identity, bool) else None,
        "prerequisites": achievement.get("prerequisites"),
        "country": address.get("addressCountryCode"),
        "language": achievement.get("inLanguage"),
    }


def _concept_label(concept):
    """A concept's label in the page's language when it is one of ours, else as the credential says it."""
    if not isinstance(concept, dict):
        return None
    term = vocabularies.term_for_iri(concept.get("id"))
    # pylint: disable-next=translation-of-non-string  (vocabularies.py marks each label with gettext_noop)
    return _(term.label) if term else concept.get("prefLabel")


def _quality_assurance_text(alignment):
    """What the quality-assurance alignment says: its description, else its framework and code."""
    if not alignment:
        return None
    if alignment.get("targetDescription"):
        return alignment["targetDescription"]
    return " ".join(str(alignment[k]) for k in ("targetFramework", "targetCode") if alignment.get(k)) or None


@require_GET
def credential_json(request, award_uuid):
    """The signed credential itself, at a stable URL (not for the public once hidden or retired)."""
    award = _award(award_uuid)
    unavailable = _unavailable(request, award)
    if unavailable:
        response = JsonResponse({"detail": _unavailable_text(unavailable), "reason": unavailable},
                                status=_UNAVAILABLE_STATUS[unavailable])
        response["Access-Control-Allow-Origin"] = "*"
        return response
    try:
        award = _signed(award)
    except NotIssued:
        return _not_issued()
    # pylint: disable-next=http-response-with-json-dumps  (JsonResponse would add nothing: a credential's media type)
    response = HttpResponse(json.dumps(award.document, ensure_ascii=False, indent=2),
                            content_type=f"{CREDENTIAL_CONTENT_TYPE}; charset=utf-8")
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="{award.uuid}.json"'
    response["Access-Control-Allow-Origin"] = "*"
    return response


# An uploaded SVG opened on its own is a document of this origin. Whatever the validator missed (or a
# file stored before it was strict) runs in a sandbox: no script, no navigation of this origin, no
# fetch; inline styles still render. nosniff keeps a browser from reading a PNG as anything else.
BADGE_IMAGE_HEADERS = {
    "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
}


@require_safe
@cache_control(public=True, max_age=3600)
def badge_image(request, credential_uuid, name):
    """
    A credential's badge image, streamed from storage with BADGE_IMAGE_HEADERS.

    The URL names the stored file, so a new upload is a new URL (no cache serves the old badge),
    and a replaced image is still served: credentials already issued carry its URL in their signed
    document. Badge images are public, as in the credentials that carry them.
    """
    credential = get_object_or_404(Credential.objects.only("image", "title", "org", "stack_kind"),
                                   uuid=credential_uuid)
    content_type = images.CONTENT_TYPES.get(PurePosixPath(name).suffix.lower())
    if content_type is None or name.startswith(".") or "/" in name or "\\" in name:
        raise Http404("no such badge image")
    field = credential.image
    path = field.name if field and PurePosixPath(field.name).name == name else f"{images.UPLOAD_TO}{name}"
    storage = field.storage
    if not storage.exists(path):
        _make_badge_file(credential, name, storage)
    try:
        stored = storage.open(path, "rb")
    except (OSError, SuspiciousFileOperation) as exc:
        raise Http404("no such badge image in storage") from exc
    response = FileResponse(stored, content_type=content_type)
    for header, value in BADGE_IMAGE_HEADERS.items():
        response[header] = value
    return response


def _make_badge_file(credential, name, storage):
    """
    Store a badge file that is made, not uploaded, the first time it is asked for: the credential's
    current default badge (named by its content), or the PNG copy of a stored SVG badge.
    """
    source_name = name[:-len(images.RASTER_SUFFIX)] if name.endswith(".svg" + images.RASTER_SUFFIX) else name
    if images.is_default_badge_name(source_name):
        if not credential.image and issuance.badge_file_name(credential) == source_name:
            issuance.store_default_badge(credential)  # the SVG, and its PNG where it can be made
        if source_name == name or storage.exists(name):
            return
    if name.endswith(".svg" + images.RASTER_SUFFIX) and images.rasterizer_available():
        source = f"{images.UPLOAD_TO}{name[:-len(images.RASTER_SUFFIX)]}"
        try:
            with storage.open(source, "rb") as svg:
                data = svg.read(images.MAX_BYTES + 1)
        except (OSError, SuspiciousFileOperation):
            return
        try:
            issuance.save_badge_file(storage, name, images.svg_to_png(data))
        except (ValidationError, RuntimeError, ValueError, MemoryError) as exc:
            # A stored SVG that the rules now refuse, or that cairo cannot draw: no PNG of it.
            log.warning("openedx-microcred: no PNG of badge %s: %s", source, exc)


@require_GET
@cache_control(public=True, max_age=300)
def status_list(request, number):
    """A signed BitstringStatusListCredential: revoked awards have their bit set."""
    if not StatusList.objects.filter(number=number).exists():
        raise Http404("no such status list")
    # pylint: disable-next=http-response-with-json-dumps  (JsonResponse would add nothing: a credential's media type)
    response = HttpResponse(json.dumps(issuance.status_list_document(number)),
                            content_type=f"{CREDENTIAL_CONTENT_TYPE}; charset=utf-8")
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
@cache_control(public=True, max_age=3600)
def did_document(request):
    """The did:web DID document (did:web:<LMS host>:microcred resolves to this path)."""
    if microcred_settings.DID_METHOD != "web":
        raise Http404("this issuer uses did:key, which needs no DID document")
    # pylint: disable-next=redundant-content-type-for-json-response  (not JsonResponse's application/json)
    response = JsonResponse(issuance.did_web_document(), content_type="application/did+ld+json")
    response["Access-Control-Allow-Origin"] = "*"
    return response


@require_GET
@cache_control(public=True, max_age=86400)
def extension_context(request):
    """Our JSON-LD context, for verifiers that fetch contexts."""
    # pylint: disable-next=redundant-content-type-for-json-response  (not JsonResponse's application/json)
    response = JsonResponse(document.load_extension_context(), content_type="application/ld+json")
    response["Access-Control-Allow-Origin"] = "*"
    return response


@csrf_exempt
@require_POST
def credly_webhook(request, account):
    """Credly's event notifications: confirmed with Credly before anything changes (see delivery.py)."""
    try:
        body = limits.loads_bounded(request.body or b"{}")
    except ValueError:
        return JsonResponse({"detail": "the body is not JSON"}, status=400)
    try:
        # The address edx-platform trusts behind its proxies (CLOSEST_CLIENT_IP_FROM_HEADERS).
        notification = delivery.credly_notification(account, body, get_safest_client_ip(request))
    except delivery.WebhookRefused as refused:
        return JsonResponse({"detail": str(refused)}, status=refused.status)
    # 200 for a stale notification too: Credly stops sending it, and nothing moved back.
    return JsonResponse({"updated": notification.applied, "stale": notification.stale})
