"""What check_limits and check_delivery share: a JSON request read from a file or standard input ("-") and
parsed, every problem a CommandError naming the file."""

import json
import sys
from pathlib import Path

from django.core.management.base import CommandError

from compliance.rules import RulesInputError


def json_request_read(name: str, stdin, parse):
    """`parse(data)` of the JSON in file `name`; `stdin` (None: the process's) when `name` is "-"."""
    try:
        text = (stdin or sys.stdin).read() if name == "-" else Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise CommandError(f"Cannot read {name}: {error}") from error
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(f"{name} is not valid JSON: {error}") from error
    try:
        return parse(data)
    except RulesInputError as error:
        problems = "; ".join(f"{field}: {' '.join(messages)}" for field, messages in error.details.items())
        raise CommandError(f"{name}: {problems}") from error
