"""Where texts and emails go. SMS backends are chosen by SMS_BACKEND: "console" (logged), "file" (appended to
SMS_OUTBOX_FILE, for the embedded default and tests) and "twilio" (a Twilio-compatible HTTP API); email goes
through Django's mail with EMAIL_BACKEND (console in development, SMTP or any django-anymail backend in
production).

A provider raises ProviderRejected when the message can never go as given (a bad number, a refused address) and
ProviderUnavailable when trying again later may work (timeouts, 429, 5xx): the outbox retries the latter."""

import logging
import smtplib
import threading
import uuid
from dataclasses import dataclass
from email.utils import make_msgid, parseaddr
from pathlib import Path

import httpx
from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.utils import timezone
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class ProviderError(Exception):
    pass


class ProviderRejected(ProviderError):
    """The provider refused this message; sending it again would fail the same way."""


class ProviderUnavailable(ProviderError):
    """The provider could not be reached or asked us to wait; a later attempt may succeed."""


class ProviderAnswerLost(ProviderUnavailable):
    """The request went out but its answer never came back (a read timeout, a dropped connection): the
    provider may have sent the message. Sending it again may send it twice, unless the provider honours the
    idempotency key (messaging.sms_status.sms_send_recover asks it again with the same key)."""


# How a lost answer starts in the message's error, so that it can be told from a refusal later.
ANSWER_LOST = "SMS provider's answer lost: the text may have been sent"


@dataclass(frozen=True)
class SendResult:
    provider: str
    message_id: str


class ConsoleSmsBackend:
    """Logs each text (the embedded default): nothing leaves the machine."""

    name = "console"

    def send(self, *, to: str, body: str, **options) -> SendResult:
        message_id = f"console-{uuid.uuid4().hex[:16]}"
        logger.info("SMS %s to %s:\n%s", message_id, to, body)
        return SendResult(self.name, message_id)


class FileSmsBackend:
    """Appends each text to one outbox file, so a developer (or a test) can read what was sent."""

    name = "file"
    _lock = threading.Lock()

    def __init__(self, path: Path | str | None = None):
        self.path = Path(path or settings.SMS_OUTBOX_FILE)

    def send(self, *, to: str, body: str, **options) -> SendResult:
        message_id = f"file-{uuid.uuid4().hex[:16]}"
        entry = f"--- {message_id} {timezone.now().isoformat()} to {to} ({len(body)} characters)\n{body.rstrip()}\n"
        try:
            with self._lock:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with self.path.open("a", encoding="utf-8") as outbox:
                    outbox.write(entry)
        except OSError as error:
            raise ProviderUnavailable(f"Cannot write the SMS outbox {self.path}: {error}") from error
        return SendResult(self.name, message_id)


