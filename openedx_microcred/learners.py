"""
What a learner sees of their own credentials: the awards they hold, their progress along every
credential and stack, the dashboard built from both ("My credentials", the learner REST API, the
MFE widget: badges with their share links, what is still missing and with which courses, stack
levels, revoked badges) and their sharing choices. Read side only: nothing here awards or revokes.
api.py is the way other apps reach it.
"""

import math

from django.contrib.auth import get_user_model
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from . import backends, issuance, links, requirement_words, rules
from .app_settings import microcred_settings
from .data import (
    AwardData,
    CredentialProgress,
    CredentialStatus,
    EarnedBadge,
    LearnerDashboard,
    MissingRequirement,
    NextStep,
    PlatformLink,
    RequirementStatus,
    RevokedBadge,
    SharingChoices,
    StackLevel,
)
from .models import Award, Credential, Delivery, LearnerFact, LearnerSharing, Progress, TrustedIssuer
from .openbadges import linkedin
from .platform import get_platform


def user_id_of(user) -> int:
    """A user's id, from the user or the id itself."""
    return user if isinstance(user, int) else user.pk


def learner_awards(user, include_revoked=False) -> list[AwardData]:
    """The learner's awards, as AwardData, without the revoked ones unless ``include_revoked``."""
    awards = Award.objects.filter(user_id=user_id_of(user)).select_related("credential")
    if not include_revoked:
        awards = awards.filter(status=Award.Status.ACTIVE)
    return [
        AwardData(
            uuid=a.uuid, credential_slug=a.credential.slug, title=a.credential.title, user_id=a.user_id,
            status=a.status, issued_at=a.issued_at, expires_at=a.expires_at, revoked_at=a.revoked_at,
            evidence=a.evidence,
        )
        for a in awards
    ]


def learner_progress(user, course_key=None) -> list[CredentialProgress]:
    """
    Every credential the learner has progress on (only those depending on ``course_key`` if
    given): earned or not, the fraction, met and missing requirements, and for a stack the same for
    each credential in it.
    """
    user_id = user_id_of(user)
    rows = Progress.objects.filter(user_id=user_id).select_related("credential")
    if course_key is not None:
        rows = rows.filter(credential__course_dependencies__course_key=str(course_key)).distinct()
    rows = list(rows)
    all_rows = {p.credential.slug: p for p in Progress.objects.filter(user_id=user_id).select_related("credential")}
    held = set(
        Award.objects.filter(user_id=user_id, current=True).values_list("credential__slug", flat=True)
    )
    titles = {}
    wanted = {r["requirement"]["credential"] for p in all_rows.values() for r in p.requirements
              if r["requirement"]["type"] == "credential"} - set(all_rows)
    if wanted:
        titles = dict(Credential.objects.filter(slug__in=wanted).values_list("slug", "title"))

    def build(slug, title, seen):
        row = all_rows.get(slug)
        if row is None or slug in seen:
            return CredentialProgress(slug, title, slug in held, 1.0 if slug in held else 0.0, [], [])
        statuses = [_status(r) for r in row.requirements]
        children = [
            build(s.credential_slug, titles.get(s.credential_slug, s.credential_slug), seen | {slug})
            for s in statuses if s.kind == "credential"
        ]
        return CredentialProgress(
            credential_slug=slug, title=row.credential.title, earned=slug in held,
            fraction=1.0 if slug in held else row.fraction,
            met=[s for s in statuses if s.met], missing=[s for s in statuses if not s.met],
            is_stack=bool(children), children=children,
        )

    return [build(p.credential.slug, p.credential.title, frozenset()) for p in rows]


def _status(entry):
    requirement = entry["requirement"]
    return RequirementStatus(
        path=entry["path"], kind=requirement["type"], met=entry["met"], fraction=entry["fraction"],
        course_key=requirement.get("course"), credential_slug=requirement.get("credential"),
        min_percent=requirement.get("min_percent"), mode=requirement.get("mode"),
        issuer=requirement.get("issuer"),
        achievement=requirement.get("achievement") or requirement.get("achievement_type"),
    )


# --- The learner's own view: "My credentials", the learner REST API and the MFE widget -----------

