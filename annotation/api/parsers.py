"""The rating API's JSON parser: reads at most the size limit and checks nesting before decoding."""
import io

from rest_framework.parsers import FormParser, JSONParser, MultiPartParser

from ..request_limits import MAX_BODY_BYTES, json_body_check


class BoundedJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read(MAX_BODY_BYTES + 1) if stream is not None else b""
        json_body_check(raw)
        return super().parse(io.BytesIO(raw), media_type, parser_context)


RATING_API_PARSERS = [BoundedJSONParser, FormParser, MultiPartParser]
