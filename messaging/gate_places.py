"""Where a recipient may be, for the gate's quiet hours: the US state and time zones of a phone number (its area
code) and of a state named in an address or a store's jurisdiction.

A state that spans two zones lists both, and an area code that spans two zones lists both (850, the Florida
panhandle, is Eastern and Central): the gate requires a message to fall in the allowed window in every zone the
recipient may be in. phonenumbers knows the state of an area code and most of its zones; AREA_CODE_ZONES adds the
zones it leaves out for area codes that straddle a time-zone line."""

import functools

import phonenumbers
from phonenumbers import geocoder
from phonenumbers import timezone as phone_timezone

EASTERN = "America/New_York"
CENTRAL = "America/Chicago"
MOUNTAIN = "America/Denver"
ARIZONA = "America/Phoenix"
PACIFIC = "America/Los_Angeles"

# The zones of each state, territory and DC (49 CFR part 71): every zone part of the state keeps by law.
STATE_ZONES: dict[str, tuple[str, ...]] = {
    "AL": (CENTRAL,),
    "AK": ("America/Anchorage", "America/Adak"),
    "AZ": (ARIZONA, MOUNTAIN),  # the Navajo Nation keeps daylight-saving time
    "AR": (CENTRAL,),
    "CA": (PACIFIC,),
    "CO": (MOUNTAIN,),
    "CT": (EASTERN,),
    "DE": (EASTERN,),
    "DC": (EASTERN,),
    "FL": (EASTERN, CENTRAL),  # west of the Apalachicola River: Central
    "GA": (EASTERN,),
    "HI": ("Pacific/Honolulu",),
    "ID": (MOUNTAIN, PACIFIC),
    "IL": (CENTRAL,),
    "IN": (EASTERN, CENTRAL),
    "IA": (CENTRAL,),
    "KS": (CENTRAL, MOUNTAIN),
    "KY": (EASTERN, CENTRAL),
    "LA": (CENTRAL,),
    "ME": (EASTERN,),
    "MD": (EASTERN,),
    "MA": (EASTERN,),
    "MI": (EASTERN, CENTRAL),
    "MN": (CENTRAL,),
    "MS": (CENTRAL,),
    "MO": (CENTRAL,),
    "MT": (MOUNTAIN,),
    "NE": (CENTRAL, MOUNTAIN),
    "NV": (PACIFIC, MOUNTAIN),  # West Wendover keeps Mountain time
    "NH": (EASTERN,),
    "NJ": (EASTERN,),
    "NM": (MOUNTAIN,),
    "NY": (EASTERN,),
    "NC": (EASTERN,),
    "ND": (CENTRAL, MOUNTAIN),
    "OH": (EASTERN,),
    "OK": (CENTRAL,),
    "OR": (PACIFIC, MOUNTAIN),
    "PA": (EASTERN,),
    "RI": (EASTERN,),
    "SC": (EASTERN,),
    "SD": (CENTRAL, MOUNTAIN),
    "TN": (CENTRAL, EASTERN),
    "TX": (CENTRAL, MOUNTAIN),
    "UT": (MOUNTAIN,),
    "VT": (EASTERN,),
    "VA": (EASTERN,),
    "WA": (PACIFIC,),
    "WV": (EASTERN,),
    "WI": (CENTRAL,),
    "WY": (MOUNTAIN,),
    "PR": ("America/Puerto_Rico",),
    "VI": ("America/St_Thomas",),
    "GU": ("Pacific/Guam",),
    "MP": ("Pacific/Saipan",),
    "AS": ("Pacific/Pago_Pago",),
}

STATE_NAMES: dict[str, str] = {
    "alabama": "AL",
    "alaska": "AK",
    "arizona": "AZ",
    "arkansas": "AR",
    "california": "CA",
    "colorado": "CO",
    "connecticut": "CT",
    "delaware": "DE",
    "district of columbia": "DC",
    "washington d.c.": "DC",
    "washington dc": "DC",
    "florida": "FL",
    "georgia": "GA",
    "hawaii": "HI",
    "idaho": "ID",
    "illinois": "IL",
    "indiana": "IN",
    "iowa": "IA",
    "kansas": "KS",
    "kentucky": "KY",
    "louisiana": "LA",
    "maine": "ME",
    "maryland": "MD",
    "massachusetts": "MA",
    "michigan": "MI",
    "minnesota": "MN",
    "mississippi": "MS",
    "missouri": "MO",
    "montana": "MT",
    "nebraska": "NE",
    "nevada": "NV",
    "new hampshire": "NH",
    "new jersey": "NJ",
    "new mexico": "NM",
    "new york": "NY",
    "north carolina": "NC",
    "north dakota": "ND",
    "ohio": "OH",
    "oklahoma": "OK",
    "oregon": "OR",
    "pennsylvania": "PA",
    "rhode island": "RI",
    "south carolina": "SC",
    "south dakota": "SD",
    "tennessee": "TN",
    "texas": "TX",
    "utah": "UT",
    "vermont": "VT",
    "virginia": "VA",
    "washington": "WA",
    "west virginia": "WV",
    "wisconsin": "WI",
    "wyoming": "WY",
    "puerto rico": "PR",
    "us virgin islands": "VI",
    "guam": "GU",
    "northern mariana islands": "MP",
    "american samoa": "AS",
}