def linkedin_url(*, award_uuid, name, issued_at, expires_at=None, issuer_name=None) -> str:
    """
    The LinkedIn "Add to profile" link for one award: the public credential page is the
    certification URL and the award's uuid its id. ``issuer_name`` is the name in the signed
    credential when there is one; otherwise the configured issuer name is used.
    """
    issuer = issuer_name or issuance.configured_issuer()["name"]
    return linkedin.linkedin_add_to_profile_url(
        name=name, cert_url=links.credential_url(award_uuid), cert_id=str(award_uuid),
        issued_on=issued_at, expires_on=expires_at, organization_name=issuer,
    )


def learner_dashboard(user) -> LearnerDashboard:
    """
    Everything a learner sees of their credentials: the badges they hold, with share links
    (public page, JSON download, LinkedIn, their copies on badge platforms), and every credential
    and stack they are on with its progress, what is still missing (with the courses to take) and,
    for stacks, its levels and parts. Stacks in progress come first, the most advanced first;
    then single credentials in progress; then what is earned.
    """
    user_id = user_id_of(user)
    if isinstance(user, int):
        user = get_user_model().objects.get(pk=user_id)
    awards = learner_awards(user_id)
    progress = learner_progress(user_id)
    revoked = _revoked_awards(user_id)

    slugs = {a.credential_slug for a in awards} | {a.credential.slug for a in revoked}
    for row in progress:
        slugs |= _tree_slugs(row)
    credentials = {c.slug: c for c in Credential.objects.filter(slug__in=slugs).only(
        "uuid", "slug", "title", "description", "image", "org", "stack_kind", "criteria", "course_key")}
    levels = issuance.badge_levels()

    badges = _earned_badges(awards, credentials, levels)
    held = {a.credential_slug: a.uuid for a in awards}
    # The courses of what is missing: a course requirement's own, a required credential's course.
    course_keys = {_course_of(s, credentials) for row in progress for s in _all_missing(row)} - {None}
    platform = get_platform()
    course_names = platform.course_names(sorted(course_keys)) if course_keys else {}
    courses = {key: (course_names.get(key) or key, links.absolute_url(platform.course_url(key))) for key in course_keys}

    blocked = _revoked_slugs_blocked(revoked)
    measures = _measures(user_id, progress)
    measures.update({(slug, rules.CredentialEarned.kind): {"revoked": True} for slug in blocked})
    statuses = [_credential_status(row, credentials, held, courses, levels=levels, measures=measures)
                for row in progress if row.earned or row.credential_slug not in blocked]
    statuses.sort(key=lambda s: (s.earned, not s.is_stack, -s.fraction, s.title.casefold()))
    return LearnerDashboard(user_id=user_id, username=user.get_username(), badges_count=len(badges), badges=badges,
                            progress=statuses, my_credentials_url=links.my_credentials_url(),
                            revoked=[_revoked_badge(a, credentials, levels) for a in revoked],
                            sharing=sharing_choices(user_id))


def _revoked_awards(user_id):
    """The learner's revoked awards of credentials they do not hold now: the latest of each, newest first."""
    held = Award.objects.filter(user_id=user_id, current=True).values("credential_id")
    latest = {}
    for award in (Award.objects.filter(user_id=user_id, status=Award.Status.REVOKED)
                  .exclude(revocation_source=Award.RevocationSource.RETIREMENT)
                  .exclude(credential_id__in=held).select_related("credential").order_by("-revoked_at", "-pk")):
        latest.setdefault(award.credential_id, award)
    return list(latest.values())


def _revoked_slugs_blocked(revoked):
    """Credentials an operator revoked: their progress says nothing (they cannot be earned again)."""
    return {a.credential.slug for a in revoked if a.blocks_reaward}


def _revoked_badge(award, credentials, levels) -> RevokedBadge:
    """How "My credentials" shows a revoked award: why it was revoked and whether it can be earned again."""
    credential = credentials.get(award.credential.slug) or award.credential
    if award.revocation_source == Award.RevocationSource.CRITERIA:
        reason = _("Its requirements are no longer met.")
    elif award.revocation_reason and not award.revocation_reason.startswith("revoked by "):
        reason = award.revocation_reason  # the operator's own words (admin's revoke asks for them)
    else:
        reason = _("Revoked by the issuer.")
    return RevokedBadge(
        uuid=award.uuid, credential_slug=award.credential.slug, title=award.credential.title,
        image_url=issuance.badge_image_url(credential, levels), issued_at=award.issued_at,
        revoked_at=award.revoked_at, reason=reason, can_earn_again=not award.blocks_reaward,
    )


