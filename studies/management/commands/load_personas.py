"""manage.py load_personas [--all] [--update]: the shipped persona library, loaded idempotently."""
from django.core.management.base import BaseCommand

from studies.services.personas import persona_library_load


class Command(BaseCommand):
    help = ("Load the default persona library (studies/data/personas.yaml): the published design, plus the "
            "extras with --all. Existing personas are left as they are unless --update.")

    def add_arguments(self, parser):
        parser.add_argument("--all", action="store_true", help="Also load the extra personas a study can add")
        parser.add_argument("--update", action="store_true",
                            help="Edit personas that differ from the library back to it (new versions if used)")

    def handle(self, *args, all: bool, update: bool, **options):
        result = persona_library_load(include_extras=all, update=update)
        for label, slugs in (("created", result.created), ("updated", result.updated),
                             ("already loaded", result.unchanged),
                             ("edited here, left as they are (use --update)", result.differing)):
            if slugs:
                self.stdout.write(f"{label}: {', '.join(slugs)}")
        self.stdout.write(self.style.SUCCESS(
            f"Persona library: {len(result.created)} created, {len(result.updated)} updated, "
            f"{len(result.unchanged) + len(result.differing)} already there."
        ))
