"""Pre-generated responses into a study: validator (rows -> checked rows and every RowError), maker
(rows -> Response rows), and the service that strings them together with the studies' reader."""
from .responses import ResponseImportResult, responses_import

__all__ = ["ResponseImportResult", "responses_import"]
