"""
Issuing awards as signed Open Badges 3.0 credentials, hosting the revocation lists, verifying.

The I/O edge around ``openbadges/`` (pure document building, proofs, DIDs, status lists): it reads
the award, the credential, the platform and the settings, signs with the issuer's current key and
stores the signed document on the award. Issuing is idempotent: an award is signed once.
"""

import hashlib
import json
import logging
import random
from datetime import datetime
from datetime import timezone as dt_timezone
from pathlib import PurePosixPath
from urllib.parse import urlsplit

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import F

from . import images, keys, requirement_words
from .app_settings import microcred_settings
from .data import VerificationResult
from .dispatch import SWEEP_LIMIT, pending_wait, queue_signing
from .issuer import configured_issuer, lms_root_url
from .links import badge_url, credential_url, status_list_url
from .models import Award, Credential, StatusList
from .openbadges import did, document, proof, status_list
from .platform import get_platform

log = logging.getLogger(__name__)

STATUS_LIST_SIZE = status_list.DEFAULT_SIZE
# A list takes new awards until half its bits are used: random indexes stay cheap to find and say
# little about the order of issue (the spec's privacy advice).
STATUS_LIST_FILL = STATUS_LIST_SIZE // 2


# --- Where things live ------------------------------------------------------------------------


def badge_image_url(credential, levels=None):
    """
    The absolute URL of the credential's badge image (views.badge_image): its upload, or its default badge.

    Never the storage's own URL: only the plugin's view serves an uploaded SVG in a sandbox.
    ``levels`` (``badge_levels``) saves a query when many URLs are made at once.
    """
    return badge_url(credential.uuid, badge_file_name(credential, levels))


def badge_png_url(credential):
    """
    A PNG of the badge, for those that take no SVG (link previews: OpenGraph and X cards): the
    upload when it is a PNG, else its raster copy; the SVG when no rasterizer is installed here.
    """
    name = badge_file_name(credential)
    if name.lower().endswith(".svg") and images.rasterizer_available():
        name += images.RASTER_SUFFIX
    return badge_url(credential.uuid, name)


def badge_file_name(credential, levels=None) -> str:
    """The file name in the badge's URL: the upload's, or its default badge's (named by content)."""
    if credential.image:
        return PurePosixPath(credential.image.name).name
    return images.default_badge_name(default_badge(credential, levels))


def badge_levels() -> dict:
    """
    The level of every credential in a stack with levels, pk → level: 1 for a vertical stack that
    requires no other vertical stack, one more than the highest vertical stack it requires otherwise.
    One query.
    """
    vertical = Credential.StackKind.VERTICAL
    below = {}
    for upper, lower, lower_kind in Credential.requires.through.objects.filter(
            from_credential__stack_kind=vertical).values_list(
            "from_credential_id", "to_credential_id", "to_credential__stack_kind"):
        below.setdefault(upper, set())
        if lower_kind == vertical:
            below[upper].add(lower)
    levels = {}

    def level(pk, seen=()):
        if pk not in levels:
            lower = [level(child, (*seen, pk)) for child in below.get(pk, ()) if child not in seen]
            levels[pk] = 1 + max(lower, default=0)
        return levels[pk]

    for pk in below:
        level(pk)
    return levels


def default_badge(credential, levels=None) -> bytes:
    """The default badge SVG of a credential (images.default_badge_svg), remembered by its inputs."""
    level = None
    if credential.stack_kind == Credential.StackKind.VERTICAL:
        level = (badge_levels() if levels is None else levels).get(credential.pk, 1)
    is_stack = bool(credential.stack_kind)
    inputs = json.dumps([credential.title, credential.org, level, is_stack], ensure_ascii=False)
    key = f"microcred.default_badge.{hashlib.sha256(inputs.encode()).hexdigest()}"
    svg = cache.get(key)
    if svg is None:
        svg = images.default_badge_svg(credential.title, credential.org, level=level, is_stack=is_stack)
        cache.set(key, svg, 24 * 3600)
    return svg


