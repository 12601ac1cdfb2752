"""
A corpus of real credentials, as the plugin issues them, for the canonicalization tests.

Each entry builds award number ``n`` of one credential with the plugin's own document builder:
the same credential (same shape) for every ``n``, with what differs from one award to the next
different (award id, learner, salt, dates, grades in the evidence). Entries cover what the demo
and the tests issue: a plain microcredential, one with the European (EU) elements, stacks (with
levels), a credential with a status list entry and the status list itself (revocation), unicode
titles, with and without expiry, did:key and did:web issuers, and 1EdTech's test vector.
"""

from __future__ import annotations

import copy
import dataclasses
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from openedx_microcred.openbadges import document as ob
from openedx_microcred.openbadges import status_list

from .openbadges import samples

VECTOR_DIR = Path(__file__).resolve().parent / "data" / "ob3-test-vector"
VECTOR = json.loads((VECTOR_DIR / "obv3p0-eddsa-rdfc-2022.json").read_text())

DID_KEY_ISSUER = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"


def _award(issued: ob.IssuedCredential, n: int, issuer: str | None) -> ob.IssuedCredential:
    """Award ``n`` of the credential ``issued`` describes: the per-award values changed."""
    award_uuid = f"3f2c8a9e-51b4-4d0e-9a77-{n:012d}"
    valid_from = issued.valid_from + timedelta(days=n, seconds=n)
    changes = {
        "award_uuid": award_uuid,
        "credential_id": f"{samples.LMS}/microcred/credentials/{award_uuid}/",
        "recipient": ob.Recipient(email=f"learner{n}@example.org", salt=f"{n:016x}"),
        "valid_from": valid_from,
        "valid_until": valid_from + timedelta(days=730) if issued.valid_until else None,
        "evidence": tuple(
            dataclasses.replace(item, narrative=f"{item.narrative} (award {n}: grade {60 + n % 40}%)")
            for item in issued.evidence
        ),
    }
    if issuer:
        changes["issuer"] = dataclasses.replace(issued.issuer, id=issuer)
    if issued.credential_status:
        changes["credential_status"] = status_list.status_entry(
            f"{samples.LMS}/microcred/status/revocation/1", 1000 + n)
    return dataclasses.replace(issued, **changes)


def _plain() -> ob.IssuedCredential:
    """No EU elements, no expiry, no status entry: the least a credential has."""
    achievement = ob.AchievementInfo(
        id=samples.achievement_url("intro"), name="Introduction to Python",
        description="The first steps.", criteria_narrative="Pass Python Foundations.",
    )
    return samples.issued(achievement, valid_until=None, credential_status=None, grade_results=())


def _unicode() -> ob.IssuedCredential:
    """Titles and text in several scripts, with quotes, backslashes, tabs and line breaks."""
    achievement = samples.micro_achievement(
        name="Données et 数据分析 — «Python» für Anfänger 🐍",
        description='Ein "Kurs" mit \\Backslash\\,\tTab und\nZeilen\r\numbruch; Ελληνικά, עברית, हिन्दी.',
        learning_outcomes=["Écrire du code lisible", "読みやすいコードを書く", "Line\u2028separator \u0085 NEL"],
    )
    return samples.issued(achievement)


def _vertical_stack() -> ob.IssuedCredential:
    """A level of a vertical stack, itself counting towards a higher level."""
    achievement = samples.stack_achievement(
        stack_kind="vertical", stacks_containing=[("urn:uuid:0f0e0d0c-0b0a-4909-8807-060504030201", "Python Expert")],
        ects_credits=Decimal("12.5"), eqf_level=6,
    )
    return dataclasses.replace(samples.stack_issued(), achievement=achievement)


def _status_list_credential(n: int, issuer: str | None = None) -> dict:
    revoked = {2051, 1000 + n, 7 * n}
    return status_list.status_list_credential(
        f"{samples.LMS}/microcred/status/revocation/1", issuer or samples.ISSUER_DID,
        status_list.encode(revoked), f"2026-03-{1 + n % 28:02d}T00:00:00Z",
    )


def _vector(n: int, issuer: str | None = None) -> dict:
    """1EdTech's test-vector credential, the ``n``-th variant of it (ids and dates), issued by ``issuer``."""
    credential = copy.deepcopy(VECTOR["credential"])
    if n:
        credential["id"] = f"http://example.com/credentials/{3527 + n}"
        credential["credentialSubject"]["id"] = f"did:example:learner{n}"
        credential["validFrom"] = f"2010-01-{1 + n % 28:02d}T00:00:00Z"
    if issuer:
        credential["issuer"]["id"] = issuer
    return credential


_ISSUED = {
    "plain": _plain,
    "eu-elements": samples.issued,
    "stack": samples.stack_issued,
    "vertical-stack-level": _vertical_stack,
    "unicode-titles": _unicode,
    "no-expiry": lambda: samples.issued(valid_until=None),
}


def _built(make):
    """function(n, issuer=None): award ``n`` of the credential ``make()`` returns, as a document."""
    return lambda n, issuer=None: ob.build_credential(_award(make(), n, issuer))


#: name -> function(n, issuer=None) building award ``n`` (``issuer``: an issuer id to put in)
CORPUS = {
    **{name: _built(make) for name, make in _ISSUED.items()},
    "did-key-issuer": lambda n, issuer=None: ob.build_credential(_award(samples.issued(), n, issuer or DID_KEY_ISSUER)),
    "status-list": _status_list_credential,
    "1edtech-test-vector": _vector,
}
