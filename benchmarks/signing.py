"""
Signed Open Badges 3.0 credentials per second, and verifications per second, on one core.

It builds a realistic microcredential (EU metadata, evidence, status entry, our extension context)
with the plugin's own document builder, then signs it with eddsa-rdfc-2022 (RDF canonicalization
with pyld, Ed25519 with cryptography) and verifies it, N times each, in one process (one core).
The baseline, measured in the same run, is the bare Ed25519 signature and check of the same
canonical bytes: the ratio shows what JSON-LD canonicalization costs on top of the cryptography.

    .venv/bin/python benchmarks/signing.py [--count 200] [--json out.json]
"""

import argparse
import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox.settings")

import django  # noqa: E402

django.setup()

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from openedx_microcred.openbadges import did, document, jsonld, proof, status_list  # noqa: E402

ROOT_URL = "https://lms.example.org"


def sample_credential(key):
    issued = datetime(2026, 11, 1, 12, tzinfo=timezone.utc)
    info = document.AchievementInfo(
        id="urn:uuid:5f1c9d0e-1111-4a2b-9c3d-000000000001", name="Data Analysis with Python",
        description="Cleans, explores and visualises data with pandas.",
        criteria_narrative="All of:\n\n- Grade of at least 70% in Data Analysis with Python\n- Complete 80%",
        learning_outcomes=("Clean tabular data", "Explore data with pandas", "Present findings"),
        workload_hours=60, ects_credits=Decimal("2"), eqf_level=5, assessment_type="project-work",
        participation_form="online", quality_assurance="Reviewed by the faculty board", identity_verified=True,
        human_code="data-analysis",
    )
    issued_credential = document.IssuedCredential(
        credential_id=f"{ROOT_URL}/microcred/credentials/0b7e6a52-2222-4c3d-8e9f-000000000002/",
        award_uuid="0b7e6a52-2222-4c3d-8e9f-000000000002",
        issuer=document.IssuerProfile(id=did.did_key(key.public_key()), name="DemoX University",
                                      url=ROOT_URL, country_code="NL"),
        achievement=info,
        recipient=document.Recipient(email="ada@example.com", salt=document.new_salt()),
        valid_from=issued, valid_until=issued + timedelta(days=730),
        extension_context=document.extension_context_url(ROOT_URL),
        evidence=(document.EvidenceItem(narrative="Grade 82% in Data Analysis with Python on 2026-10-30.",
                                        name="Data Analysis with Python"),),
        credential_status=status_list.status_entry(f"{ROOT_URL}/microcred/status/0", 4242),
    )
    return document.build_credential(issued_credential)


def rate(count, func):
    start = time.perf_counter()
    for _ in range(count):
        func()
    elapsed = time.perf_counter() - start
    return count / elapsed


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "signing.json"))
    args = parser.parse_args()

    key = Ed25519PrivateKey.generate()
    method = did.did_key_verification_method(key.public_key())
    unsigned = sample_credential(key)
    signed = proof.sign(unsigned, key, method)
    public = key.public_key()

    def resolve(vm):
        return did.resolve_verification_method(vm)

    assert proof.verify_proof(signed, resolve).valid
    message = proof.hash_data(unsigned, {k: v for k, v in signed["proof"][0].items() if k != "proofValue"})
    signature = key.sign(message)
    jsonld.canonize(unsigned)  # warm the context cache, as a long-running worker has it

    rows = {
        "sign": (rate(args.count, lambda: proof.sign(unsigned, key, method)),
                 rate(args.count * 20, lambda: key.sign(message))),
        "verify": (rate(args.count, lambda: proof.verify_proof(signed, resolve)),
                   rate(args.count * 20, lambda: public.verify(signature, message))),
    }
    print(f"{'operation':<9} {'credentials/s':>14} {'bare Ed25519/s':>15} {'ratio':>8}")
    results = {}
    for name, (full, bare) in rows.items():
        print(f"{name:<9} {full:>14.1f} {bare:>15.0f} {bare / full:>7.0f}x")
        results[name] = {"per_second": full, "bare_ed25519_per_second": bare, "ratio": bare / full}
    results["count"] = args.count
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2))
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
