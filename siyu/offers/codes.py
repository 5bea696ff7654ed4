"""Coupon codes: generated unguessable in a readable alphabet, normalised the same way when typed
back, and read from an imported CSV.

The alphabet leaves out 0/O, 1/I/L and U (the letters people misread or that spell words), the
Crockford idea. Twelve characters of 30 symbols is 30^12 ≈ 5.3e17 (59 bits): guessing one live code
among a million issued takes ~2.7e11 tries on average, far past any rate limit. Codes come from
:mod:`secrets`, never from ids or time. A code is shown in groups of four (``ABCD-EFGH-JKMN``);
dashes and spaces are ignored when one is typed back.
"""

from __future__ import annotations

import csv
import io
import re
import secrets

ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # 30 symbols, no 0 O 1 I L U
LENGTH = 12
IMPORTED = re.compile(r"^[A-Z0-9]{4,64}$")
MAX_IMPORT = 100_000


def generate_code(length: int = LENGTH) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(length))


def generate_batch(count: int) -> list[str]:
    """``count`` distinct fresh codes (a collision inside the batch is simply drawn again)."""
    found: set[str] = set()
    while len(found) < count:
        found.add(generate_code())
    return sorted(found)


def normalise(code: str) -> str:
    """What a person typed, as stored: upper case, without spaces or dashes."""
    return re.sub(r"[\s\-]", "", code).upper()


def display(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def parse_csv(text: str) -> tuple[list[str], list[str]]:
    """The codes in an imported file (first column; a header row ``code`` is skipped), normalised, and
    the problems found (bad characters, duplicates), each naming its line. Nothing is imported when
    there is any problem: half an import is worse than none."""
    codes: list[str] = []
    problems: list[str] = []
    seen: set[str] = set()
    try:
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    except csv.Error as error:  # a stray carriage return, a NUL: not a file of codes
        return [], [f"the file is not CSV: {error}"]
    for number, row in enumerate(rows, start=1):
        if not row or not row[0].strip():
            continue
        code = normalise(row[0])
        if number == 1 and code.lower() == "code":
            continue
        if not IMPORTED.match(code):
            problems.append(f"line {number}: '{row[0][:40]}' is not 4-64 letters and digits")
        elif code in seen:
            problems.append(f"line {number}: '{code}' appears twice")
        else:
            seen.add(code)
            codes.append(code)
    if len(codes) > MAX_IMPORT:
        problems.append(f"{len(codes)} codes: import at most {MAX_IMPORT} at a time")
    return codes, problems
