"""Dates, amounts and currencies as printed on invoices in German, French, English, Dutch and Swedish.

Numeric dates with dots are always day-first (05.03.2018), and so are dates with a month name between
dashes (2-Aug-23); with slashes or dashes the caller says the order (``"dmy"`` or ``"mdy"``) because
03/05/2018 cannot tell by itself.
Amounts accept either decimal separator (1.234,56 and 1,234.56), grouping with spaces
(1 234,56), a leading or trailing sign and a currency symbol or ISO code on either side.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

MONTHS: dict[str, int] = {}
for _month, _names in enumerate((
    "january jan januar jänner janvier janv januari enero gennaio stycznia styczeń tammikuuta tammikuu",
    "february feb februar février fevrier févr fevr februari febrero febbraio lutego luty helmikuuta helmikuu",
    "march mar märz maerz mär mars maart mrt marts marzo marca marzec maaliskuuta maaliskuu",
    "april apr avril avr abril aprile kwietnia kwiecień huhtikuuta huhtikuu",
    "may mai mei maj mayo maggio maja toukokuuta toukokuu",
    "june jun juni juin junio giugno czerwca czerwiec kesäkuuta kesäkuu",
    "july jul juli juillet juil julio luglio lipca lipiec heinäkuuta heinäkuu",
    "august aug august août aout augustus augusti agosto sierpnia sierpień elokuuta elokuu",
    "september sep sept septembre septiembre settembre września wrzesień syyskuuta syyskuu",
    "october oct oktober octobre okt octubre ottobre października październik lokakuuta lokakuu",
    "november nov novembre noviembre listopada listopad marraskuuta marraskuu",
    "december dec dezember décembre decembre dez déc desember diciembre dicembre grudnia grudzień joulukuuta joulukuu",
), start=1):
    for _name in _names.split():
        MONTHS[_name] = _month

#: An invoice, order or customer number as printed: letters and digits joined by ``. / - _``, and by a colon
#: between digits ("2024:1337"); it starts and ends with a letter or digit.
REFERENCE = r"[A-Za-z0-9](?:(?:[A-Za-z0-9./\-_]|(?<=\d):(?=\d))*[A-Za-z0-9])?"

#: The one-character currency signs, as a regular-expression class.
SIGNS = "[€$£¥₹]"
CURRENCY_SYMBOLS = {
    "€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "₹": "INR", "kr": "SEK", "kr.": "SEK", "fr.": "CHF",
    "zł": "PLN",
}
#: Codes are matched in capitals only, so words such as "try" or "cad" in running text are no currency.
ISO_CURRENCIES = frozenset(
    "EUR USD GBP SEK NOK DKK ISK CHF PLN CZK HUF RON BGN JPY CNY AUD CAD NZD SGD HKD INR BRL MXN ZAR".split()
)

_MONTH_NAMES = "|".join(sorted((re.escape(name) for name in MONTHS), key=len, reverse=True))
# Lookarounds keep a date from being read out of a longer number such as 01.234.567.8-2018-1.
_EDGE_BEFORE = r"(?<![\w.,/-])"
_EDGE_AFTER = r"(?![\w]|[.,/-]\d)"
_DATE = re.compile(
    _EDGE_BEFORE + r"(?:"
    r"(?P<iy>\d{4})-(?P<im>\d{1,2})-(?P<id>\d{1,2})"
    r"|(?P<dd>\d{1,2})\.\s?(?P<dm>\d{1,2})\.\s?(?P<dy>\d{4}|\d{2})"
    r"|(?P<sa>\d{1,2})(?P<sep>[/-])(?P<sb>\d{1,2})(?P=sep)(?P<sy>\d{4}|\d{2})"
    r"|(?P<td>\d{1,2})(?:\.|:[ae]|er|st|nd|rd|th)?\s+(?:de\s+)?(?P<tm>" + _MONTH_NAMES + r")\.?,?\s+"
    r"(?:de\s+)?(?P<ty>\d{4}|\d{2}(?![:.]?\d))"
    r"|(?P<um>" + _MONTH_NAMES + r")\.?\s+(?P<ud>\d{1,2})(?:st|nd|rd|th)?\s?,?\s+(?P<uy>\d{4})"
    r"|(?P<hd>\d{1,2})-(?P<hm>" + _MONTH_NAMES + r")-(?P<hy>\d{4}|\d{2})"  # 02-Aug-2023, 2-Aug-23
    r")" + _EDGE_AFTER,
    re.IGNORECASE,
)

_CURRENCY = r"(?:" + SIGNS + r"|\b(?:" + "|".join(sorted(ISO_CURRENCIES)) + r")\b|\b[kK]r\b\.?|\bzł)"
_AMOUNT = re.compile(
    r"(?:(?P<lead>[-−])(?=(?:" + SIGNS + r"|[A-Z]{3})\s?\d))?(?P<pre>" + _CURRENCY + r")?\s?"
    r"(?P<sign>[-−]\s?)?"
    r"(?<![\d.,])(?P<num>"
    r"\d{1,3}(?:[ ']\d{3})+[.,]\d{1,4}"  # 1 234,56 (grouped by spaces: only with decimals, or columns merge)
    r"|\d{1,3}(?:(?P<g>[.,'])\d{3})(?:(?P=g)\d{3})*(?:[.,]\d{1,4})?"  # 1.234,56  1,234.56  1.234.567
    r"|\d+(?:[.,]\d{1,4})?"
    r")(?![\d%]|[.,]\d|\s?%)"
    r"(?P<trail>-(?!\d))?\s?(?P<post>" + _CURRENCY + r")?"
)


def find_dates(text: str, order: str = "dmy") -> Iterator[tuple[dt.date, int, int]]:
    """Every valid date in ``text`` as ``(date, start, end)``; ``order`` reads slash/dash dates (dmy or mdy)."""
    for match in _DATE.finditer(text):
        found = _date_of(match, order)
        if found is not None:
            yield found, match.start(), match.end()


def parse_date(text: str, order: str = "dmy") -> dt.date | None:
    """The first date in ``text``, or ``None``."""
    return next((found for found, _start, _end in find_dates(text, order)), None)


def slash_ambiguous(text: str, when: dt.date) -> bool:
    """Whether ``when`` is printed in ``text`` only as a slash or dash date that reads both ways (03/05/2018),
    and nothing else in the text settles which part is the day."""
    if when.day == when.month or when.day > 12 or when.month > 12 or slash_order(text, "") != "":
        return False
    year = f"(?:{when.year}|{when.year % 100:02d})"
    for first, second in ((when.day, when.month), (when.month, when.day)):
        if re.search(rf"(?<![\d./-])0?{first}([/-])0?{second}\1{year}(?!\d)", text):
            return True
    return False


def slash_order(text: str, default: str) -> str:
    """Read 03/05/2018 as the document does: a part over 12 anywhere settles it, else ``default``."""
    day_first = month_first = 0
    for match in _DATE.finditer(text):
        if match["sa"]:
            first, second = int(match["sa"]), int(match["sb"])
            day_first += first > 12 >= second
            month_first += second > 12 >= first
    if day_first != month_first:
        return "dmy" if day_first > month_first else "mdy"
    return default


@dataclass(frozen=True)
class Amount:
    """An amount found in text, with the currency printed next to it (ISO code) if any."""

    value: Decimal
    currency: str | None
    start: int
    end: int


def find_amounts(text: str, decimal: str | None = None) -> Iterator[Amount]:
    """Every amount in ``text``; ``decimal`` (``","`` or ``"."``) settles 1.234 and 1,234 when given."""
    for match in _AMOUNT.finditer(text):
        number = _number(match["num"], decimal)
        if number is None:
            continue
        if match["sign"] or match["trail"] or match["lead"]:
            number = -number
        currency = currency_code(match["pre"] or match["post"] or "")
        yield Amount(number, currency, match.start("num"), match.end())


#: How much less a total label's amount counts when it ends a row of column sums (see :func:`column_sums`).
COLUMN_SUMS = 0.8


def column_sums(amounts: list[Decimal]) -> bool:
    """Whether the amounts after a total label are a table's column sums ("Total 69,132.78 12,443.90 12,443.90":
    taxable value, tax, tax total) rather than a grand total: three or more of them, the last not the sum of
    the two before it (net + VAT = gross)."""
    return len(amounts) >= 3 and amounts[-3] + amounts[-2] != amounts[-1]


def parse_amount(text: str, decimal: str | None = None) -> Decimal | None:
    """The last amount in ``text`` (totals stand at the end of their line), or ``None``."""
    amounts = list(find_amounts(text, decimal))
    return amounts[-1].value if amounts else None


def decimal_separator(text: str) -> str | None:
    """The decimal separator a document mostly uses (``","`` or ``"."``), judged by two-decimal amounts."""
    commas = len(re.findall(r"\d,\d{2}(?![\d.,])", text))
    points = len(re.findall(r"\d\.\d{2}(?![\d.,])", text))
    if commas == points:
        return None
    return "," if commas > points else "."


def currency_code(token: str) -> str | None:
    """The ISO 4217 code for a printed currency symbol or code (``€`` → EUR, ``kr`` → SEK), else ``None``."""
    token = token.strip()
    if not token:
        return None
    if token.upper() in ISO_CURRENCIES:
        return token.upper()
    return CURRENCY_SYMBOLS.get(token.lower())


def find_currencies(text: str) -> Iterator[str]:
    """Every currency symbol or ISO code in ``text``, as ISO codes, in order."""
    for match in re.finditer(_CURRENCY, text):
        code = currency_code(match.group())
        if code is not None:
            yield code


# -- helpers ----------------------------------------------------------------------------------


def _date_of(match: re.Match[str], order: str) -> dt.date | None:
    if match["iy"]:
        year, month, day = int(match["iy"]), int(match["im"]), int(match["id"])
    elif match["dd"]:
        year, month, day = _year(match["dy"]), int(match["dm"]), int(match["dd"])
    elif match["sa"]:
        first, second = int(match["sa"]), int(match["sb"])
        day, month = (second, first) if order == "mdy" else (first, second)
        year = _year(match["sy"])
    elif match["td"]:
        year, month, day = _year(match["ty"]), MONTHS[match["tm"].lower()], int(match["td"])
    elif match["hd"]:
        year, month, day = _year(match["hy"]), MONTHS[match["hm"].lower()], int(match["hd"])
    else:
        year, month, day = int(match["uy"]), MONTHS[match["um"].lower()], int(match["ud"])
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _year(text: str) -> int:
    return int(text) + 2000 if len(text) == 2 else int(text)


def _number(text: str, decimal: str | None) -> Decimal | None:
    """Turn a printed number into a Decimal, deciding which separator is the decimal one."""
    text = text.replace(" ", "").replace("'", "")
    separators = [char for char in text if char in ".,"]
    if not separators:
        cleaned = text
    elif len(set(separators)) == 2:
        point = separators[-1]
        if separators.count(point) > 1:
            return None
        cleaned = text.replace("," if point == "." else ".", "").replace(point, ".")
    else:
        sep = separators[0]
        tail = len(text) - text.rindex(sep) - 1
        if len(separators) > 1:
            cleaned = text.replace(sep, "")  # 1.234.567: a separator used twice groups thousands
        elif tail != 3 or decimal == sep:
            cleaned = text.replace(sep, ".")
        else:
            cleaned = text.replace(sep, "")  # 1.234 or 1,234 in a document that decimals the other way
    try:
        return Decimal(cleaned)
    except InvalidOperation:
        return None
