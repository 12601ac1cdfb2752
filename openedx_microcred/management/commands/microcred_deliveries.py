"""List deliveries to badge platforms and retry them from a shell."""

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from openedx_microcred import delivery
from openedx_microcred.models import Delivery


class Command(BaseCommand):
    """
    ``microcred_deliveries``: ``list`` (with the totals by state), ``retry`` (failed ones by default),
    ``sweep``, or ``check`` the platform targets (non-zero exit on a problem).
    """

    help = ("List deliveries to badge platforms (by state, account), retry failed ones, run the sweep, or check "
            "every active credential's platform targets against the platforms (templates, groups, badges).")

    def add_arguments(self, parser):
        parser.add_argument("action", choices=("list", "retry", "sweep", "check"))
        parser.add_argument("--state", choices=[s for s, _ in Delivery.State.choices],
                            help="only deliveries in this state (retry: default failed)")
        parser.add_argument("--account", help="only this platform account")
        parser.add_argument("--id", type=int, action="append", dest="ids", help="only these delivery ids")
        parser.add_argument("--limit", type=int, default=50)

    # pylint: disable-next=arguments-differ  (Django passes the options by name)
    def handle(self, *args, action, state=None, account=None, ids=None, limit=50, **options):
        if action == "sweep":
            self.stdout.write(f"Queued {delivery.sweep()} due deliveries.")
            return
        if action == "check":
            problems = delivery.check_targets(account=account)
            for slug, target_account, problem in problems:
                self.stdout.write(f"{slug} → {target_account}: {problem}")
            if problems:
                raise CommandError(f"{len(problems)} problem(s) with platform targets")
            self.stdout.write("Every active credential's platform targets check out.")
            return
        rows = Delivery.objects.select_related("award").order_by("-modified")
        if account:
            rows = rows.filter(account=account)
        if ids:
            rows = rows.filter(pk__in=ids)
        if action == "retry":
            rows = rows.filter(state=state or Delivery.State.FAILED)
            if not rows.exists():
                raise CommandError("no deliveries match; nothing retried")
            self.stdout.write(f"Queued {delivery.retry_now(list(rows))} deliveries again.")
            return
        if state:
            rows = rows.filter(state=state)
        for row in rows[:limit]:
            self.stdout.write(f"{row.pk:>8} {row.action:<6} {row.account:<16} {row.state:<10} attempts={row.attempts} "
                              f"award={row.award.uuid} external={row.external_id or '-'} "
                              f"next={row.next_attempt_at:%Y-%m-%d %H:%M:%S} {row.last_error[:100]}")
        totals = dict.fromkeys((s for s, _ in Delivery.State.choices), 0)
        totals.update(Delivery.objects.order_by().values_list("state").annotate(n=Count("pk")))
        self.stdout.write(" ".join(f"{s}={n}" for s, n in totals.items()))
