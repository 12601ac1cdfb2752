"""
The catalog of credentials: saving them with their criteria checked against each other, and
keeping the dependency index (which credentials an event in a course can change) up to date.
"""

import logging
from functools import partial

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from . import rules
from .dispatch import pending_wait, queue_learner_fan_out
from .models import CourseDependency, Credential, ExternalDependency

log = logging.getLogger(__name__)


@transaction.atomic
def save_credential(credential: Credential) -> Credential:
    """Validate and save one credential, then refresh the dependency index around it."""
    credential.full_clean()
    was_active = credential.pk is not None and Credential.objects.filter(
        pk=credential.pk, state=Credential.State.ACTIVE).exists()
    credential.save()
    refresh_dependency_index([credential])
    if not was_active:
        evaluate_learners_of([credential])
    return credential


@transaction.atomic
def publish_credential(credential: Credential) -> Credential:
    """
    Make a draft (or archived) credential earnable. Every credential it requires must be active
    already: a stack on a draft could never be earned.
    """
    inactive = list(
        Credential.objects.filter(slug__in=credential.requirement().credentials())
        .exclude(state=Credential.State.ACTIVE).values_list("slug", flat=True)
    )
    if inactive:
        raise ValidationError({"criteria": [
            _("Publish the credentials it requires first: %(slugs)s.") % {"slugs": ", ".join(sorted(inactive))}
        ]})
    credential.state = Credential.State.ACTIVE
    return save_credential(credential)


@transaction.atomic
def archive_credential(credential: Credential) -> Credential:
    """
    Stop a credential from being earned. Awards already made stay valid (revoke them in the admin
    if they must go). An active stack that requires it must be archived first.
    """
    stacks = list(credential.required_by.filter(state=Credential.State.ACTIVE).values_list("slug", flat=True))
    if stacks:
        raise ValidationError({"state": [
            _("Active stacks require this credential; archive them first: %(slugs)s.")
            % {"slugs": ", ".join(sorted(stacks))}
        ]})
    credential.state = Credential.State.ARCHIVED
    return save_credential(credential)


def evaluate_learners_of(credentials):
    """
    Once credentials are active, queue (on commit) the evaluation of every learner who has facts in
    their courses, so that those who already meet the criteria are awarded without a new event.
    Each stays marked until its last chunk of learners is done: sweep_learner_fan_outs resumes a
    fan-out whose task was lost, so a course that has ended (no new events) still gets its awards.
    """
    now = timezone.now()
    for credential in credentials:
        if credential.state == Credential.State.ACTIVE:
            Credential.objects.filter(pk=credential.pk).update(learners_pending_since=now, learners_done_through=0)
            transaction.on_commit(partial(queue_learner_fan_out, credential.pk, 0))


def sweep_learner_fan_outs(older_than=None, now=None):
    """
    Resume, from the last learner done, every active credential's learner fan-out that has not moved
    for ``older_than`` seconds (MICROCRED_PENDING_EVALUATION_AFTER): its task was lost. Each one
    swept waits another period. Returns how many were queued.
    """
    now = now or timezone.now()
    due = list(Credential.objects.filter(state=Credential.State.ACTIVE,
                                         learners_pending_since__lte=now - pending_wait(older_than))
               .values_list("pk", "learners_done_through"))
    Credential.objects.filter(pk__in=[pk for pk, _ in due]).update(learners_pending_since=now)
    for pk, done_through in due:
        queue_learner_fan_out(pk, done_through)
    return len(due)


def refresh_dependency_index(credentials):
    """
    Recompute the requires-edges and course dependencies of ``credentials`` and of every stack
    above them. A credential depends on its own courses and on every course of the credentials it
    requires, transitively, so one indexed lookup by course finds the stacks too.
    """
    affected = {c.pk: c for c in credentials}
    frontier = set(affected)
    through = Credential.requires.through
    while frontier:
        parents = set(
            through.objects.filter(to_credential_id__in=frontier).values_list("from_credential_id", flat=True)
        ) - set(affected)
        for parent in Credential.objects.filter(pk__in=parents):
            affected[parent.pk] = parent
        frontier = parents

    trees = {c.slug: c.requirement() for c in affected.values()}
    ordered = rules.dependency_order(rules.CredentialRule(slug, tree) for slug, tree in trees.items())
    by_slug = {c.slug: c for c in affected.values()}
    courses_by_slug, issuers_by_slug = {}, {}
    for rule in ordered:
        credential = by_slug[rule.slug]
        required = list(Credential.objects.filter(slug__in=rule.requirement.credentials()))
        credential.requires.set(required)
        courses = set(rule.requirement.courses())
        for child in required:
            if child.slug in courses_by_slug:
                courses |= courses_by_slug[child.slug]
            else:
                courses |= {str(k) for k in child.course_dependencies.values_list("course_key", flat=True)}
        courses_by_slug[rule.slug] = courses
        CourseDependency.objects.filter(credential=credential).exclude(course_key__in=courses).delete()
        stored = CourseDependency.objects.filter(credential=credential).values_list("course_key", flat=True)
        present = {str(k) for k in stored}
        CourseDependency.objects.bulk_create(
            [CourseDependency(credential=credential, course_key=k) for k in sorted(courses - present)]
        )
        # The same closure over the issuers of external credentials (rules.ExternalCredentialHeld).
        issuers = {leaf.issuer for leaf in rule.requirement.leaves() if isinstance(leaf, rules.ExternalCredentialHeld)}
        for child in required:
            if child.slug in issuers_by_slug:
                issuers |= issuers_by_slug[child.slug]
            else:
                issuers |= set(child.external_dependencies.values_list("issuer", flat=True))
        issuers_by_slug[rule.slug] = issuers
        ExternalDependency.objects.filter(credential=credential).exclude(issuer__in=issuers).delete()
        present = set(ExternalDependency.objects.filter(credential=credential).values_list("issuer", flat=True))
        ExternalDependency.objects.bulk_create(
            [ExternalDependency(credential=credential, issuer=i) for i in sorted(issuers - present)])
