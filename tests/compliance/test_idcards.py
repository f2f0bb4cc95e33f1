"""AAMVA samples: the layout of the DL/ID Card Design Standard (versions 1, 8, 9, 10), with made-up people."""

import datetime as dt

import pytest

from compliance.idcards import UnreadableId, id_check, id_number_hash, id_parse

CALIFORNIA_V8 = (
    "@\n\x1e\rANSI 636014080102DL00410278ZC03190008DLDAQD1234562\nDCSSAMPLE\nDDEN\nDACJANE\nDDFN\nDADMARIE\n"
    "DDGN\nDCAC\nDCBNONE\nDCDNONE\nDBD08312023\nDBB08311977\nDBA08312029\nDBC2\nDAU064 IN\nDAYBRO\n"
    "DAG2570 24TH STREET\nDAIANYTOWN\nDAJCA\nDAK958220000  \nDCF00/00/0000NNNAN/ANFD\nDCGUSA\nDDAF\nDDB08292017\r"
)
MICHIGAN_ID_V10 = (
    "@\n\x1e\rANSI 636032100102ID00410250ZM02910012IDDAQS 123 456 789 012\nDCSKOWALSKI\nDACPIOTR\nDADNONE\n"
    "DBD03152024\nDBB11302004\nDBA11302028\nDBC1\nDAG1 MAIN ST\nDAIDETROIT\nDAJMI\nDAK482160000\nDCGUSA\r"
)
FLORIDA_V1 = (
    "@\n\x1e\rANSI 6360100102DL00390187\nDLDAQF123456789012\nDAAJOHNSON,MARY,ANN\nDAG100 OCEAN DR\nDAIMIAMI\n"
    "DAJFL\nDAK33139\nDBA20300101\nDBB19800215\nDBCF\nDBD20220101\r"
)
# A keyboard-wedge scanner that dropped every separator.
COLORADO_NO_SEPARATORS = (
    "@ANSI 636020090102DL00410252ZC02930028DLDAQ123456789DCSDOEDACJOHNDADQUINCYDBD01012020DBB07041990"
    "DBA07042028DBC1DAJCODCGUSA"
)


def test_california_version_8():
    doc = id_parse(CALIFORNIA_V8)
    assert (doc.first_name, doc.middle_name, doc.last_name) == ("Jane", "Marie", "Sample")
    assert doc.full_name == "Jane Marie Sample"
    assert doc.date_of_birth == dt.date(1977, 8, 31)
    assert doc.expires_on == dt.date(2029, 8, 31)
    assert doc.issued_on == dt.date(2023, 8, 31)
    assert (doc.id_number, doc.issuing_state, doc.document_type, doc.aamva_version) == (
        "D1234562",
        "CA",
        "DL",
        8,
    )


def test_michigan_state_id_version_10():
    doc = id_parse(MICHIGAN_ID_V10)
    assert (doc.first_name, doc.middle_name, doc.last_name) == ("Piotr", "", "Kowalski")
    assert doc.date_of_birth == dt.date(2004, 11, 30)
    assert doc.document_type == "ID"
    assert doc.issuing_state == "MI"
    assert doc.id_number == "S 123 456 789 012"


def test_version_1_full_name_and_year_first_dates():
    doc = id_parse(FLORIDA_V1)
    assert (doc.first_name, doc.middle_name, doc.last_name) == ("Mary", "Ann", "Johnson")
    assert doc.date_of_birth == dt.date(1980, 2, 15)
    assert doc.expires_on == dt.date(2030, 1, 1)
    assert doc.issuing_state == "FL"


def test_scan_without_separators():
    doc = id_parse(COLORADO_NO_SEPARATORS)
    assert (doc.first_name, doc.middle_name, doc.last_name) == ("John", "Quincy", "Doe")
    assert doc.date_of_birth == dt.date(1990, 7, 4)
    assert (doc.id_number, doc.issuing_state) == ("123456789", "CO")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "Nothing was scanned"),
        ("4155550134", "not the barcode of a driver licence"),
        ("1A4FF0100000022000000123", "not the barcode of a driver licence"),
        (CALIFORNIA_V8.replace("DAQD1234562", "DAQ"), "ID number"),
        (CALIFORNIA_V8.replace("DBB08311977\n", ""), "date of birth could not be read"),
        (CALIFORNIA_V8.replace("DBB08311977", "DBB1977"), "date of birth on the ID cannot be read"),
        (CALIFORNIA_V8.replace("DBB08311977", "DBB13452077"), "date of birth on the ID is not a date"),
        (CALIFORNIA_V8.replace("DBA08312029\n", ""), "expiry date could not be read"),
        (CALIFORNIA_V8.replace("DAJCA", "DAJXX"), "issuing state"),
    ],
)
def test_unreadable_scans_say_what_is_wrong(text, message):
    with pytest.raises(UnreadableId, match=message):
        id_parse(text)


def test_age_is_counted_on_the_given_local_date():
    born = dt.date(2005, 3, 1)
    assert not id_check(
        date_of_birth=born, expires_on=None, today=dt.date(2026, 2, 28), minimum_age=21
    ).passed
    check = id_check(date_of_birth=born, expires_on=None, today=dt.date(2026, 3, 1), minimum_age=21)
    assert check.passed and check.age == 21
    under = id_check(date_of_birth=born, expires_on=None, today=dt.date(2026, 2, 28), minimum_age=21)
    assert under.problems == ("Under age: 20, the minimum is 21.",)


def test_an_id_is_valid_through_its_expiry_date():
    born = dt.date(1980, 1, 1)
    assert id_check(
        date_of_birth=born, expires_on=dt.date(2026, 3, 1), today=dt.date(2026, 3, 1), minimum_age=21
    ).passed
    late = id_check(
        date_of_birth=born, expires_on=dt.date(2026, 3, 1), today=dt.date(2026, 3, 2), minimum_age=21
    )
    assert late.expired and late.problems == ("The ID expired on Mar 01, 2026.",)


def test_future_birth_date_is_refused():
    check = id_check(
        date_of_birth=dt.date(2030, 1, 1), expires_on=None, today=dt.date(2026, 1, 1), minimum_age=18
    )
    assert not check.passed


def test_id_hash_is_keyed_and_ignores_formatting():
    key = b"k" * 32
    a = id_number_hash(issuing_state="mi", id_number="S 123 456 789 012", key=key)
    assert a == id_number_hash(issuing_state="MI", id_number="S123456789012", key=key)
    assert a != id_number_hash(issuing_state="CA", id_number="S123456789012", key=key)
    assert a != id_number_hash(issuing_state="MI", id_number="S123456789012", key=b"other-key")
    assert "123456789012" not in a
