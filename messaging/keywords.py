"""What a customer's text asks for: the carriers' keywords (STOP, START, HELP and their synonyms) and the plain
words people use to ask us to stop ("please stop texting me", "take me off your list"). The FCC treats any
reasonable way of saying stop as a revocation, so the phrase matcher leans towards stopping, yet a question that
only contains the word ("what time do you stop selling?") is a message for the store, not a revocation.

Pure functions: no database."""

import re

STOP = "stop"
START = "start"
HELP = "help"
OTHER = "other"

STOP_KEYWORDS = frozenset(
    {"stop", "stopall", "stop all", "unsubscribe", "cancel", "end", "quit", "revoke", "opt out", "optout"}
)
START_KEYWORDS = frozenset({"start", "unstop", "yes", "subscribe", "resume"})
HELP_KEYWORDS = frozenset({"help", "info"})
YES = "yes"

# Words that do not change what a short message asks ("STOP please", "ok stop it", "Stop!! thanks").
_FILLER = frozenset(
    {"please", "pls", "plz", "now", "it", "ok", "okay", "thanks", "thank", "you", "thx", "just"}
)

# A plain-language request to stop. Each pattern is matched on the normalised words (lower case, no
# punctuation, "don't" written "dont").
_STOP_PHRASES = tuple(
    re.compile(pattern)
    for pattern in (
        # "stop texting me", "stop sending me these messages", "stop with the texts"
        r"\bstop(?: \w+){0,3} (?:texting|texts|text messages|sending|messaging|messages|msgs|contacting|spamming)\b",
        # "don't text me anymore", "do not contact me", "never message me again"
        r"\b(?:dont|do not|never) (?:text|message|msg|contact|sms)(?: me| this number)\b",
        r"\bremove me\b",
        r"\bremove (?:my|this) (?:number|phone)\b",
        r"\btake (?:me|my number|this number) off\b",
        r"\bunsubscribe\b",
        r"\bopt me out\b",
        r"\bno more (?:texts|messages|text messages|msgs|txts)\b",
        r"\bleave me alone\b",
        r"\bwrong number\b",
        r"\b(?:i )?(?:want|wanna|would like) to (?:stop|opt out|unsubscribe)\b",
    )
)
# "please don't remove me", "do not unsubscribe me": the opposite of a request to stop.
_NEGATED = re.compile(r"\b(?:dont|do not|never) (?:remove|unsubscribe|take me off|stop)\b")


def normalize(body: str) -> str:
    """Lower case, apostrophes dropped ("don't" -> "dont"), every other punctuation mark a space, one space."""
    text = (body or "").lower().replace("\u2019", "").replace("'", "").replace("`", "")
    text = re.sub(r"[^\w\s]|_", " ", text)
    return " ".join(text.split())


def _core(words: str) -> str:
    """The message without fillers: "ok STOP please" -> "stop"."""
    return " ".join(word for word in words.split() if word not in _FILLER)


def is_stop_request(body: str) -> bool:
    words = normalize(body)
    if not words:
        return False
    if words in STOP_KEYWORDS or _core(words) in STOP_KEYWORDS:
        return True
    if _NEGATED.search(words):
        return False
    return any(pattern.search(words) for pattern in _STOP_PHRASES)


def keyword_classify(body: str) -> str:
    """STOP, START, HELP or OTHER. Keywords are the whole message (trimmed, any case, punctuation ignored,
    polite fillers allowed); plain-language requests to stop are recognised anywhere in it."""
    words = normalize(body)
    core = _core(words)
    if is_stop_request(body):
        return STOP
    if words in START_KEYWORDS or core in START_KEYWORDS:
        return START
    if words in HELP_KEYWORDS or core in HELP_KEYWORDS:
        return HELP
    return OTHER


def is_yes(body: str) -> bool:
    words = normalize(body)
    return words == YES or _core(words) == YES
