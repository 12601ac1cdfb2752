"""
Delivering awards to badge platforms: the transactional outbox and the work that empties it.

``queue_issue`` / ``queue_revoke`` write Delivery rows in the caller's transaction (the award's or
the revocation's), so a delivery exists exactly when its cause does. ``deliver`` performs one
attempt: it never creates a second badge upstream (the external id is stored as soon as it is
known, and an attempt whose outcome is unknown is followed by a look-up before any new request),
retries what is worth retrying with exponential backoff and jitter (honouring Retry-After), and
gives up on what can never succeed. ``sweep`` finds rows whose task was lost.
"""

import hashlib
import logging
import random
from dataclasses import dataclass
from datetime import timedelta
from datetime import timezone as dt_timezone
from functools import partial

from django.core.cache import cache
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import backends, links, organizations
from .app_settings import microcred_settings
from .backends import credly
from .backends.base import BadgeRequest, DeliveryError, OutcomeUnknown, PermanentError, TransientError
from .dispatch import enqueue_delivery
from .models import Credential, Delivery
from .platform import get_platform

log = logging.getLogger(__name__)

DEFAULTS = {
    "max_attempts": 8,
    "backoff_base": 30.0,  # seconds before the first retry
    "backoff_cap": 6 * 3600.0,  # never wait longer than this between attempts
    "rate_per_second": 5,  # per account, across all workers (shared cache)
    "stale_sending": 600.0,  # a row "sending" this long lost its worker
}


def policy(name):
    """The delivery policy setting ``name``: MICROCRED_DELIVERY's value, else DEFAULTS'."""
    return (microcred_settings.DELIVERY or {}).get(name, DEFAULTS[name])


# --- The outbox -----------------------------------------------------------------------------------


def queue_issue(award, credential):
    """In the award's transaction: one issue delivery per platform target of the credential."""
    rows = []
    for target in credential.platform_targets or ():
        account = target["account"]
        config = backends.account_config(account) if account in _accounts() else {}
        rows.append(Delivery(award=award, account=account, platform=config.get("backend", "unknown"),
                             action=Delivery.Action.ISSUE, target=dict(target), next_attempt_at=timezone.now()))
    created = Delivery.objects.bulk_create(rows)
    _deliver_on_commit(created)
    return created


def queue_revoke(award_ids):
    """
    In the revocation's transaction: a revoke delivery for every issue delivery that may have
    reached its platform; issue deliveries that have not been tried yet are simply cancelled.
    """
    issues = list(Delivery.objects.select_for_update().filter(award_id__in=list(award_ids),
                                                              action=Delivery.Action.ISSUE))
    untried = [d.pk for d in issues if d.state in (Delivery.State.PENDING, Delivery.State.RETRYING)
               and not d.external_id and not d.outcome_unknown]
    Delivery.objects.filter(pk__in=untried).update(state=Delivery.State.CANCELLED,
                                                   last_error="award revoked before delivery")
    rows = [
        Delivery(award_id=d.award_id, account=d.account, platform=d.platform, action=Delivery.Action.REVOKE,
                 target=d.target, next_attempt_at=timezone.now())
        for d in issues if d.pk not in untried and d.state != Delivery.State.CANCELLED
    ]
    created = Delivery.objects.bulk_create(rows, ignore_conflicts=True)
    _deliver_on_commit(Delivery.objects.filter(award_id__in=list(award_ids), action=Delivery.Action.REVOKE,
                                               state=Delivery.State.PENDING))
    return created


def _accounts():
    return microcred_settings.PLATFORM_ACCOUNTS or {}


def _deliver_on_commit(deliveries):
    for delivery in deliveries:
        transaction.on_commit(partial(enqueue_delivery, delivery.pk))


# --- One attempt ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptResult:
    state: str
    retry_in: float | None = None


def _claim(delivery_id):
    """Take the row for this attempt, or None if it is not due (another worker has it, it is done...)."""
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(pk=delivery_id).first()
        if delivery is None or delivery.state not in (Delivery.State.PENDING, Delivery.State.RETRYING):
            return None
        if delivery.next_attempt_at > timezone.now():
            return None
        if not _take_rate_slot(delivery.account):
            delivery.state = Delivery.State.RETRYING
            delivery.next_attempt_at = timezone.now() + timedelta(seconds=1)
            delivery.save(update_fields=["state", "next_attempt_at", "modified"])
            return AttemptResult(Delivery.State.RETRYING, 1.0)
        delivery.state = Delivery.State.SENDING
        delivery.attempts += 1
        delivery.save(update_fields=["state", "attempts", "modified"])
        return delivery