# Area codes that straddle a time-zone line, with every zone of their area (phonenumbers gives one for most).
AREA_CODE_ZONES: dict[str, tuple[str, ...]] = {
    "850": (EASTERN, CENTRAL),  # Florida panhandle: Tallahassee Eastern, Pensacola and Panama City Central
    "448": (EASTERN, CENTRAL),  # the 850 overlay
    "689": (EASTERN,),  # Orlando overlay (phonenumbers places some of it in Central)
    "219": (CENTRAL, EASTERN),  # northwest Indiana
    "574": (EASTERN, CENTRAL),  # north Indiana, Starke County Central
    "812": (EASTERN, CENTRAL),  # south Indiana, Evansville Central
    "930": (EASTERN, CENTRAL),  # the 812 overlay
    "270": (CENTRAL, EASTERN),  # west Kentucky
    "364": (CENTRAL, EASTERN),  # the 270 overlay
    "606": (EASTERN, CENTRAL),  # east Kentucky, Wayne and Clinton counties Central
    "423": (EASTERN, CENTRAL),  # east Tennessee, Marion County Central
    "906": (EASTERN, CENTRAL),  # Upper Peninsula, the Wisconsin border counties Central
    "432": (CENTRAL, MOUNTAIN),  # west Texas, Culberson County Mountain
    "620": (CENTRAL, MOUNTAIN),  # south Kansas, Greeley and Hamilton Mountain
    "785": (CENTRAL, MOUNTAIN),  # north Kansas, Sherman and Wallace Mountain
    "308": (CENTRAL, MOUNTAIN),  # west Nebraska
    "541": (PACIFIC, MOUNTAIN),  # Oregon, Malheur County Mountain
    "458": (PACIFIC, MOUNTAIN),  # the 541 overlay
    "928": (ARIZONA, MOUNTAIN),  # north Arizona, the Navajo Nation keeps daylight-saving time
}


@functools.lru_cache(maxsize=1024)
def state_normalise(value: str) -> str | None:
    """The two-letter code of a US state given as "FL", "fl", "Florida" or "US-FL"; "" for an empty value or a
    place outside the US ("CA-ON"); None when it names no state we know."""
    text = (value or "").strip()
    if not text:
        return ""
    if "-" in text and len(text.split("-", 1)[0]) == 2:
        country, text = text.split("-", 1)
        if country.upper() != "US":
            return ""
    code = text.upper()
    if code in STATE_ZONES:
        return code
    return STATE_NAMES.get(" ".join(text.lower().split()))


_places: dict[str, tuple[str, tuple[str, ...]]] = {}


def phone_place(phone: str) -> tuple[str, tuple[str, ...]]:
    """(state, zones) of a phone number from its area code: ("FL", (Eastern, Central)) for +1 850...; ("", zones)
    outside the US or when the state is unknown; ("", ()) when it is not a phone number. Kept per area code and
    exchange (+1 NPA NXX): what phonenumbers knows of a North American number stops there, and reading it costs
    a millisecond."""
    key = phone[:8] if len(phone) == 12 and phone.startswith("+1") and phone[1:].isdigit() else phone
    found = _places.get(key)
    if found is None:
        if len(_places) > 100_000:
            _places.clear()
        found = _places[key] = _phone_place_read(phone)
    return found


def _phone_place_read(phone: str) -> tuple[str, tuple[str, ...]]:
    try:
        number = phonenumbers.parse(phone, "US")
    except phonenumbers.NumberParseException:
        return "", ()
    if not phonenumbers.is_possible_number(number):
        return "", ()
    zones = tuple(zone for zone in phone_timezone.time_zones_for_number(number) if zone != "Etc/Unknown")
    if phonenumbers.region_code_for_number(number) != "US":
        return "", zones
    area_code = phonenumbers.national_significant_number(number)[:3]
    zones = AREA_CODE_ZONES.get(area_code, zones)
    description = geocoder.description_for_number(number, "en")
    tail = description.rsplit(", ", 1)[-1]
    state = tail if tail in STATE_ZONES else STATE_NAMES.get(description.lower(), "")
    if not zones and state:
        zones = STATE_ZONES[state]
    return state, zones


def state_zones(state: str) -> tuple[str, ...]:
    return STATE_ZONES.get(state, ())