def sharing_choices(user) -> SharingChoices:
    """What the learner shows on their credentials' public pages (both off until they choose)."""
    choices = LearnerSharing.of(user_id_of(user))
    return SharingChoices(show_name=choices.show_name, show_grade=choices.show_grade)


def set_sharing_choices(user, show_name=None, show_grade=None) -> SharingChoices:
    """Change the learner's sharing choices (None: leave as it is); returns them as they now are."""
    user_id = user_id_of(user)
    values = {name: bool(value) for name, value in (("show_name", show_name), ("show_grade", show_grade))
              if value is not None}
    choices, _created = LearnerSharing.objects.get_or_create(user_id=user_id, defaults=values)
    if values and any(getattr(choices, name) != value for name, value in values.items()):
        for name, value in values.items():
            setattr(choices, name, value)
        choices.save()
    return SharingChoices(show_name=choices.show_name, show_grade=choices.show_grade)


def _measures(user_id, progress) -> dict:
    """
    (course key, kind) → where the learner stands on the grade and completion requirements still
    missing: {"percent": grade now} and {"done": blocks completed, "total": completable blocks}.
    """
    courses = {kind: set() for kind in (rules.CourseGrade.kind, rules.CourseCompletion.kind)}
    for row in progress:
        for status in _all_missing(row):
            if status.kind in courses and status.course_key:
                courses[status.kind].add(status.course_key)
    wanted = courses[rules.CourseGrade.kind] | courses[rules.CourseCompletion.kind]
    if not wanted:
        return {}
    measures = {}
    facts = LearnerFact.objects.filter(user_id=user_id, course_key__in=sorted(wanted),
                                       kind__in=(rules.GRADE, rules.COMPLETION)).values_list(
        "course_key", "kind", "value")
    totals = get_platform().completable_blocks(sorted(courses[rules.CourseCompletion.kind])) \
        if courses[rules.CourseCompletion.kind] else {}
    for course_key, kind, value in facts:
        course_key, value = str(course_key), value if isinstance(value, dict) else {}
        if kind == rules.GRADE and value.get("percent") is not None:
            measures[(course_key, rules.CourseGrade.kind)] = {"percent": round(float(value["percent"]) * 100, 9)}
        elif kind == rules.COMPLETION:
            measures[(course_key, rules.CourseCompletion.kind)] = {
                "done": int(value.get("completed_blocks") or 0), "total": totals.get(course_key) or 0}
    for course_key in courses[rules.CourseCompletion.kind]:  # nothing completed yet: 0 blocks done
        measures.setdefault((course_key, rules.CourseCompletion.kind),
                            {"done": 0, "total": totals.get(course_key) or 0})
    return measures


def _measured(status: RequirementStatus, measures) -> dict:
    """The MissingRequirement fields that say where the learner stands, in the requirement's own measure."""
    if status.kind == rules.CredentialEarned.kind:
        if status.met or not measures.get((status.credential_slug, status.kind)):
            return {}
        return {"progress_text": _("revoked: it cannot be earned again unless the issuer allows it")}
    measure = measures.get((status.course_key, status.kind))
    if measure is None or status.met:
        return {}
    if status.kind == rules.CourseGrade.kind:
        return {"current_percent": measure["percent"], "progress_text": _(
            "your grade %(grade)s %% — %(needed)s %% needed") % {
            "grade": requirement_words.number_text(math.floor(measure["percent"] * 10) / 10),
            "needed": requirement_words.number_text(status.min_percent or 0)}}
    total = measure["total"]
    if total <= 0:
        return {}
    done = min(measure["done"], total)
    needed = max(1, math.ceil(round(total * (status.min_percent or 0) / 100, 6)))
    return {"blocks_done": done, "blocks_needed": needed, "blocks_total": total,
            "progress_text": ngettext("%(done)d of %(needed)d block done", "%(done)d of %(needed)d blocks done",
                                      needed) % {"done": done, "needed": needed}}


def _tree_slugs(row: CredentialProgress) -> set:
    return {row.credential_slug}.union(*(_tree_slugs(child) for child in row.children))


def _all_missing(row: CredentialProgress):
    yield from row.missing
    for child in row.children:
        yield from _all_missing(child)