def store_default_badge(credential) -> str | None:
    """
    Keep the credential's default badge (and its PNG, where a rasterizer is installed) in the
    storage under its content name, so that the URL a signed credential carries keeps answering
    after the title changes. Nothing when the credential has an upload. Returns the stored name.
    """
    if credential.image:
        return None
    svg = default_badge(credential)
    name = images.default_badge_name(svg)
    storage = Credential._meta.get_field("image").storage
    save_badge_file(storage, name, svg)
    if images.rasterizer_available():
        save_badge_file(storage, name + images.RASTER_SUFFIX, images.svg_to_png(svg))
    return name


def save_badge_file(storage, name, content: bytes):
    """Store ``content`` as ``name`` in the badge folder unless it is there (names are content hashes)."""
    path = f"{images.UPLOAD_TO}{name}"
    if not storage.exists(path):
        saved = storage.save(path, ContentFile(content))
        if saved != path:  # another process stored the same bytes first: keep one copy
            storage.delete(saved)
    return path


def achievement_language(credential) -> str | None:
    """inLanguage: the credential's language, else the site's (LANGUAGE_CODE, as BCP 47: "en-us" → "en-US")."""
    if credential.language:
        return credential.language
    language, _, region = (getattr(settings, "LANGUAGE_CODE", "") or "").partition("-")
    code = language.lower() + (f"-{region.upper()}" if len(region) == 2 else "")
    return code if code and document.LANGUAGE_CODE.match(code) else None


def achievement_id(credential) -> str:
    """The credential's achievement id in the documents it signs: its uuid as a URN, stable across edits."""
    return f"urn:uuid:{credential.uuid}"


def issuer_did(key: keys.SigningKey) -> str:
    """The issuer's DID for ``key``: did:web of the LMS host (MICROCRED_DID_METHOD "web"), else the key's did:key."""
    if microcred_settings.DID_METHOD == "web":
        return did.did_web(urlsplit(lms_root_url()).netloc, ["microcred"])
    return did.did_key(key.public_key)


def verification_method(key: keys.SigningKey) -> str:
    """The id of ``key``'s verification method, which a proof names for verifiers to find the public key."""
    if microcred_settings.DID_METHOD == "web":
        return f"{issuer_did(key)}#{key.key_id}"
    return did.did_key_verification_method(key.public_key)


def did_web_document() -> dict:
    """The DID document of the did:web issuer, with every key that ever signed."""
    keys.signing_key()  # the first key is made on first use; a DID document needs one
    return did.did_web_document(did.did_web(urlsplit(lms_root_url()).netloc, ["microcred"]), keys.published_keys())


def issuer_profile(key: keys.SigningKey) -> document.IssuerProfile:
    """The OB 3.0 issuer profile of credentials signed with ``key``: the configured issuer, named by its DID."""
    issuer = configured_issuer()
    return document.IssuerProfile(
        id=issuer_did(key), name=issuer["name"], url=issuer["url"], country_code=issuer["country"],
        email=issuer["email"], description=issuer["description"], image=issuer["image"],
        country_name=issuer["country_name"], region=issuer["region"], locality=issuer["locality"],
        street_address=issuer["street_address"], postal_code=issuer["postal_code"],
        institution_code=issuer["institution_code"], institution_code_type=issuer["institution_code_type"],
    )


# --- Issuing ------------------------------------------------------------------------------------


def _uses_did_key():
    return microcred_settings.DID_METHOD != "web"


