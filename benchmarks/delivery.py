"""
Pushing awards to the local Credly server through the delivery outbox, with injected failures.

N awards (10,000 by default) each get an issue delivery; the local Credly server (real sockets)
answers 10 % of badge creations with 500 and 5 % with 429 + Retry-After. One worker process works
the outbox off, time-skipping the backoff waits (the clock is not what is measured). It prints
delivered, duplicates upstream (must be 0), lost (must be 0), wall time and deliveries/s, next to
a baseline measured in the same run: the same number of awards with no failures injected.

    .venv/bin/python benchmarks/delivery.py [--awards 10000] [--json out.json]
"""

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sandbox.settings")
os.environ["SANDBOX_SQLITE"] = os.path.join(tempfile.mkdtemp(prefix="microcred-delivery-"), "bench.sqlite3")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from openedx_microcred import delivery  # noqa: E402
from openedx_microcred.models import Award, Credential, Delivery  # noqa: E402
from tests.fakes.credly_server import CredlyServer  # noqa: E402


def run(count, error_rate, throttle_rate):
    Delivery.objects.all().delete()
    Award.objects.all().delete()
    Credential.objects.all().delete()
    get_user_model().objects.all().delete()
    with CredlyServer(per_page=100) as credly:
        settings.MICROCRED_PLATFORM_ACCOUNTS = {"credly": {
            "backend": "credly", "base_url": credly.base_url, "organization_id": credly.organization_id,
            "token": credly.token, "timeout": (2, 5), "organizations": ["Bench"]}}
        settings.MICROCRED_DELIVERY = {"rate_per_second": 0, "max_attempts": 12}
        credential = Credential.objects.create(
            slug="bench", title="Bench", org="Bench", state="active",
            criteria={"type": "course_passed", "course": "course-v1:Bench+C+1"},
            platform_targets=[{"account": "credly", "template_id": credly.default_template_id}])
        users = get_user_model().objects.bulk_create(
            [get_user_model()(username=f"l{i}", email=f"l{i}@example.com", first_name="L", last_name=str(i))
             for i in range(count)])
        now = timezone.now()
        awards = Award.objects.bulk_create([Award(user=u, credential=credential, issued_at=now) for u in users])
        Delivery.objects.bulk_create([
            Delivery(award=a, account="credly", platform="credly", target=credential.platform_targets[0],
                     next_attempt_at=now) for a in awards])
        credly.add_random_faults(error_rate, throttle_rate, retry_after="30", seed=7)
        attempts = 0
        start = time.perf_counter()
        while True:
            # The clock jumps past every backoff: what is measured is the work, not the waiting.
            Delivery.objects.filter(state="retrying").update(next_attempt_at=timezone.now())
            due = list(Delivery.objects.filter(state__in=("pending", "retrying")).values_list("pk", flat=True))
            if not due:
                break
            for pk in due:
                delivery.deliver(pk)
                attempts += 1
        elapsed = time.perf_counter() - start
        states = Counter(Delivery.objects.values_list("state", flat=True))
        per_recipient = Counter(b["recipient_email"] for b in credly.badges.values() if b["state"] != "revoked")
        delivered_ids = set(Delivery.objects.filter(state="delivered").values_list("external_id", flat=True))
        return {
            "awards": count, "delivered": states.get("delivered", 0), "failed": states.get("failed", 0),
            "duplicates_upstream": sum(n - 1 for n in per_recipient.values() if n > 1),
            "lost": count - len(per_recipient),
            "unrecorded_upstream": len(set(credly.badges) - delivered_ids),
            "attempts": attempts, "wall_s": elapsed, "deliveries_per_s": states.get("delivered", 0) / elapsed,
            "http_requests": len(credly.requests),
        }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--awards", type=int, default=10000)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "delivery.json"))
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    baseline = run(args.awards, 0.0, 0.0)
    faulty = run(args.awards, 0.10, 0.05)
    print(f"{'run':<22} {'delivered':>9} {'failed':>6} {'dup up':>6} {'lost':>5} {'attempts':>8} "
          f"{'wall s':>7} {'deliv/s':>8} {'vs base':>8}")
    for name, row in (("no failures (base)", baseline), ("10% 5xx + 5% 429", faulty)):
        ratio = row["deliveries_per_s"] / baseline["deliveries_per_s"]
        print(f"{name:<22} {row['delivered']:>9} {row['failed']:>6} {row['duplicates_upstream']:>6} "
              f"{row['lost']:>5} {row['attempts']:>8} {row['wall_s']:>7.1f} {row['deliveries_per_s']:>8.1f} "
              f"{ratio:>7.2f}x")
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"baseline": baseline, "with_failures": faulty}, indent=2))
    print(f"written {args.json}")
    ok = all(r["duplicates_upstream"] == 0 and r["lost"] == 0 and r["unrecorded_upstream"] == 0
             for r in (baseline, faulty))
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