class TwilioSmsBackend:
    """Twilio's Messages API (and the compatible APIs of other providers): POST form data To, From, Body to
    {SMS_API_URL}/2010-04-01/Accounts/{sid}/Messages.json with HTTP Basic auth; the answer carries the sid."""

    name = "twilio"
    default_url = "https://api.twilio.com"

    def __init__(
        self,
        *,
        api_url: str | None = None,
        account_sid: str | None = None,
        auth_token: str | None = None,
        from_number: str | None = None,
        timeout: float | None = None,
        transport: httpx.BaseTransport | None = None,
    ):
        self.api_url = (api_url or settings.SMS_API_URL or self.default_url).rstrip("/")
        self.account_sid = account_sid if account_sid is not None else settings.SMS_ACCOUNT_SID
        self.auth_token = auth_token if auth_token is not None else settings.SMS_AUTH_TOKEN
        self.from_number = from_number if from_number is not None else settings.SMS_FROM_NUMBER
        self.timeout = timeout if timeout is not None else settings.SMS_TIMEOUT_SECONDS
        self.transport = transport

    def send(
        self,
        *,
        to: str,
        body: str,
        from_number: str | None = None,
        idempotency_key: str | None = None,
        status_callback: str | None = None,
    ) -> SendResult:
        if not (self.account_sid and self.auth_token and self.from_number):
            raise ProviderUnavailable(
                "SMS is not configured: set SMS_ACCOUNT_SID, SMS_AUTH_TOKEN, SMS_FROM_NUMBER."
            )
        url = f"{self.api_url}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        try:
            with httpx.Client(timeout=self.timeout, transport=self.transport) as client:
                data = {"To": to, "From": from_number or self.from_number, "Body": body}
                if status_callback:
                    data["StatusCallback"] = status_callback
                response = client.post(
                    url,
                    data=data,
                    headers={"I-Twilio-Idempotency-Token": idempotency_key} if idempotency_key else None,
                    auth=(self.account_sid, self.auth_token),
                )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as error:
            # Nothing reached the provider: trying again cannot send twice.
            raise ProviderUnavailable(
                f"SMS provider unreachable: {error.__class__.__name__}: {error}"
            ) from error
        except httpx.HTTPError as error:
            raise ProviderAnswerLost(f"{ANSWER_LOST}: {error.__class__.__name__}: {error}") from error
        if response.status_code == 429 or response.status_code >= 500:
            raise ProviderUnavailable(f"SMS provider answered {response.status_code}: {response.text[:300]}")
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if response.status_code >= 400:
            message = answer.get("message") if isinstance(answer, dict) else None
            raise ProviderRejected(
                f"SMS provider refused ({response.status_code}): {message or response.text[:300]}"
            )
        message_id = answer.get("sid", "") if isinstance(answer, dict) else ""
        if not message_id:
            raise ProviderUnavailable(f"SMS provider answered {response.status_code} without a message sid.")
        return SendResult(self.name, str(message_id))


SMS_BACKENDS = {"console": ConsoleSmsBackend, "file": FileSmsBackend, "twilio": TwilioSmsBackend}


def sms_backend():
    """The backend named by SMS_BACKEND (or a dotted path to a class with the same `send`)."""
    name = settings.SMS_BACKEND
    backend = SMS_BACKENDS.get(name) or import_string(name)
    return backend()


def sms_send(*, to: str, body: str, **options) -> SendResult:
    """Options: from_number, idempotency_key (the message's key), status_callback (the URL for its statuses)."""
    return sms_backend().send(to=to, body=body, **options)


def email_domain() -> str:
    return parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "localhost"


def email_send(
    *,
    to: str,
    subject: str,
    body: str,
    message_id: str | None = None,
    html_body: str = "",
    headers: dict[str, str] | None = None,
    from_email: str | None = None,
    metadata: dict[str, str] | None = None,
) -> SendResult:
    """One plain-text email through Django's mail (EMAIL_BACKEND). The message id is the Message-ID header;
    a caller that may send the same email again after a lost answer passes a fixed one, so that mailboxes
    take the second copy for the same message. With a django-anymail backend, `metadata` travels with the
    email to the provider and comes back in its tracking events, and the provider's own message id (the one
    its events carry) is returned instead of the Message-ID."""
    message_id = message_id or make_msgid(domain=email_domain())
    message = EmailMultiAlternatives(
        subject=subject,
        body=body,
        from_email=from_email or settings.DEFAULT_FROM_EMAIL,
        to=[to],
        headers={**(headers or {}), "Message-ID": message_id},
    )
    if html_body:
        message.attach_alternative(html_body, "text/html")
    if metadata:
        message.metadata = metadata  # read by anymail's backends only
    try:
        sent = message.send(fail_silently=False)
    except smtplib.SMTPRecipientsRefused as error:
        raise ProviderRejected(f"The mail server refused {to}.") from error
    except (smtplib.SMTPException, OSError) as error:
        raise ProviderUnavailable(f"Mail server error: {error.__class__.__name__}: {error}") from error
    if not sent:
        raise ProviderUnavailable("The mail backend sent nothing.")
    parts = settings.EMAIL_BACKEND.split(".")
    backend = parts[-2] if len(parts) > 1 else parts[0]
    anymail_status = getattr(message, "anymail_status", None)
    provider_id = getattr(anymail_status, "message_id", None)
    if isinstance(provider_id, str) and provider_id:
        return SendResult(f"email:{backend}", provider_id)
    return SendResult(f"email:{backend}", message_id)
