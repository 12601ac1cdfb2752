"""
Learner data rights: retiring a learner (the right to erasure) and hiding a credential from its
public page. See docs/privacy.md and docs/decisions/0008-learner-retirement.rst.

``retire_learner`` runs, in one transaction, when the platform retires a user account
(edx-platform's ``USER_RETIRE_LMS_MISC`` and ``USER_RETIRE_LMS_CRITICAL`` signals, connected by
``connect_retirement_receivers`` where edx-platform is present) or when an operator runs
``manage.py microcred_retire_user`` (hosts without those signals):

* every active award is revoked through ``awards.revoke_awards``: its bit in the status list is
  set, so copies held elsewhere stop verifying, and a revoke delivery is queued for every badge
  platform the award reached (the usual outbox: retried, visible to operators). A revoke needs
  only the platform's external id, which is kept;
* the learner's awards keep only what the status list and those deliveries need (the row, its
  status-list index, the credential, dates, status): the signed document and its recipient salt
  are removed, the evidence is cut down to which requirements were met (no grades, no event
  ids), and no award of the learner can be earned again;
* the learner's facts (and their history of events) and progress are deleted, and so are the
  rejected events that name them;
  errors kept on their deliveries are cleared (a platform's answer may quote a name or address);
* a ``RetirementRecord`` keeps that it happened, when, and the counts, under a keyed hash of the
  user id: no name, email, username or user id.

Retiring twice is harmless: the second run finds nothing left and changes nothing. The user row
itself belongs to the platform (edx-platform keeps it, with a retired username and email).
"""

import json
import logging
import re
from dataclasses import dataclass
from importlib import import_module

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from .awards import revoke_awards
from .issuance import resign_stacks_naming
from .models import (
    Award,
    Delivery,
    ExternalCredential,
    LearnerEvent,
    LearnerFact,
    LearnerLock,
    LearnerSharing,
    Progress,
    RejectedEvent,
    RetirementRecord,
    subject_hash,
)

log = logging.getLogger(__name__)

# The reason sent to the badge platforms with the revocation (and shown on them): no personal data.
RETIREMENT_REASON = "The holder's account was closed at their request."
DELIVERY_ERROR_REMOVED = "(removed when the learner's account was retired)"
# Errors the plugin writes itself (delivery.queue_revoke): they quote no platform, so they stay.
OWN_DELIVERY_ERRORS = (DELIVERY_ERROR_REMOVED, "award revoked before delivery")

# edx-platform's signals, sent with ``user=`` by the retirement API views (retire_misc, retire).
PLATFORM_SIGNALS_MODULE = "openedx.core.djangoapps.user_api.accounts.signals"
PLATFORM_SIGNALS = ("USER_RETIRE_LMS_MISC", "USER_RETIRE_LMS_CRITICAL")


@dataclass(frozen=True)
class RetirementResult:
    """What one run of ``retire_learner`` did (all zero when the learner was already retired)."""

    record: RetirementRecord
    awards_revoked: int = 0
    revocations_queued: int = 0
    documents_removed: int = 0
    facts_deleted: int = 0
    progress_deleted: int = 0
    rejected_events_deleted: int = 0

    @property
    def changed(self):
        return any((self.awards_revoked, self.revocations_queued, self.documents_removed, self.facts_deleted,
                    self.progress_deleted, self.rejected_events_deleted))


COUNTS = ("awards_revoked", "revocations_queued", "documents_removed", "facts_deleted", "progress_deleted",
          "rejected_events_deleted")


def retire_learner(user, source="") -> RetirementResult:
    """
    Remove what the plugin holds about ``user`` (a user or a user id), revoke their credentials
    here and upstream, and keep the audit record. One transaction; the platform revocations and the
    BADGE_REVOKED events go out once it commits.
    """
    user_id = int(getattr(user, "pk", user))
    names = _names(user)
    with transaction.atomic():
        # An evaluation of the learner running now finishes first; one after this sees no facts.
        LearnerLock.take([user_id])
        record, _ = RetirementRecord.objects.select_for_update().get_or_create(
            subject=subject_hash(user_id), defaults={"source": source[:64]})

        active = list(Award.objects.filter(user_id=user_id, status=Award.Status.ACTIVE, current=True)
                      .values_list("pk", flat=True))
        revoked = revoke_awards(active, RETIREMENT_REASON, source=Award.RevocationSource.RETIREMENT) if active else []
        queued = Delivery.objects.filter(award_id__in=revoked, action=Delivery.Action.REVOKE).count()

        documents = _scrub_awards(user_id)
        Delivery.objects.filter(award__user_id=user_id).exclude(last_error="") \
            .exclude(last_error__in=OWN_DELIVERY_ERRORS).update(last_error=DELIVERY_ERROR_REMOVED)
        facts, _ = LearnerFact.objects.filter(user_id=user_id).delete()
        LearnerEvent.objects.filter(user_id=user_id).delete()  # their history: the same facts, over time
        # The credentials of other issuers the learner added are facts too (and hold their email).
        uploaded, _ = ExternalCredential.objects.filter(user_id=user_id).delete()
        facts += uploaded
        progress, _ = Progress.objects.filter(user_id=user_id).delete()
        LearnerLock.objects.filter(user_id=user_id).delete()
        LearnerSharing.objects.filter(user_id=user_id).delete()
        rejected = _delete_rejected_events(user_id, names)

        result = RetirementResult(record, len(revoked), queued, documents, facts, progress, rejected)
        if result.changed:
            for name in COUNTS:
                setattr(record, name, getattr(record, name) + getattr(result, name))
            record.save()
    if result.changed:
        log.info("openedx-microcred retired learner %s… (%s): %s", record.subject[:12], source or "direct",
                 ", ".join(f"{name} {getattr(result, name)}" for name in COUNTS))
    return result