def _take_rate_slot(account):
    """A shared per-second budget per account, so a course-wide regrade does not get us throttled."""
    limit = policy("rate_per_second")
    if not limit:
        return True
    key = f"microcred.rate.{account}.{int(timezone.now().timestamp())}"
    cache.add(key, 0, timeout=5)
    try:
        return cache.incr(key) <= limit
    except ValueError:  # the key expired between add and incr
        return True


def badge_request(delivery) -> BadgeRequest:
    """What a badge platform needs to issue the delivery's award; PermanentError when the learner has no email."""
    award = delivery.award
    user = get_platform().user_data(award.user_id)
    if user is None or not user.pii.email:
        raise PermanentError(f"award {award.uuid}: the learner has no email address")
    first, _, last = (user.pii.name or user.pii.username).partition(" ")
    return BadgeRequest(
        delivery_id=delivery.pk, award_uuid=str(award.uuid), recipient_email=user.pii.email,
        first_name=first, last_name=last, issued_at=award.awarded_at, expires_at=award.expires_at,
        credential_title=award.credential.title, credential_description=award.credential.description,
        evidence_url=links.credential_url(award.uuid), credential_json_url=links.credential_json_url(award.uuid),
        target=delivery.target,
    )


def deliver(delivery_id) -> AttemptResult | None:
    """One attempt at one delivery. Safe to run twice or concurrently: the row is claimed first."""
    claimed = _claim(delivery_id)
    if not isinstance(claimed, Delivery):
        return claimed
    delivery = claimed
    try:
        # The credential was checked against its accounts when saved; the operator may have
        # changed the accounts since. Never send an organization's badge with another's account.
        refusal = organizations.account_problem(delivery.account, delivery.award.credential.org)
        if refusal:
            raise PermanentError(f"not sent: {refusal}")
        backend = backends.get_backend(delivery.account)
        request = badge_request(delivery)
        if delivery.action == Delivery.Action.ISSUE:
            _issue(delivery, backend, request)
        else:
            _revoke(delivery, backend, request)
    except PermanentError as exc:
        return _finish(delivery, Delivery.State.FAILED, error=str(exc))
    except OutcomeUnknown as exc:
        delivery.outcome_unknown = True
        return _retry(delivery, exc)
    except TransientError as exc:
        return _retry(delivery, exc)
    except Exception as exc:  # pylint: disable=broad-except  (a backend may raise anything)
        # A bug or a misconfiguration: keep the row, say what happened, try again later.
        log.exception("openedx-microcred delivery %s failed unexpectedly", delivery.pk)
        return _retry(delivery, DeliveryError(_redacted(delivery, f"{type(exc).__name__}: {exc}")))
    return _finish(delivery, Delivery.State.DELIVERED)


def _issue(delivery, backend, request):
    """Issue the award upstream once: an earlier attempt's badge is found again instead of issued twice."""
    if delivery.external_id:
        return  # issued by an earlier attempt whose end we did not record
    if delivery.outcome_unknown:
        existing = backend.find_existing(request)
        if existing is not None:
            _record_external(delivery, existing)
            return
    result = backend.issue(request)
    _record_external(delivery, result)


def _record_external(delivery, result):
    """Store the external id at once: from here on, a retry can only confirm, never duplicate."""
    delivery.external_id = result.external_id
    delivery.upstream_state = result.state or ""
    delivery.outcome_unknown = False
    Delivery.objects.filter(pk=delivery.pk).update(external_id=delivery.external_id,
                                                   upstream_state=delivery.upstream_state, outcome_unknown=False)


def _revoke(delivery, backend, request):
    """Revoke the award's upstream badge, if any ever went up; TransientError while its issue is still under way."""
    issue = Delivery.objects.filter(award_id=delivery.award_id, account=delivery.account,
                                    action=Delivery.Action.ISSUE).first()
    if issue is None or issue.state == Delivery.State.CANCELLED:
        return  # nothing ever went upstream
    external_id = issue.external_id
    if not external_id and issue.state in (Delivery.State.SENDING, Delivery.State.RETRYING, Delivery.State.PENDING):
        raise TransientError("the badge is not issued upstream yet; revoking once it is")
    if not external_id:
        found = backend.find_existing(request)
        if found is None:
            return  # the issue failed for good and nothing is upstream
        external_id = found.external_id
    reason = delivery.award.revocation_reason or "revoked"
    backend.revoke(external_id, request, reason)
    delivery.external_id = external_id


def _retry(delivery, error):
    """Schedule another attempt after an exponential backoff, or give up (FAILED) after max_attempts."""
    if delivery.attempts >= policy("max_attempts"):
        return _finish(delivery, Delivery.State.FAILED, error=f"gave up after {delivery.attempts} attempts: {error}")
    base, cap = policy("backoff_base"), policy("backoff_cap")
    delay = min(cap, base * 2 ** (delivery.attempts - 1)) * random.uniform(0.5, 1.0)  # "equal jitter"
    if getattr(error, "retry_after", None):
        delay = max(delay, float(error.retry_after))
    return _finish(delivery, Delivery.State.RETRYING, error=str(error), retry_in=delay)


