"""manage.py import_cases FILE --set NAME [--new-version] [--dry-run]: case_set_import from the shell."""
import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from config.exceptions import ApplicationError
from studies.services.case_sets import case_set_import

MAX_PRINTED_ERRORS = 200


class Command(BaseCommand):
    help = "Import a CSV/JSON/JSONL (optionally .gz) file of cases into a case set (see docs/case-set-format.md)."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--set", dest="name", required=True, help="Case set name")
        parser.add_argument("--new-version", action="store_true",
                            help="Create a new version of the set from this file (replaces conflicting cases)")
        parser.add_argument("--dry-run", action="store_true", help="Check the file and report; write nothing")
        parser.add_argument("--description", default="")
        parser.add_argument("--format", choices=["csv", "json", "jsonl"], help="Override the file-name extension")
        parser.add_argument("--owner", help="Username recorded as the set's owner")
        parser.add_argument("--triage-scale", default="ESI",
                            help="'ESI' (default) or the set's own ordered triage scale as JSON "
                                 "(docs/case-set-format.md)")
        parser.add_argument("--json", dest="as_json", action="store_true", help="Print the result as JSON")

    def handle(self, *args, file, name, new_version, dry_run, description, format, owner, as_json, triage_scale,
               **options):
        owner_user = None
        if owner:
            owner_user = get_user_model().objects.filter(username=owner).first()
            if owner_user is None:
                raise CommandError(f"No user named {owner!r}.")
        try:
            result = case_set_import(file=file, name=name, owner=owner_user, new_version=new_version,
                                     dry_run=dry_run, description=description, format=format,
                                     triage_scale=triage_scale)
        except FileNotFoundError:
            raise CommandError(f"No such file: {file}") from None
        except ApplicationError as exc:
            self._report(exc.extra or {"message": exc.message, "errors": []}, as_json)
            raise CommandError(exc.message) from None
        self._report(result.as_dict(), as_json)
        if not result.ok:
            raise CommandError(result.message)

    def _report(self, data: dict, as_json: bool) -> None:
        if as_json:
            self.stdout.write(_dumps(data))
            return
        errors = data.get("errors", [])
        for error in errors[:MAX_PRINTED_ERRORS]:
            self.stderr.write(error["text"])
        if data.get("error_count", len(errors)) > MAX_PRINTED_ERRORS:
            self.stderr.write(f"... and {data['error_count'] - MAX_PRINTED_ERRORS:,} more errors")
        if data.get("ok"):
            self.stdout.write(self.style.SUCCESS(data["message"]))


def _dumps(data: dict) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False, default=str)
