"""
Queue again the work whose Celery task was lost: what the two beat entries do, from a shell.

    manage.py lms microcred_sweep                 # evaluations pending longer than MICROCRED_PENDING_EVALUATION_AFTER
    manage.py lms microcred_sweep --older-than 0  # every pending evaluation now (after a broker outage)
"""

from django.core.management.base import BaseCommand

from openedx_microcred import catalog, delivery, facts, issuance


class Command(BaseCommand):
    """``microcred_sweep``: every sweep the beat schedule runs, once, with what each queued."""

    help = ("Queue again the evaluations and deliveries whose task was lost (broker down, worker killed, "
            "database unreachable): learners with facts not yet evaluated, the learners of newly published "
            "credentials, deliveries that are due, awards left unsigned.")

    def add_arguments(self, parser):
        parser.add_argument("--older-than", type=float, default=None, metavar="SECONDS",
                            help="evaluations, publishing's fan-outs and unsigned awards waiting longer than this "
                                 "(default: MICROCRED_PENDING_EVALUATION_AFTER, 600)")

    def handle(self, *args, older_than=None, **options):
        evaluations = facts.sweep_pending_evaluations(older_than=older_than)
        fan_outs = catalog.sweep_learner_fan_outs(older_than=older_than)
        deliveries = delivery.sweep()
        signatures = issuance.sweep_unsigned(older_than=older_than)
        self.stdout.write(f"Queued {evaluations} evaluations and {deliveries} deliveries.")
        self.stdout.write(f"Resumed the evaluation of the learners of {fan_outs} published credentials.")
        self.stdout.write(f"Queued the signing of {signatures} awards left unsigned.")