def _finish(delivery, state, error="", retry_in=None):
    """Store the delivery's new state and redacted error, queueing the next attempt after commit when ``retry_in``."""
    delivery.state = state
    delivery.last_error = _redacted(delivery, error)[:2000]
    fields = ["state", "last_error", "outcome_unknown", "external_id", "modified"]
    if retry_in is not None:
        delivery.next_attempt_at = timezone.now() + timedelta(seconds=retry_in)
        fields.append("next_attempt_at")
    delivery.save(update_fields=fields)
    if retry_in is not None:
        transaction.on_commit(partial(enqueue_delivery, delivery.pk, retry_in))
    return AttemptResult(state, retry_in)


def _redacted(delivery, text):
    """The text ``text`` without the account's secrets (every text value of its configuration but the public ones)."""
    if not text:
        return ""
    config = _accounts().get(delivery.account) or {}
    secrets = [v for k, v in config.items()
               if isinstance(v, str) and k not in ("backend", "base_url", "organization_id")]
    return backends.base.redact(text, secrets)


# --- Configuration ---------------------------------------------------------------------------------


def check_targets(account=None):
    """
    (credential slug, account, problem) for every platform target of an active credential that the
    platform would refuse, or that would not be sent: an unknown account, an account that does not
    serve the credential's organization, a missing or unknown template / group / badge.
    """
    problems = []
    for credential in Credential.objects.filter(state=Credential.State.ACTIVE).exclude(platform_targets=[]):
        for target in credential.platform_targets:
            name = target.get("account")
            if account and name != account:
                continue
            if name not in _accounts():
                problems.append((credential.slug, name, "no such account in MICROCRED_PLATFORM_ACCOUNTS"))
                continue
            refusal = organizations.account_problem(name, credential.org)
            if refusal:
                problems.append((credential.slug, name, refusal))
                continue
            try:
                found = backends.get_backend(name).validate_target(target)
            except DeliveryError as exc:
                found = [f"the platform could not be asked: {exc}"]
            problems.extend((credential.slug, name, problem) for problem in found)
    return problems


# --- Lost tasks and operators --------------------------------------------------------------------


def sweep(now=None):
    """
    Queue every due delivery whose task was lost (broker down, worker killed) and take back rows
    left "sending" by a dead worker (their outcome is unknown: look up before re-sending).
    """
    now = now or timezone.now()
    stale = now - timedelta(seconds=policy("stale_sending"))
    Delivery.objects.filter(state=Delivery.State.SENDING, modified__lt=stale).update(
        state=Delivery.State.RETRYING, outcome_unknown=True, next_attempt_at=now,
        last_error="the worker stopped while sending; looking the badge up before sending again")
    due = list(Delivery.objects.filter(state__in=(Delivery.State.PENDING, Delivery.State.RETRYING),
                                       next_attempt_at__lte=now).values_list("pk", flat=True)[:5000])
    for pk in due:
        enqueue_delivery(pk)
    return len(due)


def retry_now(deliveries):
    """An operator's retry: failed or waiting rows go again now, with a fresh attempt budget."""
    ids = [d.pk for d in deliveries if d.state in (Delivery.State.FAILED, Delivery.State.RETRYING,
                                                   Delivery.State.PENDING)]
    Delivery.objects.filter(pk__in=ids).update(state=Delivery.State.RETRYING, attempts=0,
                                               next_attempt_at=timezone.now())
    _deliver_on_commit(Delivery.objects.filter(pk__in=ids))
    return len(ids)


def cancel(deliveries):
    """An operator's cancel: rows not yet delivered stop being tried."""
    ids = [d.pk for d in deliveries if d.state in (Delivery.State.PENDING, Delivery.State.RETRYING,
                                                   Delivery.State.FAILED)]
    Delivery.objects.filter(pk__in=ids).update(state=Delivery.State.CANCELLED)
    return len(ids)


# --- Platform notifications (webhooks) ----------------------------------------------------------

# Per account, confirmed notifications only: what a forger sends never uses up Credly's share.
WEBHOOK_RATE_PER_MINUTE = 120
# Per client address (whatever account it names), refused calls: a forger is slowed down (each call
# could cost a confirmation request to the platform) without slowing anyone else down.
WEBHOOK_REFUSED_PER_MINUTE = 30


class WebhookRefused(Exception):
    """A notification that changes nothing; ``status`` is the HTTP answer to give."""

    def __init__(self, status, message):
        super().__init__(message)
        self.status = status


@dataclass(frozen=True)
class Notification:
    """What a confirmed notification did: the delivery it concerns (or None), and whether it moved."""

    delivery: Delivery | None = None
    applied: bool = False
    stale: bool = False  # older than the notification already applied to that delivery


