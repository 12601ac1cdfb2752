"""Verify an Open Badges 3.0 credential file this issuer signed."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from openedx_microcred import api
from openedx_microcred.limits import JSONLimitExceeded, loads_bounded


class Command(BaseCommand):
    """``microcred_verify``: prints each check's outcome, and fails (non-zero exit) unless the credential is valid."""

    help = "Verify a credential JSON file: signature, revocation status and validity period."

    # call_command(..., stdin=io.StringIO(...)) reads from it instead of sys.stdin.
    stealth_options = ("stdin",)

    def add_arguments(self, parser):
        parser.add_argument("file", help="the credential JSON file, or - for standard input")

    def handle(self, *args, file, **options):  # pylint: disable=arguments-differ  (Django passes options by name)
        try:
            text = (options.get("stdin") or sys.stdin).read() if file == "-" else Path(file).read_text(encoding="utf-8")
        except OSError as exc:
            raise CommandError(f"cannot read {file}: {exc.strerror or exc}") from exc
        try:
            document = loads_bounded(text)
        except JSONLimitExceeded as exc:
            raise CommandError(f"{file} cannot be read: {exc}") from exc
        except ValueError as exc:
            raise CommandError(f"{file} is not JSON: {exc}") from exc
        if not isinstance(document, dict):
            raise CommandError(f"{file} is not a credential (a JSON object)")
        result = api.verify_credential(document)
        for check, outcome in result.checks.items():
            self.stdout.write(f"  {check}: {outcome}")
        if not result.valid:
            raise CommandError(f"NOT VALID: {result.failed}: {result.reason}")
        self.stdout.write(self.style.SUCCESS(f"VALID: {document.get('name', '')} ({document.get('id', '')})"))