def _allocate_status_index(award, key: keys.SigningKey):
    """
    A random free bit in the newest status list with room (of this key's lists under did:key);
    a new list when it is half full.
    """
    owner = key.stored_id if _uses_did_key() else None
    while True:
        with transaction.atomic():
            lists = StatusList.objects.select_for_update().order_by("-number")
            current = lists.filter(issuer_key_id=owner).first()
            if current is None or current.allocated >= min(STATUS_LIST_FILL, current.size // 2):
                newest = lists.first()
                try:
                    with transaction.atomic():
                        current = StatusList.objects.create(number=newest.number + 1 if newest else 0,
                                                            size=STATUS_LIST_SIZE, issuer_key_id=owner)
                except IntegrityError:
                    continue  # another process made that list (no row to lock when there was none): use it
            index = random.SystemRandom().randrange(current.size)
            try:
                with transaction.atomic():
                    Award.objects.filter(pk=award.pk, status_index__isnull=True).update(
                        status_list=current, status_index=index)
            except IntegrityError:
                continue  # that bit is taken: draw again
            StatusList.objects.filter(pk=current.pk).update(allocated=F("allocated") + 1)
            award.refresh_from_db(fields=["status_list", "status_index"])
            return award


def _course_names(course_keys):
    return get_platform().course_names(course_keys) if course_keys else {}


def achievement_info(credential, course_names=None, credential_names=None, page_url=None) -> document.AchievementInfo:
    """What the credential's OB 3.0 Achievement says: its description, criteria, alignment and stack relations."""
    tree = credential.requirement()
    course_names = course_names if course_names is not None else _course_names(tree.courses())
    if credential_names is None:
        credential_names = dict(Credential.objects.filter(slug__in=tree.credentials()).values_list("slug", "title"))
    children = Credential.objects.filter(slug__in=tree.credentials()).only("uuid", "title", "slug")
    stacks = credential.required_by.filter(state=Credential.State.ACTIVE).only("uuid", "title")
    the_id = achievement_id(credential)
    return document.AchievementInfo(
        id=the_id,
        name=credential.title,
        description=credential.description,
        criteria_narrative=requirement_words.markdown(tree, course_names, credential_names),
        learning_outcomes=tuple(credential.learning_outcomes or ()),
        workload_hours=credential.workload_hours,
        ects_credits=credential.ects_credits,
        eqf_level=credential.eqf_level,
        assessment_type=credential.assessment_type,
        participation_form=credential.participation_form,
        supervision=credential.supervision,
        quality_assurance=credential.quality_assurance,
        quality_assurance_framework=credential.quality_assurance_framework,
        quality_assurance_code=credential.quality_assurance_code,
        quality_assurance_url=credential.quality_assurance_url or None,
        identity_verified=credential.identity_verified,
        in_language=achievement_language(credential),
        is_stack=bool(tree.credentials()),
        stack_kind=credential.stack_kind,
        stack_children=tuple(document.AchievementRef(achievement_id(c), c.title) for c in children),
        stacks_containing=tuple(document.AchievementRef(achievement_id(s), s.title) for s in stacks),
        grades=document.grade_descriptions(tree, the_id, course_names),
        human_code=credential.slug,
        page_url=page_url,
        image=badge_image_url(credential),
    )


def build_document(award, key: keys.SigningKey) -> dict:
    """The unsigned OB 3.0 credential of an award (its status index must be allocated)."""
    credential = award.credential
    store_default_badge(credential)  # the image URL the document carries answers for good
    tree = credential.requirement()
    course_names = _course_names(tree.courses())
    credential_names = dict(Credential.objects.filter(slug__in=tree.credentials()).values_list("slug", "title"))
    user = get_platform().user_data(award.user_id)
    if user is None or not user.pii.email:
        raise ValueError(f"award {award.uuid}: the learner has no email to identify them by")
    issued = document.IssuedCredential(
        credential_id=credential_url(award.uuid),
        award_uuid=str(award.uuid),
        issuer=issuer_profile(key),
        achievement=achievement_info(credential, course_names, credential_names,
                                     page_url=credential_url(award.uuid)),
        recipient=document.Recipient(email=user.pii.email, salt=award.recipient_salt),
        valid_from=award.issued_at,
        awarded_date=award.awarded_at,
        valid_until=award.expires_at,
        extension_context=document.extension_context_url(lms_root_url()),
        evidence=document.evidence_from_award(award.evidence, course_names, credential_names,
                                              award_url=credential_url, hidden_awards=_hidden_components(award)),
        credential_status=status_list.status_entry(status_list_url(award.status_list.number), award.status_index),
        grade_results=document.grade_results_from_award(award.evidence, achievement_id(credential)),
    )
    return document.build_credential(issued)


def _hidden_components(award) -> frozenset:
    """The uuids of the awards this award's evidence names (a stack's components) that their holder hid."""
    named = {str(entry["award"]) for entry in award.evidence or () if entry.get("award")}
    if not named:
        return frozenset()
    return frozenset(str(u) for u in Award.objects.filter(user_id=award.user_id, uuid__in=named, hidden=True)
                     .values_list("uuid", flat=True))


def _key_of(status: StatusList) -> keys.SigningKey:
    """The key that signs for the awards of a status list: under did:key, the key that issued them."""
    return keys.stored_signing_key(status.issuer_key_id) if status.issuer_key_id else keys.signing_key()


def resign_stacks_naming(award) -> int:
    """
    Sign again the holder's awards whose evidence names ``award`` (the stacks built on it), after
    its holder hid it or showed it again, so that the document served publicly names only what
    the holder shares. The id, dates, status entry and issuer stay; copies held elsewhere keep
    verifying. Showing it again gives back the first document (signing is deterministic).
    Returns how many were signed again.
    """
    uuid = str(award.uuid)
    stacks = [stack for stack in Award.objects.filter(user_id=award.user_id, document__isnull=False,
                                                      status_list__isnull=False)
              .exclude(pk=award.pk).exclude(revocation_source=Award.RevocationSource.RETIREMENT)
              .select_related("credential", "status_list")
              if any(str(entry.get("award")) == uuid for entry in stack.evidence or ())]
    for stack in stacks:
        key = _key_of(stack.status_list)
        signed = proof.sign(build_document(stack, key), key.private_key, verification_method(key),
                            created=stack.issued_at)
        Award.objects.filter(pk=stack.pk).update(document=signed)
    return len(stacks)


def issue_award(award_id) -> dict:
    """Sign and store the award's OB 3.0 credential; return it. Signing twice returns the first."""
    award = Award.objects.select_related("credential", "status_list").get(pk=award_id)
    if award.document:
        return award.document
    if award.revocation_source == Award.RevocationSource.RETIREMENT:
        # The learner's data is gone; a new signature would put it back (views answer 410).
        raise ValueError("the learner's account was retired: this award is not signed again")
    if not award.recipient_salt:
        award.recipient_salt = document.new_salt()
        Award.objects.filter(pk=award.pk, recipient_salt="").update(recipient_salt=award.recipient_salt)
        award.refresh_from_db(fields=["recipient_salt"])
    key = keys.signing_key()
    if award.status_index is None:
        _allocate_status_index(award, key)
        award.status_list = StatusList.objects.get(pk=award.status_list_id)
    signed = proof.sign(build_document(award, key), key.private_key, verification_method(key), created=award.issued_at)
    # Only the first signature is kept (a concurrent run of this task signs the same content).
    Award.objects.filter(pk=award.pk, document__isnull=True).update(document=signed)
    award.refresh_from_db(fields=["document"])
    return award.document


def sweep_unsigned(older_than=None, now=None):
    """
    Queue the signing of every active award still unsigned ``older_than`` seconds after it was made
    (MICROCRED_PENDING_EVALUATION_AFTER): its task was lost (the broker was down when the award
    committed). Until then the credential is signed the first time it is asked for. Returns how
    many were queued.
    """
    now = now or datetime.now(dt_timezone.utc)
    due = list(Award.objects.filter(document__isnull=True, status=Award.Status.ACTIVE,
                                    issued_at__lte=now - pending_wait(older_than))
               .order_by("issued_at").values_list("pk", flat=True)[:SWEEP_LIMIT])
    for pk in due:
        queue_signing(pk)
    return len(due)


# --- Status lists ----------------------------------------------------------------------------


def _status_cache_key(number):
    return f"microcred.status_list.{number}"


def status_list_document(number) -> dict:
    """The signed BitstringStatusListCredential of list ``number`` (cached until a revocation)."""
    cached = cache.get(_status_cache_key(number))
    if cached is not None:
        return cached
    status = StatusList.objects.get(number=number)
    revoked = Award.objects.filter(status_list=status, status=Award.Status.REVOKED).values_list(
        "status_index", flat=True)
    key = _key_of(status)
    unsigned = status_list.status_list_credential(
        status_list_url(number), issuer_did(key), status_list.encode(revoked, size=status.size),
        datetime.now(dt_timezone.utc).replace(microsecond=0),
    )
    signed = proof.sign(unsigned, key.private_key, verification_method(key))
    cache.set(_status_cache_key(number), signed, 300)
    return signed


def forget_status_lists(award_ids):
    """Drop the cached lists of these awards (after a revocation) so the next read re-signs."""
    numbers = set(Award.objects.filter(pk__in=list(award_ids), status_list__isnull=False)
                  .values_list("status_list__number", flat=True))
    cache.delete_many([_status_cache_key(n) for n in numbers])


# --- Verifying ---------------------------------------------------------------------------------


def _our_did_documents():
    if microcred_settings.DID_METHOD != "web":
        return {}
    doc = did_web_document()
    return {doc["id"]: doc}


def _status_list_for(url):
    """Our own status list credential behind a statusListCredential URL (never the network)."""
    prefix = status_list_url("")
    if not url.startswith(prefix) or not url[len(prefix):].isdigit():
        raise LookupError(f"not a status list of this issuer: {url}")
    return status_list_document(int(url[len(prefix):]))


# How long a valid signature stays known (the public page of an award re-reads it from here).
VERIFIED_PROOF_SECONDS = 24 * 3600


def _verified_proof(signed: dict, resolve, did_documents) -> proof.ProofResult:
    """
    ``proof.verify_proof``, remembered in Django's cache for signatures found valid.

    Checking a proof canonicalizes the whole document (JSON-LD), the costly part of showing a
    credential's public page. The key is a SHA-256 of the signed document and of the DID documents
    its verification method is resolved with, so any change to either (another document, a
    re-issue, a rotated did:web key) is checked afresh; a revocation changes the status list, whose
    bit is read on every call. Only valid results are kept: nothing that fails is trusted later.
    """
    try:
        digest = hashlib.sha256(json.dumps([signed, did_documents], sort_keys=True, ensure_ascii=False,
                                           separators=(",", ":")).encode("utf-8", "surrogatepass")).hexdigest()
    except (TypeError, ValueError):
        return proof.verify_proof(signed, resolve)  # not JSON data: it cannot verify, nothing to keep
    key = f"microcred.verified_proof.{digest}"
    method = cache.get(key)
    if method is not None:
        return proof.ProofResult(True, None, method)
    result = proof.verify_proof(signed, resolve)
    if result.valid:
        cache.set(key, result.verification_method, VERIFIED_PROOF_SECONDS)
    return result


def verify_credential(credential: dict, now=None) -> VerificationResult:
    """
    Check a credential we issued, without trusting anything but the signature: the proof, the
    signature of the revocation list and its bit, and the validity period. A signature already
    found valid is not checked again (``_verified_proof``); the revocation bit and the validity
    period are read on every call.
    """
    now = now or datetime.now(dt_timezone.utc)
    checks = {}
    did_documents = _our_did_documents()

    def resolve(method):
        return did.resolve_verification_method(method, did_documents)

    def result(name, reason):
        checks[name] = reason
        return VerificationResult(False, checks, name, reason)

    signature = _verified_proof(credential, resolve, did_documents)
    if not signature.valid:
        return result("signature", signature.reason + (f" ({signature.detail})" if signature.detail else ""))
    checks["signature"] = "ok"

    entry = credential.get("credentialStatus")
    if entry:
        try:
            list_credential = _status_list_for(entry.get("statusListCredential", ""))
            list_proof = _verified_proof(list_credential, resolve, did_documents)
            if not list_proof.valid:
                return result("revocation", f"the status list's signature is not valid: {list_proof.reason}")
            bits = list_credential["credentialSubject"]["encodedList"]
            if status_list.is_set(bits, int(entry["statusListIndex"])):
                return result("revocation", "revoked")
        except (LookupError, KeyError, ValueError, StatusList.DoesNotExist) as exc:
            return result("revocation", f"the revocation status cannot be checked: {exc}")
        checks["revocation"] = "ok"

    valid_from = _parse_time(credential.get("validFrom"))
    if valid_from and now < valid_from:
        return result("not_yet_valid", f"valid from {credential['validFrom']}")
    valid_until = _parse_time(credential.get("validUntil"))
    if valid_until and now >= valid_until:
        return result("expiry", f"expired on {credential['validUntil']}")
    checks["expiry"] = "ok"
    return VerificationResult(True, checks)


def _parse_time(value):
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def contexts_for_outside_verifiers():
    """Everything an outside verifier needs to check our credentials offline: url → document."""
    root = lms_root_url()
    documents = {document.extension_context_url(root): document.load_extension_context()}
    documents.update(_our_did_documents())
    return documents
