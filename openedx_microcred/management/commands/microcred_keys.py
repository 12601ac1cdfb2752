"""Manage the issuer's signing keys: create the first one, rotate, list. Never prints a private key."""

from django.core.management.base import BaseCommand, CommandError

from openedx_microcred import keys
from openedx_microcred.models import IssuerKey


class Command(BaseCommand):
    """``microcred_keys``: ``generate`` (``--if-missing`` for init jobs), ``rotate`` or ``list`` the signing keys."""

    help = "Create (generate), rotate or list the issuer's Ed25519 signing keys."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=("generate", "rotate", "list"))
        parser.add_argument("--if-missing", action="store_true",
                            help="with generate: do nothing when a key exists (for init jobs)")

    def handle(self, *args, action, if_missing=False, **options):  # pylint: disable=arguments-differ  (by name)
        if action == "list":
            for issuer_key in IssuerKey.objects.order_by("-current", "-created"):
                state = "current" if issuer_key.current else f"retired {issuer_key.retired_at:%Y-%m-%d %H:%M}"
                self.stdout.write(f"{issuer_key.key_id}  {issuer_key.public_key_multibase}  {state}")
            return
        if action == "generate" and if_missing and IssuerKey.objects.filter(current=True).exists():
            self.stdout.write("A signing key exists already; nothing to do.")
            return
        try:
            created = keys.generate_key(rotate=action == "rotate")
        except keys.SigningKeyError as exc:
            raise CommandError(str(exc)) from exc
        verb = "Rotated to" if action == "rotate" else "Created"
        self.stdout.write(f"{verb} signing key {created.key_id} (public {created.public_key_multibase}); "
                          "the private key is stored encrypted and is not shown.")
