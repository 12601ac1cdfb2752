"""Write every issued credential to a folder: backups, portability, audits."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from openedx_microcred import issuance
from openedx_microcred.models import Award


class Command(BaseCommand):
    """``microcred_export``: one file per award, replaced whole (never half-written); unsignable awards are skipped."""

    help = "Write every issued Open Badges 3.0 credential as DIR/<uuid>.json (issuing those not signed yet)."

    def add_arguments(self, parser):
        parser.add_argument("directory")
        parser.add_argument("--active-only", action="store_true", help="leave revoked awards out")

    def handle(self, *args, directory, active_only=False, **options):  # pylint: disable=arguments-differ  (by name)
        target = Path(directory)
        try:
            target.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"cannot create {directory}: {exc.strerror or exc}") from exc
        awards = Award.objects.order_by("pk")
        if active_only:
            awards = awards.filter(status=Award.Status.ACTIVE)
        written = 0
        for award_pk, award_uuid, stored in awards.values_list("pk", "uuid", "document").iterator(chunk_size=500):
            try:
                document = stored or issuance.issue_award(award_pk)
            except ValueError as exc:
                self.stderr.write(f"Skipped {award_uuid}: {exc}")
                continue
            path = target / f"{award_uuid}.json"
            tmp = path.with_suffix(".json.tmp")
            tmp.write_text(json.dumps(document, ensure_ascii=False, indent=2), encoding="utf-8")
            tmp.replace(path)  # never a half-written file under the final name
            written += 1
        self.stdout.write(f"Wrote {written} credential(s) to {target}")