def _event_badge(event):
    """(badge id, new state) from a confirmed Credly event, whatever envelope it comes in."""
    data = event.get("data") if isinstance(event.get("data"), dict) else event
    badge = data.get("badge") if isinstance(data.get("badge"), dict) else {}
    badge_id = badge.get("id") or data.get("badge_id")
    state = badge.get("state") or data.get("state")
    event_type = str(data.get("event_type") or event.get("event_type") or "")
    if event_type.endswith("deleted"):
        state = "deleted"
    return (str(badge_id) if badge_id else None), (str(state) if state else None)


def _event_time(event):
    """The aware time a confirmed event happened at (its own ``occurred_at``), or None."""
    value = event.get("occurred_at")
    if not isinstance(value, str):
        return None
    try:
        moment = parse_datetime(value.strip())
    except ValueError:
        return None
    if moment is None:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt_timezone.utc)


def apply_upstream_state(account, external_id, state, occurred_at) -> Notification:
    """
    Record a platform's word on one of our badges, in event time: a notification older than the one
    already applied (a replay, or a retry that arrives late) is acknowledged but changes nothing.
    A notification without a time is applied only to a delivery that has none yet.
    """
    with transaction.atomic():
        row = (Delivery.objects.select_for_update()
               .filter(account=account, action=Delivery.Action.ISSUE, external_id=external_id).first())
        if row is None:
            return Notification()
        if row.upstream_at is not None and (occurred_at is None or occurred_at < row.upstream_at):
            return Notification(delivery=row, stale=True)
        row.upstream_state = state[:32]
        row.upstream_at = occurred_at or row.upstream_at
        row.save(update_fields=["upstream_state", "upstream_at", "modified"])
    return Notification(delivery=row, applied=True)


def _minute():
    return int(timezone.now().timestamp() // 60)


def _minute_bucket(kind, *parts):
    # Hashed: a client address may be any text (a malformed REMOTE_ADDR), which memcached refuses.
    digest = hashlib.sha256("\n".join(parts).encode("utf-8", "replace")).hexdigest()[:32]
    return f"microcred.webhook.{kind}.{digest}.{_minute()}"


def _count(key):
    return cache.get(key) or 0


def _bump(key):
    """Count one more in the minute's counter ``key``, returning the new count."""
    cache.add(key, 0, timeout=120)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=120)
        return 1


def credly_notification(account, body, client_address) -> Notification:
    """
    Act on a Credly webhook call, trusting nothing in it: the event is fetched back from Credly
    with our own token before anything changes. ``client_address`` is the caller's safest address
    (edx-django-utils' ``get_safest_client_ip``). Raises WebhookRefused for a call to refuse.
    """
    refused_key = _minute_bucket("refused", client_address)
    if _count(refused_key) >= WEBHOOK_REFUSED_PER_MINUTE:
        raise WebhookRefused(429, "too many refused notifications from this address")
    try:
        return _credly_notification(account, body)
    except WebhookRefused as refused:
        if refused.status not in (429, 503):  # Credly's own retries of those are welcome
            _bump(refused_key)
        raise


def _credly_notification(account, body):
    """Check a Credly notification's account and event and act on the event fetched back from Credly."""
    config = _accounts().get(account)
    if not config or config.get("backend") != "credly":
        raise WebhookRefused(404, "unknown account")
    if not isinstance(body, dict) or not body.get("id"):
        raise WebhookRefused(400, "a Credly event notification has an 'id'")
    event_id, organization = body["id"], body.get("organization_id")
    if not credly.is_credly_id(event_id):
        raise WebhookRefused(400, "the event 'id' is not a Credly id (a UUID)")
    if organization is not None and not credly.is_credly_id(organization):
        raise WebhookRefused(400, "the 'organization_id' is not a Credly id (a UUID)")
    if str(organization or "").lower() != str(config.get("organization_id", "")).lower():
        raise WebhookRefused(403, "not an event of this organization")
    verified_key = _minute_bucket("verified", account)
    if _count(verified_key) >= WEBHOOK_RATE_PER_MINUTE:
        raise WebhookRefused(429, "too many notifications")
    backend = backends.get_backend(account)
    try:
        event = backend.fetch_event(event_id)
    except PermanentError as exc:
        raise WebhookRefused(403, "Credly does not know this event") from exc
    except TransientError as exc:
        raise WebhookRefused(503, "Credly could not be asked; send it again later") from exc
    _bump(verified_key)
    event = event if isinstance(event, dict) else {}
    badge_id, state = _event_badge(event)
    if not credly.is_credly_id(badge_id) or not state:
        return Notification()
    return apply_upstream_state(account, badge_id, state, _event_time(event))
