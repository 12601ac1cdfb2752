"""
What checking the signature of an external credential costs as it grows in JSON objects: the
reason for MAX_EXTERNAL_CREDENTIAL_OBJECTS (docs/limits.md, ADR 0012).

Each size is an OB 3.0 credential of another issuer (tests/fakes/issuer_server.py's shape, a
did:key) with N extra result objects, signed, then verified as ``external.verify`` does
(``proof.verify_proof``: RDF canonicalization with pyld, then Ed25519). Baseline, same run: the
smallest size. One core.

    .venv/bin/python benchmarks/external_verify.py [--sizes 25,100,200,400,1000] [--json out.json]
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox.settings")

import django  # noqa: E402

django.setup()

from openedx_microcred import limits  # noqa: E402
from openedx_microcred.openbadges import did, proof  # noqa: E402
from tests.fakes.issuer_server import OtherIssuer  # noqa: E402


def objects(value):
    if isinstance(value, dict):
        return 1 + sum(objects(v) for v in value.values())
    if isinstance(value, list):
        return sum(objects(v) for v in value)
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="25,100,200,400,1000")
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "external_verify.json"))
    args = parser.parse_args()
    issuer = OtherIssuer()  # not started: only its key and document shape are used
    warm = issuer.sign(issuer.unsigned("ada@example.com", status=False))
    proof.verify_proof(warm, did.resolve_verification_method)  # load the contexts, as a running worker has them
    rows, baseline = [], None
    limit = limits.MAX_EXTERNAL_CREDENTIAL_OBJECTS
    print(f"{'objects':>8} {'bytes':>9} {'verify s':>9} {'vs smallest':>12}   (limit {limit})")
    for extra in (int(n) for n in args.sizes.split(",")):
        credential = issuer.unsigned("ada@example.com", status=False)
        credential["credentialSubject"]["result"] = [{"type": ["Result"], "value": str(k)} for k in range(extra)]
        signed = issuer.sign(credential)
        start = time.perf_counter()
        assert proof.verify_proof(signed, did.resolve_verification_method).valid
        seconds = time.perf_counter() - start
        baseline = baseline or seconds
        count = objects(signed)
        rows.append({"objects": count, "bytes": len(json.dumps(signed)), "seconds": seconds,
                     "vs_smallest": seconds / baseline})
        print(f"{count:>8} {rows[-1]['bytes']:>9} {seconds:>9.2f} {seconds / baseline:>11.1f}x")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"rows": rows, "limit": limits.MAX_EXTERNAL_CREDENTIAL_OBJECTS}, indent=2))
    print(f"written {args.json}")


if __name__ == "__main__":
    main()
