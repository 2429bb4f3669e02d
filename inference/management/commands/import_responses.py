from django.core.management.base import BaseCommand, CommandError

from config.exceptions import ApplicationError
from inference.importers import responses_import
from inference.management.jobcli import study_arg


class Command(BaseCommand):
    help = "Import pre-generated responses from a JSON Lines file (.jsonl or .jsonl.gz; docs/responses-jsonl.md)."

    def add_arguments(self, parser):
        parser.add_argument("file", help="Path to the .jsonl or .jsonl.gz file")
        parser.add_argument("--study", required=True, help="Study id or name")
        parser.add_argument("--model", help="The model every row must name (one of the study's model specs)")
        parser.add_argument("--dry-run", action="store_true", help="Validate and report; write nothing.")

    def handle(self, *args, **options):
        study = study_arg(options["study"])
        try:
            result = responses_import(study=study, file=options["file"], model_name=options["model"],
                                      dry_run=options["dry_run"])
        except FileNotFoundError as exc:
            raise CommandError(f"No such file: {exc.filename}") from exc
        except ApplicationError as exc:
            for error in exc.extra.get("errors", []):
                self.stderr.write(error["text"])
            raise CommandError(exc.message) from exc
        for error in result.errors:  # a failed dry run
            self.stderr.write(str(error))
        if not result.ok:
            raise CommandError(result.message)
        self.stdout.write(result.message)
