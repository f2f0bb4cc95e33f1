"""CSV downloads that are safe to open in a spreadsheet: a cell that would run as a formula is kept as text
(names and notes come from outside: customers, suppliers, staff)."""

import csv
import re

from django.http import HttpResponse

NUMBER = re.compile(r"[+-]?[0-9][0-9 .,]*")  # signed quantities and E.164 phones stay as they are


def spreadsheet_safe(value):
    """`value`, or for text a spreadsheet would run as a formula (=, +, -, @ ...) the same text marked as text."""
    if (
        isinstance(value, str)
        and value[:1] in ("=", "+", "-", "@", "\t", "\r")
        and not NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def csv_response(filename: str, header: list[str], rows) -> HttpResponse:
    """One table as a CSV download, every cell made spreadsheet-safe."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    writer = csv.writer(response)
    writer.writerow(header)
    writer.writerows([spreadsheet_safe(cell) for cell in row] for row in rows)
    return response
