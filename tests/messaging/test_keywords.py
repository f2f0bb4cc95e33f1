"""What a customer's text asks for: the carriers' keywords in any case and punctuation, plain-language requests
to stop, and messages that only contain the word "stop" in another sense."""

import pytest

from messaging.keywords import HELP, OTHER, START, STOP, is_stop_request, is_yes, keyword_classify, normalize


@pytest.mark.parametrize(
    "body",
    [
        "STOP",
        " stop ",
        "Stop.",
        "STOP!!!",
        "stopall",
        "Stop all",
        "UNSUBSCRIBE",
        "cancel",
        "End",
        "quit",
        "Revoke",
        "opt out",
        "Opt-out",
        "OPTOUT",
        "stop please",
        "Please STOP",
        "ok stop it, thanks",
    ],
)
def test_stop_keywords(body):
    assert keyword_classify(body) == STOP


@pytest.mark.parametrize(
    "body",
    [
        "please stop texting me",
        "Stop sending me these messages",
        "don't text me anymore",
        "Don’t text me anymore",
        "do not contact me",
        "remove me",
        "Please remove my number from your list",
        "no more messages",
        "No more texts please!",
        "leave me alone",
        "take me off your list",
        "Take me off this list",
        "unsubscribe me",
        "How do I unsubscribe?",
        "I want to opt out",
        "wrong number",
        "stop with the texts already",
    ],
)
def test_plain_language_requests_to_stop(body):
    assert is_stop_request(body)
    assert keyword_classify(body) == STOP


@pytest.mark.parametrize(
    "body",
    [
        "what time do you stop selling",
        "What time do you stop selling today?",
        "Is there a bus stop near the store?",
        "Don't stop the deals coming!",
        "please don't remove me",
        "I'll stop by later to pick up my order",
        "Can I cancel my order from yesterday?",
        "when does the sale end",
        "thanks, see you soon",
        "",
        "   ",
    ],
)
def test_messages_that_are_not_requests_to_stop(body):
    assert not is_stop_request(body)
    assert keyword_classify(body) == OTHER


@pytest.mark.parametrize("body", ["START", "start", "Unstop", "YES", "yes!", "Yes please", "subscribe"])
def test_start_keywords(body):
    assert keyword_classify(body) == START


@pytest.mark.parametrize("body", ["HELP", "help?", "Info", "info please"])
def test_help_keywords(body):
    assert keyword_classify(body) == HELP


def test_yes_and_normalisation():
    assert (is_yes("Yes!"), is_yes("YES please"), is_yes("yesterday"), is_yes("start")) == (
        True,
        True,
        False,
        False,
    )
    assert normalize("  Don’t   TEXT me!!  ") == "dont text me"
