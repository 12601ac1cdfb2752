"""
A credential's criteria as a CEL expression, out and back in (openedx_microcred/cel.py,
docs/catalog-format.md "Criteria as CEL").

    manage.py microcred_cel export python-stack            # prints the CEL expression
    manage.py microcred_cel import python-stack stack.cel  # replaces the criteria ("-" reads stdin)
    manage.py microcred_cel import python-stack stack.cel --dry-run

An import is validated as every criteria change is (the rules, references, cycles, organizations):
a CommandError lists what is wrong and nothing is written.
"""

import sys
from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from openedx_microcred import cel
from openedx_microcred.catalog import save_credential
from openedx_microcred.models import Credential


class Command(BaseCommand):
    """``microcred_cel``: ``export`` prints a credential's criteria as CEL, ``import`` replaces them (validated)."""

    help = "Export a credential's criteria as a CEL expression, or import one as its criteria."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        export = sub.add_parser("export", help="Print the credential's criteria as CEL.")
        export.add_argument("slug")
        load = sub.add_parser("import", help="Replace the credential's criteria with a CEL expression.")
        load.add_argument("slug")
        load.add_argument("file", help="A file holding the expression, or - for standard input.")
        load.add_argument("--dry-run", action="store_true", help="Validate and print the criteria; write nothing.")

    def handle(self, *args, action, slug, **options):  # pylint: disable=arguments-differ  (options come by name)
        credential = Credential.objects.filter(slug=slug).first()
        if credential is None:
            raise CommandError(f"no credential with slug {slug!r}")
        if action == "export":
            self.stdout.write(cel.to_cel(credential.requirement()))
            return
        text = self._read(options["file"])
        try:
            credential.criteria = cel.from_cel(text)
        except ValidationError as exc:
            raise CommandError("\n".join(exc.messages)) from exc
        if options["dry_run"]:
            self.stdout.write(f"{slug}: valid; criteria would be {credential.criteria}")
            return
        try:
            save_credential(credential)
        except ValidationError as exc:
            raise CommandError("\n".join(f"{slug}: {m}" for m in exc.messages)) from exc
        self.stdout.write(f"{slug}: criteria replaced from CEL")

    @staticmethod
    def _read(name):
        """
        The CEL text of a file or of stdin (``-``), read no further than the expression's limit allows;
        CommandError if it cannot be read or is not UTF-8.
        """
        limit = cel.MAX_CEL_CHARS * 4 + 1  # bytes: the character limit is checked on the text
        try:
            if name == "-":
                data = sys.stdin.buffer.read(limit)
            else:
                with Path(name).open("rb") as file:
                    data = file.read(limit)
        except OSError as exc:
            raise CommandError(f"cannot read {name}: {exc.strerror or exc}") from exc
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise CommandError(f"{name} is not UTF-8 text") from exc
