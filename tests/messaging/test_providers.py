"""SMS backends (console, file, a Twilio-compatible HTTP API) and email through Django's mail."""

import logging
from urllib.parse import parse_qs

import httpx
import pytest
from django.core import mail

from messaging.providers import (
    ConsoleSmsBackend,
    FileSmsBackend,
    ProviderAnswerLost,
    ProviderRejected,
    ProviderUnavailable,
    TwilioSmsBackend,
    email_send,
    sms_backend,
)


def twilio(handler, **overrides):
    settings = {
        "api_url": "https://sms.test",
        "account_sid": "AC123",
        "auth_token": "secret-token",
        "from_number": "+14155550000",
        "timeout": 2.5,
        "transport": httpx.MockTransport(handler),
    }
    return TwilioSmsBackend(**{**settings, **overrides})


def test_backend_is_chosen_by_setting(settings, tmp_path):
    settings.SMS_BACKEND = "console"
    assert isinstance(sms_backend(), ConsoleSmsBackend)
    settings.SMS_BACKEND = "file"
    settings.SMS_OUTBOX_FILE = tmp_path / "sms" / "outbox.log"
    backend = sms_backend()
    assert isinstance(backend, FileSmsBackend) and backend.path == tmp_path / "sms" / "outbox.log"
    settings.SMS_BACKEND = "twilio"
    assert isinstance(sms_backend(), TwilioSmsBackend)
    settings.SMS_BACKEND = "messaging.providers.ConsoleSmsBackend"
    assert isinstance(sms_backend(), ConsoleSmsBackend)


def test_console_backend_logs_the_text(caplog):
    with caplog.at_level(logging.INFO, logger="messaging.providers"):
        result = ConsoleSmsBackend().send(to="+14155550134", body="Your receipt")
    assert result.provider == "console" and result.message_id.startswith("console-")
    assert "to +14155550134" in caplog.text and "Your receipt" in caplog.text


def test_file_backend_appends_to_the_outbox(tmp_path):
    path = tmp_path / "var" / "sms" / "outbox.log"
    backend = FileSmsBackend(path)
    first = backend.send(to="+14155550134", body="One\ntwo")
    backend.send(to="+14155550135", body="Three")
    text = path.read_text()
    assert text.count("--- file-") == 2
    assert f"--- {first.message_id} " in text
    assert "to +14155550134 (7 characters)\nOne\ntwo\n" in text
    assert text.endswith("to +14155550135 (5 characters)\nThree\n")


def test_twilio_backend_posts_the_message_with_basic_auth_and_a_timeout():
    seen = {}

    def handler(request):
        seen["url"] = str(request.url)
        seen["auth"] = request.headers["authorization"]
        seen["form"] = parse_qs(request.content.decode())
        seen["timeout"] = request.extensions["timeout"]
        return httpx.Response(201, json={"sid": "SM0001", "status": "queued"})

    result = twilio(handler).send(to="+14155550134", body="Total $99.02")
    assert (result.provider, result.message_id) == ("twilio", "SM0001")
    assert seen["url"] == "https://sms.test/2010-04-01/Accounts/AC123/Messages.json"
    assert seen["auth"] == "Basic " + __import__("base64").b64encode(b"AC123:secret-token").decode()
    assert seen["form"] == {"To": ["+14155550134"], "From": ["+14155550000"], "Body": ["Total $99.02"]}
    assert seen["timeout"]["read"] == 2.5


def test_twilio_client_errors_are_rejections():
    backend = twilio(
        lambda request: httpx.Response(400, json={"code": 21211, "message": "Invalid 'To' Phone Number"})
    )
    with pytest.raises(ProviderRejected, match="Invalid 'To' Phone Number"):
        backend.send(to="+15555555555", body="x")


@pytest.mark.parametrize("status", [429, 500, 503])
def test_twilio_throttling_and_server_errors_are_retried(status):
    with pytest.raises(ProviderUnavailable, match=str(status)):
        twilio(lambda request: httpx.Response(status, text="busy")).send(to="+14155550134", body="x")


def test_twilio_timeouts_are_retried_and_unconfigured_is_unavailable():
    def handler(request):
        raise httpx.ReadTimeout("timed out", request=request)

    with pytest.raises(ProviderUnavailable, match="ReadTimeout"):
        twilio(handler).send(to="+14155550134", body="x")
    with pytest.raises(ProviderUnavailable, match="not configured"):
        twilio(lambda request: httpx.Response(201, json={"sid": "x"}), auth_token="").send(to="+1", body="x")


@pytest.mark.parametrize(
    ("error", "lost"),
    [
        (httpx.ConnectError, False),  # nothing reached the provider: safe to send again
        (httpx.ConnectTimeout, False),
        (httpx.ReadTimeout, True),  # the request went out, the answer did not come back
        (httpx.RemoteProtocolError, True),
    ],
)
def test_a_lost_answer_is_told_apart_from_an_unreachable_provider(error, lost):
    def handler(request):
        raise error("failed", request=request)

    with pytest.raises(ProviderUnavailable) as raised:
        twilio(handler).send(to="+14155550134", body="x")
    assert isinstance(raised.value, ProviderAnswerLost) is lost


def test_email_goes_through_django_mail(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.DEFAULT_FROM_EMAIL = "Green Leaf <receipts@greenleaf.test>"
    result = email_send(to="ada@example.com", subject="Your receipt", body="Total $99.02")
    [message] = mail.outbox
    assert (message.to, message.subject, message.body, message.from_email) == (
        ["ada@example.com"],
        "Your receipt",
        "Total $99.02",
        "Green Leaf <receipts@greenleaf.test>",
    )
    assert result.provider == "email:locmem"
    assert result.message_id == message.extra_headers["Message-ID"]
    assert result.message_id.endswith("@greenleaf.test>")
