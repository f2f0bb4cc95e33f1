"""The shape every report and audit record takes (titled tables of text cells, some rows flagged), and its CSV
and PDF renderings, so the page, the spreadsheet and the paper copy always hold the same figures."""

import csv
import io
from dataclasses import dataclass, field

from django.http import HttpResponse
from django.utils import timezone

from dispensary.spreadsheets import spreadsheet_safe


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    flags: list[list[str]] = field(default_factory=list)  # per row: why it is highlighted (empty: it is not)
    links: list[str] = field(
        default_factory=list
    )  # per row: where its first cell leads on the page ("": nowhere)
    numeric: frozenset[int] = frozenset()  # indexes of right-aligned columns
    empty_text: str = "Nothing recorded."
    note: str = ""

    def add(self, cells: list, flags: list[str] | None = None, link: str = "") -> None:
        self.rows.append(["" if cell is None else str(cell) for cell in cells])
        self.flags.append(list(flags or []))
        self.links.append(link)

    @property
    def flagged_count(self) -> int:
        return sum(1 for flags in self.flags if flags)

    def html_rows(self) -> list[tuple[list[tuple[str, bool]], list[str], str]]:
        """For templates: each row's (cell, is numeric) pairs, its flags and its link."""
        return [
            ([(cell, index in self.numeric) for index, cell in enumerate(row)], flags, link)
            for row, flags, link in zip(self.rows, self.flags, self.links, strict=True)
        ]


@dataclass
class Document:
    title: str
    facts: list[tuple[str, str]] = field(default_factory=list)  # the filters and who/where, shown on top
    tables: list[Table] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)


def _download(response: HttpResponse, filename: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_response(document: Document, filename: str) -> HttpResponse:
    """One table: a plain CSV with its header. Several (an audit record): each table as a titled block."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    writer = csv.writer(response)
    single = len(document.tables) == 1
    for table in document.tables:
        if not single:
            writer.writerow([table.title])
        writer.writerow([*table.columns, "flags"])
        for row, flags in zip(table.rows, table.flags, strict=True):
            writer.writerow([spreadsheet_safe(cell) for cell in row] + ["; ".join(flags)])
        if not single:
            writer.writerow([])
    return _download(response, filename)


def pdf_bytes(document: Document) -> bytes:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import landscape, letter
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import inch
    from reportlab.platypus import LongTable, Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus.flowables import KeepTogether

    styles = getSampleStyleSheet()
    cell = styles["BodyText"].clone("cell", fontSize=7, leading=8.5)
    head = cell.clone("head", fontName="Helvetica-Bold")
    flowables = [Paragraph(_escape(document.title), styles["Title"])]
    facts = "<br/>".join(f"<b>{_escape(label)}</b>: {_escape(value)}" for label, value in document.facts)
    printed = timezone.localtime().strftime("%Y-%m-%d %H:%M %Z")
    flowables.append(Paragraph(f"{facts}<br/><b>Printed</b>: {printed}", styles["Normal"]))
    for notice in document.notices:
        flowables.append(Paragraph(f"<b>Notice</b>: {_escape(notice)}", styles["Normal"]))
    width = landscape(letter)[0] - inch
    for table in document.tables:
        flowables.append(Spacer(1, 10))
        title = Paragraph(_escape(table.title), styles["Heading3"])
        if not table.rows:
            flowables.append(KeepTogether([title, Paragraph(_escape(table.empty_text), styles["Normal"])]))
            continue
        columns = [*table.columns, "Flags"]
        data = [[Paragraph(_escape(name), head) for name in columns]]
        for row, flags in zip(table.rows, table.flags, strict=True):
            data.append([Paragraph(_escape(value), cell) for value in [*row, "; ".join(flags)]])
        grid = LongTable(data, colWidths=[width / len(columns)] * len(columns), repeatRows=1)
        style = [
            ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e8ece9")),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ]
        style += [
            ("BACKGROUND", (0, index), (-1, index), colors.HexColor("#fde2e2"))
            for index, flags in enumerate(table.flags, start=1)
            if flags
        ]
        grid.setStyle(TableStyle(style))
        flowables += [title, grid]
        if table.note:
            flowables.append(Paragraph(_escape(table.note), styles["Italic"]))
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=landscape(letter),
        leftMargin=inch / 2,
        rightMargin=inch / 2,
        topMargin=inch / 2,
        bottomMargin=inch / 2,
        title=document.title,
    ).build(flowables)
    return buffer.getvalue()


def pdf_response(document: Document, filename: str) -> HttpResponse:
    return _download(HttpResponse(pdf_bytes(document), content_type="application/pdf"), filename)


def _escape(text: str) -> str:
    # reportlab paragraphs take a small XML markup: names and notes must not be read as tags.
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