def _names(user):
    """The username and email the platform still has, to find rejected events that quote them."""
    if isinstance(user, int):
        user = get_user_model().objects.filter(pk=user).first()
    if user is None:
        return set()
    return {value.strip().lower() for value in (user.get_username(), getattr(user, "email", "")) if value}


def _scrub_awards(user_id):
    """
    Keep of the learner's awards only what the status list and the revoke deliveries need; return
    how many signed documents were removed. No award of theirs can be earned again.
    """
    removed = 0
    awards = Award.objects.filter(user_id=user_id).only("pk", "document", "recipient_salt", "evidence",
                                                        "blocks_reaward")
    for award in awards:
        evidence = _bare_evidence(award.evidence)
        if award.document is None and not award.recipient_salt and evidence == award.evidence \
                and award.blocks_reaward:
            continue
        removed += award.document is not None
        Award.objects.filter(pk=award.pk).update(document=None, recipient_salt="", evidence=evidence,
                                                 blocks_reaward=True)
    return removed


def _bare_evidence(evidence):
    """Which requirement was met (and by which other award), without the facts: no values, no event ids."""
    bare = []
    for entry in evidence if isinstance(evidence, list) else ():
        if isinstance(entry, dict):
            bare.append({key: entry[key] for key in ("path", "requirement", "award") if key in entry})
    return bare


# --- Rejected events ------------------------------------------------------------------------------

_ID_IN_TEXT = re.compile(r"\b(?:UserData\(id|user_id)\s*[=:]\s*['\"]?(\d+)")


def _delete_rejected_events(user_id, names):
    """
    Delete the rejected events about this learner. They were kept to be sent again once their
    cause was fixed; a retired learner's events must not be. Their payloads come in several shapes
    (openedx-events' serialized data, an event-log line, a back-filled row, a repr), so the
    database narrows them down to those whose text holds the user id and each one is then read.
    """
    candidates = (RejectedEvent.objects.annotate(payload_text=Cast("payload", TextField()))
                  .filter(payload_text__contains=str(user_id)).values_list("pk", "payload"))
    doomed = [pk for pk, payload in candidates.iterator(chunk_size=500) if _mentions(payload, user_id, names)]
    for start in range(0, len(doomed), 500):
        RejectedEvent.objects.filter(pk__in=doomed[start:start + 500]).delete()
    return len(doomed)


def _same_id(value, user_id):
    return not isinstance(value, bool) and str(value).strip() == str(user_id)


def _mentions(payload, user_id, names, depth=0):
    """Whether a rejected event's payload is about the learner (their user id, username or email)."""
    if depth > 20:
        return False
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key == "user_id" and _same_id(value, user_id):
                return True
            if key == "user" and isinstance(value, dict) and _same_id(value.get("id"), user_id):
                return True
            if _mentions(value, user_id, names, depth + 1):
                return True
        return False
    if isinstance(payload, list):
        return any(_mentions(item, user_id, names, depth + 1) for item in payload)
    if isinstance(payload, str):
        if payload.strip().lower() in names:
            return True
        if payload.lstrip().startswith("{"):  # an event-log line kept as text
            try:
                return _mentions(json.loads(payload), user_id, names, depth + 1)
            except ValueError:
                pass
        return any(match == str(user_id) for match in _ID_IN_TEXT.findall(payload))
    return False


# --- The platform's signals -------------------------------------------------------------------------


# pylint: disable-next=unused-argument  (a signal receiver takes sender and **kwargs whether it reads them or not)
def retire_on_platform_signal(sender=None, user=None, signal=None, **kwargs):
    """
    Receiver of edx-platform's retirement signals (``send(sender=<view class>, user=<user>)``).
    Errors are not swallowed: the retirement step then fails and the platform's retirement
    pipeline runs it again (retiring is idempotent) instead of leaving our data behind.
    """
    if user is None:
        log.warning("openedx-microcred: a retirement signal without a user; nothing retired")
        return None
    name = next((n for n in PLATFORM_SIGNALS if getattr(_platform_signals(), n, None) is signal), "signal")
    return retire_learner(user, source=name)


def _platform_signals():
    try:
        return import_module(PLATFORM_SIGNALS_MODULE)
    except ImportError:
        return None


def connect_retirement_receivers():
    """Connect to edx-platform's retirement signals where they exist; return the names connected."""
    module = _platform_signals()
    if module is None:
        return []
    connected = []
    for name in PLATFORM_SIGNALS:
        signal = getattr(module, name, None)
        if signal is None:
            continue
        signal.connect(retire_on_platform_signal, dispatch_uid=f"openedx_microcred.retire.{name}")
        connected.append(name)
    return connected


# --- Hiding a credential -------------------------------------------------------------------------


class NotTheHolder(Exception):
    """Only the learner an award was issued to may change its visibility."""


def set_hidden(user, award_uuid, hidden) -> Award:
    """Hide (or show again) the award's public page; raise Award.DoesNotExist or NotTheHolder."""
    award = Award.objects.get(uuid=award_uuid)
    if not getattr(user, "is_authenticated", False) or award.user_id != user.pk:
        raise NotTheHolder(str(award_uuid))
    if award.hidden != bool(hidden):
        with transaction.atomic():
            Award.objects.filter(pk=award.pk).update(hidden=bool(hidden))
            award.hidden = bool(hidden)
            # Hidden means hidden everywhere public: the stacks built on it stop naming it.
            resign_stacks_naming(award)
    return award
