"""The general reader: invoice fields from page text, by printed labels in de, fr, en, nl and sv.

Hand-written rules, no learned parts.  Each field has a table of labels; a label found
on a line gives a candidate value taken right after it (or from the next line, where
labels head a column).  Each candidate carries a score (how telling the label is); the
best-scoring candidate wins: for the invoice number and dates the earliest on the
page, for the total the last (totals come after carried-forward subtotals).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from connect_core.pipeline.extract.fields import Found
from connect_core.pipeline.extract.values import (
    COLUMN_SUMS,
    REFERENCE,
    column_sums,
    currency_code,
    decimal_separator,
    find_amounts,
    find_currencies,
    find_dates,
    slash_order,
)


@dataclass(frozen=True)
class Line:
    """One line of normalised page text and the page (1-based) it is on."""

    page: int
    text: str


@dataclass(frozen=True)
class _Label:
    pattern: re.Pattern[str]
    score: float
    language: str


def layout_clean(text: str) -> str:
    """Layout text as the grid reads it: spaces of every kind one plain space each (so columns stay where they
    are), one minus sign, Unix line ends."""
    text = re.sub(r"[\ud800-\udfff]", "\ufffd", text)  # broken ToUnicode maps yield lone surrogates
    text = text.replace("\u2212", "-").replace("\r\n", "\n").replace("\r", "\n")
    return re.sub(r"[\t\u00a0\u2000-\u200b\u202f\u205f\u3000]", " ", text)


def normalize(text: str) -> str:
    """Spaces of every kind as one space, one minus sign, no trailing blanks: what labels are matched on."""
    text = re.sub(r" +", " ", layout_clean(text))
    return "\n".join(line.strip() for line in text.split("\n"))


def lines_of(pages: Iterable[tuple[int, str]]) -> list[Line]:
    """The non-empty lines of numbered page texts, in reading order."""
    return [Line(number, line) for number, text in pages for line in text.split("\n") if line]


# -- label tables -----------------------------------------------------------------------------


def _labels(rows: Sequence[tuple[str, str, float]]) -> list[_Label]:
    return [_Label(re.compile(pattern, re.IGNORECASE), score, language) for language, pattern, score in rows]


_NO = r"(?:nummer|number|numéro|numero|num\.|nr\.?|no\.?|n°|nº|#)"
_TITLE = (r"(?:\w*rechnung|\w*rechnungskorrektur|gutschrift|facture|avoir|invoice|credit\s?note|factuur|creditnota|"
          r"faktura|kreditfaktura)")
_CREDIT_TITLE = re.compile(r"^(?:gutschrift|avoir|credit\s?note|creditnota|kreditfaktura)", re.IGNORECASE)

#: Words that make a number next to them some other document's (order, delivery, customer, original invoice).
_REFERENCE = re.compile(
    r"bestell|liefer|auftrag|kunde|vertrag|angebot|ursprung|bezug|storn|korrigiert|\border|deliver|customer|"
    r"contract|quot|origin|relat|correct|commande|livraison|client|contrat|devis|li[ée]e|référence|reference|"
    r"bestelling|levering|klant|offerte|beställ|leverans|\bkund|avtal|\bzu\b|\bzur\b|\bto\b|\bfor\b|\bvoor\b",
    re.IGNORECASE,
)

NUMBER_LABELS = _labels([
    ("de", r"\brechnungs?[-\s]?(?:nummer|nr\.?|no\.?)", 0.95),
    ("de", r"\b(?:gutschrifts?|rechnungskorrektur|korrekturrechnung|stornorechnung)[-\s]?(?:nummer|nr\.?)", 0.95),
    ("fr", r"\b(?:n°|nº|no\.?|num[ée]ro)\s*(?:de\s+)?(?:la\s+)?(?:facture|l'avoir|avoir)\b", 0.95),
    ("fr", r"\b(?:facture|avoir)\s*(?:n°|nº|n[o°]\.?|num[ée]ro|#)", 0.95),
    ("en", r"\b(?:invoice|credit\s?note)\s*(?:no\.?|number|nr\.?|#|id\b)", 0.95),
    ("nl", r"\b(?:factuur|creditnota)\s*(?:nummer|nr\.?|no\.?)", 0.95),
    ("sv", r"\b(?:kreditfaktura|faktura)\s*(?:nummer|nr\.?|no\.?)", 0.95),
])
#: "Handelsrechnung Nr.", "Gutschrift (Selbst ausgestellte Rechnung) Nr.", "Rechnung des Versicherers Nr."
_TITLE_THEN_NO = re.compile(rf"\b(?P<title>{_TITLE})\b(?P<gap>[^\n]{{0,40}}?)\s{_NO}", re.IGNORECASE)
#: "Facture FA-2017-0010", "Invoice FA-2017-0008", "Rechnung 181301674"
_TITLE_THEN_TOKEN = re.compile(rf"\b(?P<title>{_TITLE})\s*:?\s+(?=[A-Za-z0-9./_-]*\d)", re.IGNORECASE)
_TOKEN = re.compile(rf"[:.#]?\s*(?P<token>{REFERENCE})(?![\w/-])")

ISSUE_LABELS = _labels([
    ("de", r"\b(?:rechnungs|beleg|ausstellungs|ausgabe)-?datum\b|\bdatum der rechnung\b", 0.9),
    ("fr", r"\bdate (?:de (?:la )?)?(?:facture|facturation|d'émission|d'emission|d.émission)\b", 0.9),
    ("en", r"\b(?:invoice date|date of invoice|issue date|date of issue|invoice dated|issued (?:at|on))\b", 0.9),
    ("nl", r"\b(?:factuurdatum|datum factuur)\b", 0.9),
    ("sv", r"\b(?:fakturadatum|utskriftsdatum)\b", 0.9),
    ("", r"^(?:datum|date|dated)\b", 0.5),
])
#: After the invoice number: "Nr. 471102 vom 05.03.2018", "Invoice # X issued at 2019-06-10", "n° X du 05/03/2018"
_NUMBER_DATE = re.compile(
    r"^\s*,?\s*(?:vom|v\.|du|of|dated|issued(?:\s+(?:at|on))?|van|från|den|datum|date)\s*:?\s*", re.IGNORECASE
)

DUE_LABELS = _labels([
    ("de", r"\bfällig(?:keit(?:sdatum)?)?(?:\s+(?:am|bis|zum))*\b|\bzahlungsziel\b|\bzahlbar\s+bis(?:\s+zum)?\b", 0.9),
    ("de", r"\b(?:zahlbar|zahlen|überweisen|begleichen)\b[^\n]{0,60}?\bbis(?:\s+(?:zum|spätestens))?\b", 0.7),
    ("fr", r"\b(?:date d.)?[ée]ch[ée]ance\b|\b(?:à|a) payer (?:avant|au plus tard) le\b|"
           r"\bpayable (?:avant )?le\b", 0.9),
    ("en", r"\b(?:due date|payment due(?: date)?|due (?:on|by)|pay(?:able)? (?:by|until|before)|"
           r"remit (?:until|by|before))\b", 0.9),
    ("en", r"^due\b", 0.7),
    ("nl", r"\b(?:vervaldatum|vervaldag|te betalen (?:voor|vóór|uiterlijk)(?: op)?|uiterlijk)\b", 0.9),
    ("sv", r"\b(?:förfallodatum|förfallodag|betalas senast|sista betalningsdag)\b", 0.9),
])
_DISCOUNT = re.compile(r"skonto|escompte|discount|korting|rabatt", re.IGNORECASE)

TOTAL_LABELS = _labels([
    ("de", r"\b(?:brutto(?:summe|betrag|rechnungsbetrag)|gesamtbetrag|gesamtsumme|rechnungsbetrag|"
           r"rechnungssumme|endbetrag|endsumme|summe brutto|gesamt brutto)\b", 0.9),
    ("de", r"^(?:summe|gesamt|brutto)\b", 0.6),
    ("de", r"\b(?:zahlbetrag|zu zahlen(?:der betrag)?|zahlungsbetrag|offener betrag)\b", 0.75),
    ("fr", r"\b(?:total ttc|montant ttc|total toutes taxes comprises|montant total|total [àa] payer)\b", 0.9),
    ("fr", r"\b(?:net [àa] payer|solde [àa] payer|reste [àa] payer|montant d[ûu])\b", 0.75),
    ("en", r"\b(?:invoice total|total amount|grand total|total incl(?:uding|\.)?(?: vat| tax)?)\b", 0.9),
    ("en", r"^total\b", 0.85),
    ("en", r"\b(?:amount due|balance due|total due|due payable|amount payable|please pay)\b", 0.75),
    ("nl", r"\b(?:totaal(?:bedrag)?|factuurbedrag|totaal incl\.? btw)\b", 0.9),
    ("nl", r"\b(?:te betalen(?: bedrag)?|openstaand bedrag)\b", 0.75),
    ("sv", r"\b(?:summa|totalt|totalbelopp|fakturabelopp)\b", 0.9),
    ("sv", r"\b(?:att betala|belopp att betala)\b", 0.75),
])
#: A total label next to one of these is a net, tax or partial amount, not the grand total.
_NOT_GRAND = re.compile(
    r"\b(?:netto|ohne|exkl|excl|hors|ht|net|sub|zwischen|tax|taxes|vat|mwst|ust|tva|btw|moms|steuer|zuschl\w*|"
    r"abschl\w*|rabatt|skonto|anzahlung\w*|prepaid|acompte|positionen|items|lines|exclusive|excluding)\b|"
    r"\bsous-total|subtotal|nettobelopp|exkl\.",
    re.IGNORECASE,
)
_GROSS = re.compile(r"\b(?:inkl|incl|ttc|brutto|inclusive|including)\b", re.IGNORECASE)

CURRENCY_LABELS = _labels([
    ("de", r"\b(?:rechnungswährung|währung)\b", 0.95),
    ("fr", r"\bdevise\b", 0.95),
    ("en", r"\b(?:invoice currency|currency)\b", 0.95),
    ("nl", r"\bvaluta\b", 0.95),
])

SELLER_LABELS = _labels([
    ("de", r"^(?:verkäufer|lieferant|rechnungssteller|leistungserbringer|absender)\b", 0.7),
    ("fr", r"^(?:vendeur|fournisseur|émetteur|emetteur)\b", 0.7),
    ("en", r"^(?:seller|supplier|vendor|from|sold by)\b", 0.7),
    ("nl", r"^(?:verkoper|leverancier|afzender)\b", 0.7),
    ("sv", r"^(?:säljare|leverantör|avsändare)\b", 0.7),
])
BUYER_LABELS = _labels([
    ("de", r"^(?:käufer(?:/leistungsempfänger)?|kunde|rechnungsempfänger|leistungsempfänger|rechnungsadresse|"
           r"rechnung an)\b", 0.7),
    ("fr", r"^(?:acheteur|client|facturé à|facture à|adresse de facturation|destinataire)\b", 0.7),
    ("en", r"^(?:buyer|customer|bill to|billed to|sold to|invoice to|invoiced to|recipient)\b", 0.7),
    ("nl", r"^(?:koper|klant|factuuradres|afnemer)\b", 0.7),
    ("sv", r"^(?:köpare|kund|fakturaadress|mottagare)\b", 0.7),
])
_DELIVERY_LABEL = re.compile(
    r"^(?:adresse de livraison|delivery address|ship to|lieferadresse|lieferanschrift|afleveradres|leveransadress)"
    r"\s*:?$", re.IGNORECASE,
)
_LEGAL_FORM = re.compile(
    r"\b(?:gmbh|ag|kg|ohg|e\.k\.|ug|sarl|sas|sa|eurl|ltd|limited|inc|llc|plc|b\.v\.|bv|n\.v\.|nv|ab|oy|as|a/s|aps)"
    r"(?!\w)",
    re.IGNORECASE,
)


#: Cheap first checks: most lines of a long invoice carry no label at all.
_NUMBER_HINT = re.compile(r"rechnung|gutschrift|factur|factuur|avoir|invoice|credit|faktura", re.IGNORECASE)


def _combined(labels: Sequence[_Label]) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{label.pattern.pattern})" for label in labels), re.IGNORECASE)


_ISSUE_ANY = _combined(ISSUE_LABELS)
_DUE_ANY = _combined(DUE_LABELS)
_TOTAL_ANY = _combined(TOTAL_LABELS)
_LANGUAGE_ANY = _combined([label for label in ISSUE_LABELS + DUE_LABELS + NUMBER_LABELS if label.language])


# -- the reader -------------------------------------------------------------------------------


def read_fields(lines: Sequence[Line]) -> dict[str, Found]:
    """Every field the labels in ``lines`` (one invoice's pages) yield, each with its page and confidence.

    Fields not found are absent.  ``total`` keeps the sign printed (a credit note may print it either way).
    """
    order, decimal = conventions(lines)
    found: dict[str, Found] = {}

    numbers = [_number_candidates(lines, index) for index in range(len(lines))]
    number = _number(lines, numbers)
    if number is not None:
        found["invoice_number"] = number[0]
    issue = _issue_date(lines, numbers, order)
    if issue is not None:
        found["issue_date"] = issue
    due = _due_date(lines, order)
    if due is not None:
        found["due_date"] = due
    total = _total(lines, decimal)
    if total is not None:
        found["total"] = total[0]
    currency = _currency(lines, Found(total[1], total[0].source, 0.85) if total and total[1] else None)
    if currency is not None:
        found["currency"] = currency
    for name, party in (("seller", _seller(lines)), ("buyer", _buyer(lines))):
        if party is not None:
            found[name] = party
    return found


def conventions(lines: Sequence[Line]) -> tuple[str, str | None]:
    """How the document writes dates with slashes (``"dmy"`` or ``"mdy"``) and its decimal separator."""
    text = "\n".join(line.text for line in lines)
    return slash_order(text, default=_slash_default(lines)), decimal_separator(text)


def invoice_number(text: str) -> str | None:
    """The invoice number printed on one page's text, or ``None`` (a continuation page, or a page without one)."""
    lines = lines_of([(1, text)])
    found = _number(lines, [_number_candidates(lines, index) for index in range(len(lines))])
    return str(found[0].value) if found else None


# -- one function per field -------------------------------------------------------------------


def _source(line: Line) -> str:
    return f"text:page {line.page}"


_Candidates = Sequence[list[tuple[float, str, bool]]]


def _number(lines: Sequence[Line], numbers: _Candidates) -> tuple[Found, bool] | None:
    """The best invoice-number candidate and whether its title calls the document a credit note."""
    best: tuple[float, int, str, bool] | None = None
    for index, candidates in enumerate(numbers):
        for score, token, credit in candidates:
            if best is None or score > best[0]:
                best = (score, index, token, credit)
    if best is None:
        return None
    score, index, token, credit = best
    return Found(token, _source(lines[index]), score), credit


def _number_candidates(lines: Sequence[Line], index: int) -> list[tuple[float, str, bool]]:
    text = lines[index].text
    candidates: list[tuple[float, str, bool]] = []
    if not _NUMBER_HINT.search(text):
        return candidates
    for label in NUMBER_LABELS:
        for match in label.pattern.finditer(text):
            if _REFERENCE.search(text[max(0, match.start() - 25):match.start()]):
                continue
            token = _token_after(lines, index, match.end(), heads_column=match.start() == 0)
            if token is not None:
                candidates.append((label.score, token, _credit_words(match.group())))
    for match in _TITLE_THEN_NO.finditer(text):
        if _REFERENCE.search(match["gap"]) or _REFERENCE.search(text[max(0, match.start() - 25):match.start()]):
            continue
        token = _token_after(lines, index, match.end())
        if token is not None:
            candidates.append((0.9, token, bool(_CREDIT_TITLE.match(match["title"]))))
    for match in _TITLE_THEN_TOKEN.finditer(text):
        if _REFERENCE.search(text[max(0, match.start() - 25):match.start()]):
            continue
        token = _token_after(lines, index, match.end(), same_line_only=True)
        if token is not None and not re.fullmatch(r"\d{1,2}", token):  # "Invoice 2 of 3" counts pages
            score = 0.8 if match.start() == 0 else 0.55
            candidates.append((score, token, bool(_CREDIT_TITLE.match(match["title"]))))
    return candidates


def _credit_words(label: str) -> bool:
    return bool(re.search(r"avoir|credit|gutschrift|kreditfaktura", label, re.IGNORECASE))


def _token_after(lines: Sequence[Line], index: int, position: int, same_line_only: bool = False,
                 heads_column: bool = False) -> str | None:
    """The number token right after a label: on the same line, or first on the next line if the label
    ends its line or heads the first column of a header row ("Rechnungsnummer Rechnungsdatum")."""
    rest = lines[index].text[position:]
    below = not rest.strip(" :.#") or (heads_column and not re.search(r"\d", rest))
    if " | " in lines[index].text:
        below = False  # a header row of several columns: the grid reader pairs it with its own column
    if below and not same_line_only and index + 1 < len(lines):
        rest = lines[index + 1].text
    match = _TOKEN.match(rest)
    if match is None:
        return None
    token = match["token"]
    if not re.search(r"\d", token) or len(token) > 40:
        return None
    if next(find_dates(token), None) is not None or re.fullmatch(r"\d{1,2}[.,]\d{2}", token):
        return None  # a date or an amount, not a number
    return token


def _issue_date(lines: Sequence[Line], numbers: _Candidates, order: str) -> Found | None:
    candidates: list[tuple[float, int, dt.date]] = []
    for index, line in enumerate(lines):
        for score, token, _credit in numbers[index]:
            when = _date_after_number(lines, index, token, order)
            if when is not None:
                candidates.append((min(score, 0.95), index, when))
        if not _ISSUE_ANY.search(line.text):
            continue
        for label in ISSUE_LABELS:
            for match in label.pattern.finditer(line.text):
                when = _date_after_label(lines, index, match.end(), order, strict=label.score < 0.9)
                if when is not None:
                    candidates.append((label.score, index, when))
    if not candidates:
        return _first_date(lines, order)
    score, index, when = max(candidates, key=lambda c: (c[0], -c[1]))
    return Found(when, _source(lines[index]), score)


def _date_after_number(lines: Sequence[Line], index: int, token: str, order: str) -> dt.date | None:
    """The date in "Nr. 471102 vom 05.03.2018", also when "vom" or the date wraps to the next line."""
    text = lines[index].text
    position = text.find(token)
    if position < 0:
        return None
    rest = text[position + len(token):]
    if index + 1 < len(lines) and len(rest.strip()) < 12:
        rest = rest + " " + lines[index + 1].text
    connector = _NUMBER_DATE.match(rest)
    if connector is None:
        return None
    return _date_at(rest, connector.end(), order)


def _date_after_label(lines: Sequence[Line], index: int, position: int, order: str, strict: bool) -> dt.date | None:
    """The date right after a label (colon allowed), else first on the next line if the label ends its line."""
    rest = lines[index].text[position:]
    when = _date_at(rest, len(rest) - len(rest.lstrip(" :")), order)
    if when is None and not strict and not rest.strip(" :") and index + 1 < len(lines):
        when = _date_at(lines[index + 1].text, 0, order)
    return when


def _date_at(text: str, position: int, order: str) -> dt.date | None:
    for when, start, _end in find_dates(text[position:], order):
        return when if start == 0 else None
    return None


def _first_date(lines: Sequence[Line], order: str) -> Found | None:
    """Fallback: the first date near the top of the first page that is not next to a delivery or due label;
    failing that, an order date (shops print the day of the order as the day of the invoice), less certain."""
    first_page = lines[0].page if lines else 0
    order_date: Found | None = None
    for line in [line for line in lines if line.page == first_page][:15]:
        if re.search(r"liefer|leistung|deliver|livraison|leverans|levering|fällig|due|échéance|period|zeitraum",
                     line.text, re.IGNORECASE):
            continue
        dates = find_dates(line.text, order)
        if re.search(r"bestell|order|commande|ordine|pedido|zamów|tilaus", line.text, re.IGNORECASE):
            if order_date is None:
                order_date = next((Found(when, _source(line), 0.2) for when, _s, _e in dates), None)
            continue
        for when, _start, _end in dates:
            return Found(when, _source(line), 0.3)
    return order_date


def _due_date(lines: Sequence[Line], order: str) -> Found | None:
    candidates: list[tuple[float, int, dt.date]] = []
    for index, line in enumerate(lines):
        if not _DUE_ANY.search(line.text):
            continue
        for label in DUE_LABELS:
            for match in label.pattern.finditer(line.text):
                if _DISCOUNT.search(match.group()):
                    continue
                when = _due_after(lines, index, match.end(), order)
                if when is not None:
                    candidates.append((label.score, index, when))
    if not candidates:
        return None
    score, index, when = max(candidates, key=lambda c: (c[0], -c[1]))
    return Found(when, _source(lines[index]), score)


def _due_after(lines: Sequence[Line], index: int, position: int, order: str) -> dt.date | None:
    """The first date after a due label on its line; a column header ("Fälligkeit") looks two lines down."""
    rest = lines[index].text[position:]
    for when, start, _end in find_dates(rest, order):
        return None if _DISCOUNT.search(rest[:start]) else when
    for below in lines[index + 1:index + 3]:
        for when, start, _end in find_dates(below.text, order):
            return None if _DISCOUNT.search(below.text[:start]) else when
    return None


def _total(lines: Sequence[Line], decimal: str | None) -> tuple[Found, str | None] | None:
    """The grand total and the currency printed beside it."""
    best: tuple[float, int, Decimal, str | None] | None = None
    for index, line in enumerate(lines):
        if not _TOTAL_ANY.search(line.text):
            continue
        for label in TOTAL_LABELS:
            match = label.pattern.search(line.text)
            if match is None:
                continue
            near = line.text[max(0, match.start() - 15):match.start()] + " " + line.text[match.end():match.end() + 25]
            if _NOT_GRAND.search(near) and not _GROSS.search(near):
                continue
            amount = _amount_after(lines, index, match.end(), decimal)
            if amount is None:
                continue
            value, currency, sums = amount
            score = label.score if match.start() < 20 else label.score * 0.8
            if sums:
                score *= COLUMN_SUMS
            if best is None or score >= best[0]:
                best = (score, index, value, currency)
    if best is None:
        return None
    score, index, value, currency = best
    return Found(value, _source(lines[index]), score), currency


def _amount_after(lines: Sequence[Line], index: int, position: int, decimal: str | None
                  ) -> tuple[Decimal, str | None, bool] | None:
    """The last amount after a total label on its line, or an amount standing alone on the next line; and
    whether the amounts on the label's line are a table's column sums (see :func:`column_sums`)."""
    amounts = list(find_amounts(lines[index].text[position:], decimal))
    sums = column_sums([amount.value for amount in amounts])
    if not amounts and index + 1 < len(lines):
        below = lines[index + 1].text
        amounts = [a for a in find_amounts(below, decimal) if not below[:a.start].strip("-€$£ ").strip()]
        if len(amounts) != 1:
            return None
    if not amounts:
        return None
    amount = amounts[-1]
    currency = amount.currency or next(find_currencies(lines[index].text), None)
    return amount.value, currency, sums


def _currency(lines: Sequence[Line], beside_total: Found | None) -> Found | None:
    """A labelled currency code first, else the one printed beside the total, else the most frequent one."""
    for line in lines:
        for label in CURRENCY_LABELS:
            match = label.pattern.search(line.text)
            if match is None:
                continue
            code = re.match(r"\s*:?\s*([A-Za-z]{3})\b", line.text[match.end():])
            if code is not None and currency_code(code[1]) is not None:
                return Found(currency_code(code[1]), _source(line), label.score)
    if beside_total is not None:
        return beside_total
    counts: dict[str, int] = {}
    for line in lines:
        for printed in find_currencies(line.text):
            counts[printed] = counts.get(printed, 0) + 1
    if not counts:
        return None
    return Found(max(counts, key=lambda c: counts[c]), _source(lines[0]), 0.6)


# -- seller and buyer: heuristics, not held to the accuracy bar -----------------------------------


def _seller(lines: Sequence[Line]) -> Found | None:
    labelled = _party_after_label(lines, SELLER_LABELS)
    if labelled is not None:
        return labelled
    sender = _sender_line(lines)
    if sender is not None:
        index, name = sender
        return Found(name, _source(lines[index]), 0.6)
    for line in _first_page(lines)[:12]:
        if _LEGAL_FORM.search(line.text) and _name_like(line.text):
            return Found(line.text, _source(line), 0.4)
    return None


def _buyer(lines: Sequence[Line]) -> Found | None:
    labelled = _party_after_label(lines, BUYER_LABELS)
    if labelled is not None:
        return labelled
    sender = _sender_line(lines)
    if sender is not None:
        index = sender[0]
        if index + 1 < len(lines) and _name_like(lines[index + 1].text):
            return Found(lines[index + 1].text, _source(lines[index + 1]), 0.5)
    for index, line in enumerate(lines):
        if _DELIVERY_LABEL.match(line.text):
            for below in lines[index + 1:index + 3]:
                if _name_like(below.text):
                    return Found(below.text, _source(below), 0.4)
    return None


def _party_after_label(lines: Sequence[Line], labels: Sequence[_Label]) -> Found | None:
    """The name after a party label ("Client : Dupont SARL"), or the first name-like line below a label
    that ends its line, skipping "Nummer : ..." lines."""
    for index, line in enumerate(lines):
        match = next((m for label in labels if (m := label.pattern.match(line.text))), None)
        if match is None:
            continue
        rest = line.text[match.end():].strip()
        if rest not in ("", ":"):
            value = rest[1:].strip() if rest.startswith(":") else ""
            if _name_like(value):
                return Found(value, _source(line), 0.7)
            continue  # "Customer: 2" or "Lieferant GmbH": not a party label
        for below in lines[index + 1:index + 5]:
            if ":" in below.text:
                continue
            if _name_like(below.text):
                return Found(below.text, _source(below), 0.7)
            break
    return None


def _sender_line(lines: Sequence[Line]) -> tuple[int, str] | None:
    """The sender's one-line address above the window ("Firma GmbH ● Straße 1 ● 12345 Ort"): its first part."""
    first_page = _first_page(lines)
    for index, line in enumerate(first_page[:40]):
        parts = [part.strip() for part in re.split(r"\s(?:-|–|●|•|·|\|)\s", line.text) if part.strip()]
        if len(parts) >= 3 and re.search(r"\b\d{4,5}\b", line.text) and _name_like(parts[0]):
            return index, parts[0]
    return None


def _first_page(lines: Sequence[Line]) -> list[Line]:
    return [line for line in lines if line.page == lines[0].page] if lines else []


def _name_like(text: str) -> bool:
    """A line that could be a company or person name: letters, few digits, no contact details."""
    text = text.strip()
    if not 2 <= len(text) <= 70 or re.search(r"@|https?:|www\.|\+\d|^\d|\d{3,}|:", text):
        return False
    letters = sum(char.isalpha() for char in text)
    return letters >= 2 and letters >= 0.6 * len(text.replace(" ", ""))


def _slash_default(lines: Sequence[Line]) -> str:
    """Month-first for slash dates when the labels are English; day-first for de, fr, nl and sv."""
    votes: dict[str, int] = {}
    for line in lines:
        if not _LANGUAGE_ANY.search(line.text):
            continue
        for label in ISSUE_LABELS + DUE_LABELS + NUMBER_LABELS:
            if label.language and label.pattern.search(line.text):
                votes[label.language] = votes.get(label.language, 0) + 1
    if votes and max(votes, key=lambda language: votes[language]) == "en":
        return "mdy"
    return "dmy"
