"""
Signed Open Badges 3.0 credentials per second, and verifications per second, on one core.

It builds awards of one realistic microcredential (EU metadata, evidence, status entry, our
extension context) with the plugin's own document builder, each award with its own id, learner,
salt, dates and evidence, then signs them with eddsa-rdfc-2022 and verifies them, in one process
(one core). Measured in the same run, in interleaved rounds (the machine is shared: each figure
is the median of its rounds, each ratio the median of the rounds' ratios):

* ``sign`` / ``verify``: the product (``proof.sign``, ``proof.verify_proof``): the template path
  of ``openbadges/canonical.py`` once the credential's first award is signed;
* ``sign, first of its shape``: the first award of a credential (caches emptied before each):
  pyld's full path, plus building and checking the template;
* ``sign, full path``: the undefined-terms check and both canonical forms by ``jsonld.py`` (pyld,
  with type-scoped contexts processed once), what a document the templates cannot serve costs;
* ``sign, pyld as it was``: what signing cost before (pyld's own expand and normalize, untouched,
  for the undefined-terms check, the proof configuration and the document);
* the baseline: the bare Ed25519 signature and check of the same 64 bytes.

Figures are per CPU second of this process (``time.process_time``), which is what "per core"
means on a machine other processes share; wall-clock rates are printed beside them.

    .venv/bin/python benchmarks/signing.py [--count 400] [--rounds 5] [--json out.json]
"""

import argparse
import hashlib
import json
import os
import statistics
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
from pyld import jsonld as pyld_jsonld  # noqa: E402

from openedx_microcred.openbadges import canonical, did, document, jsonld, proof, status_list  # noqa: E402

ROOT_URL = "https://lms.example.org"


def sample_credential(key, n=0):
    """Award ``n`` of the sample microcredential: the same credential, the award's own values."""
    issued = datetime(2026, 11, 1, 12, tzinfo=timezone.utc) + timedelta(minutes=n)
    award_uuid = f"0b7e6a52-2222-4c3d-8e9f-{n:012d}"
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
        credential_id=f"{ROOT_URL}/microcred/credentials/{award_uuid}/",
        award_uuid=award_uuid,
        issuer=document.IssuerProfile(id=did.did_key(key.public_key()), name="DemoX University",
                                      url=ROOT_URL, country_code="NL"),
        achievement=info,
        recipient=document.Recipient(email=f"learner{n}@example.com", salt=document.new_salt()),
        valid_from=issued, valid_until=issued + timedelta(days=730),
        extension_context=document.extension_context_url(ROOT_URL),
        evidence=(document.EvidenceItem(
            narrative=f"Grade {60 + n % 40}% in Data Analysis with Python on 2026-10-30.",
            name="Data Analysis with Python"),),
        credential_status=status_list.status_entry(f"{ROOT_URL}/microcred/status/0", 4242 + n),
    )
    return document.build_credential(issued_credential)


def pyld_as_it_was_canonize(document):
    return pyld_jsonld.normalize(document, jsonld.processing_options(algorithm="URDNA2015",
                                                                     format="application/n-quads"))


def pyld_as_it_was_undefined(document):
    dropped = []
    pyld_jsonld.expand(document, jsonld.processing_options(), on_property_dropped=dropped.append)
    return dropped


def full_path_sign(unsigned, key, method, check=jsonld.undefined_terms, canonize=jsonld.canonize):
    """Signing without templates: a check and both canonical forms by pyld (``jsonld.py`` by default)."""
    if check(unsigned):
        raise ValueError("undefined terms")
    proof_options = {"type": proof.PROOF_TYPE, "created": proof.format_datetime(datetime.now(timezone.utc)),
                     "verificationMethod": method, "cryptosuite": proof.CRYPTOSUITE,
                     "proofPurpose": "assertionMethod", "@context": unsigned["@context"]}
    data = (hashlib.sha256(canonize(proof_options).encode()).digest()
            + hashlib.sha256(canonize(unsigned).encode()).digest())
    return key.sign(data)