def _earned_badges(awards, credentials, levels) -> list[EarnedBadge]:
    """How "My credentials" shows each earned award, with its signed names and its badge platforms' links."""
    uuids = [a.uuid for a in awards]
    if not uuids:
        return []
    # Only the two names LinkedIn needs from each signed document, not the documents themselves.
    signed = {row["uuid"]: row for row in Award.objects.filter(uuid__in=uuids).values(
        "uuid", "hidden", "document__name", "document__issuer__name")}
    accounts = microcred_settings.PLATFORM_ACCOUNTS or {}
    platform_links = {}
    deliveries = (Delivery.objects.filter(award__uuid__in=uuids, action=Delivery.Action.ISSUE,
                                          state=Delivery.State.DELIVERED)
                  .exclude(external_id="").order_by("account")
                  .values_list("award__uuid", "account", "platform", "external_id"))
    for award_uuid, account, platform, external_id in deliveries:
        config = accounts.get(account) or {}
        platform = config.get("backend") or platform
        platform_links.setdefault(award_uuid, []).append(PlatformLink(
            account=account, platform=platform, label=backends.PLATFORM_LABELS.get(platform, platform),
            external_id=external_id, url=backends.platform_badge_url(platform, config, external_id),
        ))
    badges = []
    for award in awards:
        credential = credentials.get(award.credential_slug)
        names = signed.get(award.uuid) or {}
        badges.append(EarnedBadge(
            uuid=award.uuid, credential_slug=award.credential_slug, title=award.title,
            image_url=issuance.badge_image_url(credential, levels) if credential else None,
            issued_at=award.issued_at, expires_at=award.expires_at,
            public_url=links.credential_url(award.uuid),
            json_url=f"{links.credential_json_url(award.uuid)}?download=1",
            linkedin_url=None if names.get("hidden") else linkedin_url(
                award_uuid=award.uuid, name=names.get("document__name") or award.title, issued_at=award.issued_at,
                expires_at=award.expires_at, issuer_name=names.get("document__issuer__name")),
            platform_links=platform_links.get(award.uuid, []),
            hidden=bool(names.get("hidden")),
        ))
    return badges


def _whole_percent(fraction, earned=False) -> int:
    if earned:
        return 100
    # Rounded down, so that "almost" never reads as 100 %; rounded first, so 0.29 reads as 29.
    return max(0, min(100, math.floor(round(fraction * 100, 6))))


def _credential_status(row: CredentialProgress, credentials, held, courses, *, levels, measures) -> CredentialStatus:
    credential = credentials.get(row.credential_slug)
    return CredentialStatus(
        credential_slug=row.credential_slug, title=row.title,
        description=credential.description if credential else "",
        image_url=issuance.badge_image_url(credential, levels) if credential else None,
        earned=row.earned, fraction=row.fraction, percent=_whole_percent(row.fraction, row.earned),
        is_stack=row.is_stack, stack_kind=credential.stack_kind if credential else "",
        award_uuid=held.get(row.credential_slug),
        next_steps=[] if row.earned else _next_steps(row, credential, credentials, courses, measures),
        levels=_levels(row, credentials, measures),
        revoked=(row.credential_slug, rules.CredentialEarned.kind) in measures and not row.earned,
        children=[_credential_status(child, credentials, held, courses, levels=levels, measures=measures)
                  for child in row.children],
    )


def _levels(row: CredentialProgress, credentials, measures=None) -> list[StackLevel]:
    """For a vertical stack: the ladder up to it (each level requires the one below), lowest first."""
    def vertical(slug):
        credential = credentials.get(slug)
        return credential is not None and credential.stack_kind == Credential.StackKind.VERTICAL

    if not vertical(row.credential_slug):
        return []
    ladder, node, seen = [], row, set()
    while node is not None and node.credential_slug not in seen:
        seen.add(node.credential_slug)
        ladder.append(StackLevel(node.credential_slug, node.title, node.earned,
                                 _whole_percent(node.fraction, node.earned),
                                 revoked=not node.earned and (node.credential_slug, rules.CredentialEarned.kind)
                                 in (measures or {})))
        node = next((child for child in node.children if vertical(child.credential_slug)), None)
    return ladder[::-1] if len(ladder) > 1 else []


def _course_of(status: RequirementStatus, credentials):
    """The course a missing requirement sends the learner to: its own, or the required credential's."""
    if status.course_key:
        return status.course_key
    credential = credentials.get(status.credential_slug) if status.credential_slug else None
    return str(credential.course_key) if credential is not None and credential.course_key else None


