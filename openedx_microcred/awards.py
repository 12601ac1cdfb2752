"""
Awarding and revoking: the one place that writes Award rows and tells the platform about them.

The engine's decisions (evaluation.py) and an operator's actions (admin, API) both go through here.
"""

import logging
from datetime import timedelta
from functools import partial

from django.db import IntegrityError, transaction
from django.utils import timezone
from openedx_events.learning.data import BadgeData, BadgeTemplateData
from openedx_events.learning.signals import BADGE_AWARDED, BADGE_REVOKED

from . import delivery, dispatch
from .issuance import forget_status_lists
from .models import Award
from .platform import get_platform

log = logging.getLogger(__name__)

AWARDED, REVOKED = "awarded", "revoked"


def award_credential(user_id, credential, evidence, earned_at=None):
    """
    Issue ``credential`` to the learner, or return None if they already hold it (a concurrent
    evaluation won the race: the database allows one active award). ``earned_at``: when the
    criteria were met, in event time (docs/decisions/0016); now if not known.
    """
    now = timezone.now()
    expires = now + timedelta(days=credential.validity_days) if credential.validity_days else None
    try:
        with transaction.atomic():
            award = Award.objects.create(
                user_id=user_id, credential=credential, issued_at=now, earned_at=earned_at or now,
                expires_at=expires, evidence=evidence,
            )
            delivery.queue_issue(award, credential)  # the outbox, in the award's transaction
    except IntegrityError:
        log.info("openedx-microcred: %s already awarded to user %s", credential.slug, user_id)
        return None
    transaction.on_commit(partial(send_badge_event, AWARDED, award.pk))
    transaction.on_commit(partial(dispatch.queue_signing, award.pk))
    return award


def move_earned_time(award, earned_at, evidence):
    """
    A late event showed the award was earned at another time: record it, with the evidence of that
    state, and sign the credential again (its awardedDate changes; id, status entry and issue time
    stay). Copies already delivered to badge platforms keep the time they were sent with.
    """
    signed = award.document is not None
    Award.objects.filter(pk=award.pk).update(earned_at=earned_at, evidence=evidence, document=None)
    award.earned_at, award.evidence, award.document = earned_at, evidence, None
    if signed:
        transaction.on_commit(partial(dispatch.queue_signing, award.pk))


def revoke_awards(award_ids, reason, source=Award.RevocationSource.CRITERIA):
    """
    Revoke those of ``award_ids`` that are still active; return the ids actually revoked.

    A revoke only ever touches what was actually awarded: rows are locked and re-checked, so a
    concurrent revocation is not counted (or announced) twice. An operator's revocation also stops
    the engine from awarding the credential again until an operator allows it.
    """
    award_ids = list(award_ids)
    revoked = []
    with transaction.atomic():
        for start in range(0, len(award_ids), 500):
            locked = list(
                Award.objects.select_for_update()
                .filter(pk__in=award_ids[start:start + 500], status=Award.Status.ACTIVE, current=True)
                .order_by().values_list("pk", flat=True)
            )
            Award.objects.filter(pk__in=locked).update(
                status=Award.Status.REVOKED, current=None, revoked_at=timezone.now(),
                revocation_reason=reason[:255], revocation_source=source,
                blocks_reaward=source == Award.RevocationSource.OPERATOR,
            )
            revoked.extend(locked)
        delivery.queue_revoke(revoked)  # the outbox, in the revocation's transaction
        for pk in revoked:
            transaction.on_commit(partial(send_badge_event, REVOKED, pk))
        if revoked:
            transaction.on_commit(partial(forget_status_lists, revoked))
    return revoked


def send_badge_event(what, award_pk):
    """Emit BADGE_AWARDED / BADGE_REVOKED so other parts of the platform can react."""
    award = Award.objects.select_related("credential").get(pk=award_pk)
    user = get_platform().user_data(award.user_id)
    if user is None:
        return
    credential = award.credential
    badge = BadgeData(
        uuid=str(award.uuid),
        user=user,
        template=BadgeTemplateData(
            uuid=str(credential.uuid), origin="openedx_microcred", name=credential.title,
            description=credential.description,
        ),
    )
    signal = BADGE_AWARDED if what == AWARDED else BADGE_REVOKED
    try:
        signal.send_event(badge=badge, time=award.revoked_at if what == REVOKED else award.issued_at)
    except Exception:  # pylint: disable=broad-except  (the event bus may raise anything; the award stands)
        log.exception("openedx-microcred could not emit %s for award %s", signal.event_type, award.uuid)
