"""parse_number: spoken numbers to plain numerals ("twenty five thousand" -> "25000").

English only, with text2num (offline, maintained). Whisper often writes numbers as
numerals with thousands separators already ("25,000"); Bodhi's numerals have none,
so those are joined too. Other languages pass through unchanged: the bundled model
is English, and text2num's other languages are not Bodhi's Indic ones.
"""

import re

from text_to_num import alpha2digit

_THOUSANDS = re.compile(r"(?<=\d)\s?,(?=\d{3}\b)")


def spoken_numbers_to_digits(text: str, language: str) -> str:
    if not text or not language.startswith("en"):
        return text
    return _THOUSANDS.sub("", alpha2digit(text, "en"))
