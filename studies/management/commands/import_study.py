"""manage.py import_study FILE [--name NEW]: recreate an exported study here, as a draft."""
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from config.exceptions import ApplicationError
from studies.services.study_files import study_import


class Command(BaseCommand):
    help = "Import a study file written by export_study (YAML or JSON). Its case sets must be imported first."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--name", help="Import under another name")
        parser.add_argument("--owner", help="Username recorded as the study's owner")

    def handle(self, *args, file, name, owner, **options):
        owner_user = None
        if owner:
            owner_user = get_user_model().objects.filter(username=owner).first()
            if owner_user is None:
                raise CommandError(f"No user named {owner!r}.")
        try:
            data = Path(file).read_bytes()
        except OSError as exc:
            raise CommandError(f"Cannot read {file}: {exc.strerror}") from None
        try:
            study = study_import(data=data, owner=owner_user, name=name)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(self.style.SUCCESS(f"Imported study '{study.name}' as a draft."))