def _missing_requirement(status: RequirementStatus, credentials, courses, measures) -> MissingRequirement:
    """A requirement the learner has not met yet, as they read it: its words, course, credential and progress."""
    course_key = _course_of(status, credentials)
    course_name, course_url = courses.get(course_key, (course_key, None)) if course_key else (None, None)
    credential_title = None
    if status.credential_slug:
        credential = credentials.get(status.credential_slug)
        credential_title = credential.title if credential is not None else status.credential_slug
    return MissingRequirement(
        path=status.path, kind=status.kind, text=_requirement_text(status, course_name, credential_title),
        fraction=status.fraction, percent=_whole_percent(status.fraction, status.met),
        course_key=course_key, course_name=course_name, course_url=course_url,
        credential_slug=status.credential_slug, credential_title=credential_title,
        min_percent=status.min_percent, mode=status.mode, **_measured(status, measures),
    )


def _requirement_text(status: RequirementStatus, course, credential) -> str:
    """
    A requirement as the learner reads it (reports label leaves with it too): its words
    (requirement_words) with the course and credential names given and the trusted issuer's name,
    and, for an external credential, where on their page the learner adds it.
    """
    data = {"type": status.kind, "course": status.course_key, "min_percent": status.min_percent, "mode": status.mode,
            "credential": status.credential_slug, "issuer": status.issuer, "achievement": status.achievement}
    try:  # the status holds the fields of the stored leaf it was read from, and only those
        leaf = rules.parse_criteria({key: value for key, value in data.items() if value is not None}, status.path)
    except rules.InvalidCriteria:
        return _("Meet the requirement at %(path)s") % {"path": status.path}
    issuers = {}
    if status.issuer:
        issuers = dict(TrustedIssuer.objects.filter(issuer=status.issuer).exclude(name="").values_list(
            "issuer", "name")[:1])
    words = requirement_words.text(leaf, {status.course_key: course}, {status.credential_slug: credential}, issuers)
    if status.kind == rules.ExternalCredentialHeld.kind:
        return _("%(requirement)s (add it under \"Credentials from other issuers\")") % {"requirement": words}
    return words


def _next_steps(row: CredentialProgress, credential, credentials, courses, measures) -> list[NextStep]:
    """
    What is still to do, following the criteria tree: every missing requirement of an all-of
    group, and for an any-of or at-least-N group one choice of how many more of which. When the
    criteria changed since the progress was stored (the leaves no longer match), the missing
    requirements are listed one by one.
    """
    statuses = {s.path: s for s in (*row.met, *row.missing)}
    try:
        tree = credential.requirement() if credential is not None else None
    except rules.InvalidCriteria:
        tree = None
    if tree is None or {leaf.path for leaf in tree.leaves()} != set(statuses):
        return [_leaf_step(s, credentials, courses, measures) for s in row.missing]

    def met(node):
        if isinstance(node, rules.Group):
            return sum(1 for child in node.children if met(child)) >= node.needed
        return statuses[node.path].met

    def steps(node):
        if met(node):
            return []
        if not isinstance(node, rules.Group):
            return [_leaf_step(statuses[node.path], credentials, courses, measures)]
        if node.kind == rules.ALL:
            return [step for child in node.children for step in steps(child)]
        return [_choice(node, met, steps)]

    return steps(tree)


def _choice(node, met, steps) -> NextStep:
    """The next step of a some-of group: the options not met yet, and how many more of them are needed."""
    already = sum(1 for child in node.children if met(child))
    needed = node.needed - already
    options = []
    for child in node.children:
        if met(child):
            continue
        child_steps = steps(child)
        if len(child_steps) == 1:
            options.append(child_steps[0])
        else:  # an all-of group offered as one option: all of its steps are needed
            options.append(NextStep(text=_("All of:"), needed=len(child_steps), options=child_steps))
    if needed >= len(options):  # no choice left: every remaining option is needed
        if len(options) == 1:
            return options[0]
        text = _("All of:")
    elif not already:
        text = ngettext("Any one of:", "Any %(count)d of:", needed) % {"count": needed}
    else:
        text = ngettext("One more of:", "%(count)d more of:", needed) % {"count": needed}
    return NextStep(text=text, needed=needed, options=options)


def _leaf_step(status, credentials, courses, measures) -> NextStep:
    requirement = _missing_requirement(status, credentials, courses, measures)
    return NextStep(text=requirement.text, needed=1, requirement=requirement)
