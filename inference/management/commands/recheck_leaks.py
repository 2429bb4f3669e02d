"""manage.py recheck_leaks [--study ID] [--batch-size N] [--dry-run]: persona-leak flags checked again."""
from django.core.management.base import BaseCommand, CommandError

from inference.services.leak_recheck import BATCH_SIZE, leaks_recheck
from studies.models import Study


class Command(BaseCommand):
    help = ("Run the current persona-leak detector over stored responses and update their leak flags and spans; "
            "reports how many changed.")

    def add_arguments(self, parser):
        parser.add_argument("--study", type=int, help="Only this study's responses (id); default: all")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE, dest="batch_size")
        parser.add_argument("--dry-run", action="store_true", dest="dry_run", help="Count, change nothing")

    def handle(self, *args, study=None, batch_size=BATCH_SIZE, dry_run=False, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        found = None
        if study is not None:
            found = Study.objects.filter(pk=study).first()
            if found is None:
                raise CommandError(f"No study with id {study}.")
        verbosity = options.get("verbosity", 1)

        def progress(counts):
            if verbosity > 1:
                self.stderr.write(f"checked {counts.checked:,}, changed {counts.changed:,}")

        result = leaks_recheck(study=found, batch_size=batch_size, dry_run=dry_run, progress=progress)
        verb = "would change" if dry_run else "changed"
        self.stdout.write(f"Checked {result.checked:,} response(s); {verb} {result.changed:,} "
                          f"({result.newly_flagged:,} newly flagged, {result.cleared:,} cleared).")