def timed(items, func):
    """(per CPU second, per wall second) of ``func`` over ``items``."""
    wall, cpu = time.perf_counter(), time.process_time()
    for item in items:
        func(item)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    return len(items) / cpu, len(items) / wall


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=400, help="awards signed and verified per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "signing.json"))
    args = parser.parse_args()

    key = Ed25519PrivateKey.generate()
    public = key.public_key()
    method = did.did_key_verification_method(public)
    awards = [sample_credential(key, n) for n in range(args.count)]
    slow = awards[: max(10, args.count // 20)]  # the slow paths on fewer awards

    def resolve(vm):
        return did.resolve_verification_method(vm)

    signed = [proof.sign(unsigned, key, method) for unsigned in awards]  # also warms the template
    assert all(proof.verify_proof(credential, resolve).valid for credential in signed)
    message = proof.hash_data(awards[0], {k: v for k, v in signed[0]["proof"][0].items() if k != "proofValue"})
    signature = key.sign(message)
    bare_items = [message] * (args.count * 20)

    def first_of_shape(unsigned):
        canonical.clear_caches()
        proof.sign(unsigned, key, method)

    rounds = {name: [] for name in ("sign", "verify", "sign_first", "sign_full", "sign_pyld", "bare_sign",
                                    "bare_verify")}
    for _ in range(args.rounds):
        rounds["bare_sign"].append(timed(bare_items, key.sign))
        rounds["sign"].append(timed(awards, lambda unsigned: proof.sign(unsigned, key, method)))
        rounds["verify"].append(timed(signed, lambda credential: proof.verify_proof(credential, resolve)))
        rounds["bare_verify"].append(timed(bare_items, lambda m: public.verify(signature, m)))
        rounds["sign_full"].append(timed(slow, lambda unsigned: full_path_sign(unsigned, key, method)))
        rounds["sign_pyld"].append(timed(slow, lambda unsigned: full_path_sign(
            unsigned, key, method, pyld_as_it_was_undefined, pyld_as_it_was_canonize)))
        rounds["sign_first"].append(timed(slow, first_of_shape))
        proof.sign(awards[0], key, method)  # the template back for the next round

    def median(name, index=0):
        return statistics.median(r[index] for r in rounds[name])

    def ratio(name, bare):
        return statistics.median(b[0] / f[0] for f, b in zip(rounds[name], rounds[bare]))

    rows = [
        ("sign", "sign", "bare_sign"),
        ("verify", "verify", "bare_verify"),
        ("sign, first of its shape", "sign_first", "bare_sign"),
        ("sign, full path", "sign_full", "bare_sign"),
        ("sign, pyld as it was", "sign_pyld", "bare_sign"),
    ]
    print(f"{args.count} awards of one credential, {args.rounds} interleaved rounds, medians; per CPU second "
          f"(wall-clock in brackets)")
    print(f"{'operation':<26} {'credentials/s':>20} {'bare Ed25519/s':>22} {'ratio':>7}")
    results = {"count": args.count, "rounds": args.rounds}
    for label, name, bare in rows:
        full, full_wall, base, base_wall = median(name), median(name, 1), median(bare), median(bare, 1)
        print(f"{label:<26} {full:>9,.0f} [{full_wall:>8,.0f}] {base:>10,.0f} [{base_wall:>9,.0f}] "
              f"{ratio(name, bare):>6.0f}x")
        results[name] = {"per_cpu_second": full, "per_wall_second": full_wall,
                         "bare_ed25519_per_cpu_second": base, "ratio": ratio(name, bare)}
    speedup = statistics.median(f[0] / p[0] for f, p in zip(rounds["sign"], rounds["sign_pyld"]))
    print(f"sign vs pyld as it was: {speedup:.1f}x; canonicalizations: {canonical.cache_info()}")
    results["sign_vs_pyld"] = speedup
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2))
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
