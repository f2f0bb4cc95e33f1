"""Idempotency-Key for API writes: the first answer is stored under (caller, endpoint, key), and a retry
gets it back instead of a second write.

The key row is inserted before the work, in the same transaction: the unique constraint decides between
concurrent retries (the second waits for the first to commit, then replays it), and a write that fails
rolls its key back with it, so the caller may retry once the problem is fixed."""

import functools
import hashlib
import json
import re

from django.core.files.uploadedfile import UploadedFile
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from rest_framework.response import Response

from dispensary.api.principals import principal_key
from dispensary.errors import ApplicationError, ValidationFailed
from dispensary.models import IdempotencyKey

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[!-~]{1,255}")  # visible ASCII, as the schema says


class IdempotencyKeyReused(ApplicationError):
    code = "idempotency_key_reused"
    status = 422


def _request_hash(request) -> str:
    data = request.data
    if hasattr(data, "lists"):  # a QueryDict from a form body
        data = {name: [_fingerprint(value) for value in values] for name, values in data.lists()}
    canonical = json.dumps(data, sort_keys=True, cls=DjangoJSONEncoder, default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _fingerprint(value):
    """Uploaded files count by their content, not their name: another file under the same name is another
    request."""
    if isinstance(value, UploadedFile):
        digest = hashlib.sha256()
        for chunk in value.chunks():
            digest.update(chunk)
        value.seek(0)
        return {"file": value.name, "sha256": digest.hexdigest()}
    return value


def idempotent(method):
    """Decorates an API view's write method (post, patch...)."""

    @functools.wraps(method)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return method(view, request, *args, **kwargs)
        if not KEY_PATTERN.fullmatch(key):
            raise ValidationFailed(
                f"The {HEADER} header must be 1 to 255 visible ASCII characters.",
                details={HEADER: ["1 to 255 visible ASCII characters."]},
                code="invalid_idempotency_key",
            )
        identity = {
            "principal": principal_key(request),
            "endpoint": f"{request.method} {request.path}",
            "key": key,
        }
        request_hash = _request_hash(request)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    record = IdempotencyKey.objects.create(**identity, request_hash=request_hash)
            except IntegrityError:
                record = IdempotencyKey.objects.get(**identity)
                if record.request_hash != request_hash:
                    raise IdempotencyKeyReused(
                        f"This {HEADER} was already used with a different request.", details={HEADER: key}
                    ) from None
                response = Response(record.response_body, status=record.response_status)
                response["Idempotent-Replayed"] = "true"
                return response
            response = method(view, request, *args, **kwargs)
            if response.status_code >= 400:
                # Errors are not remembered: the caller fixes the request and retries with the same key.
                record.delete()
                return response
            record.response_status = response.status_code
            record.response_body = response.data
            record.save(update_fields=["response_status", "response_body"])
        return response

    return wrapper
