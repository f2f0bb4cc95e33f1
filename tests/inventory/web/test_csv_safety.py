"""Recall exports are opened in spreadsheets: cells must never run as formulas."""


def test_csv_cells_that_a_spreadsheet_would_run_are_kept_as_text():
    from dispensary.spreadsheets import spreadsheet_safe as _safe_cell

    assert _safe_cell('=HYPERLINK("http://x")') == '\'=HYPERLINK("http://x")'
    assert _safe_cell("+1 415") == "+1 415"
    assert _safe_cell("+14155550134") == "+14155550134"
    assert _safe_cell("-2.5") == "-2.5"
    assert _safe_cell("-2+3") == "'-2+3"
    assert _safe_cell("+cmd|' /C calc'!A0") == "'+cmd|' /C calc'!A0"
    assert _safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert _safe_cell("Ana Lima") == "Ana Lima"
    assert _safe_cell(3) == 3
