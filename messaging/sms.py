"""How many parts a text is sent in: 160 characters of the GSM 7-bit alphabet in one part, 153 per part when it
is split (the rest carries the joining header); any other character sends the whole text as UCS-2, 70 in one
part and 67 per part. The extension characters (^ { } [ ] ~ | € and the backslash) count twice."""

GSM_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENDED = set("^{}\\[~]|€\f")


def sms_units(text: str) -> tuple[int, bool]:
    """(length in the encoding's units, whether it fits GSM 7-bit)."""
    if all(char in GSM_BASIC or char in GSM_EXTENDED for char in text):
        return sum(2 if char in GSM_EXTENDED else 1 for char in text), True
    return sum(2 if ord(char) > 0xFFFF else 1 for char in text), False


def sms_segments(text: str) -> int:
    units, gsm = sms_units(text)
    single, multi = (160, 153) if gsm else (70, 67)
    if units <= single:
        return 1
    return -(-units // multi)
