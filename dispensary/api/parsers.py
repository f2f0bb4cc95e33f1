"""The API's JSON parser: DRF's, with the platform's input rules (dispensary.inputs.json_parse): nesting at most
JSON_MAX_DEPTH levels and no NUL or control characters in any string, answered 400 in the error body."""

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

from dispensary.inputs import InputRejected, json_parse


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        body = stream.read(settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1) if stream is not None else b""
        if len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:
            raise ParseError(f"The body is larger than {settings.DATA_UPLOAD_MAX_MEMORY_SIZE:,} bytes.")
        try:
            return json_parse(body or b"null")
        except InputRejected as error:
            raise ParseError(error.message) from None
