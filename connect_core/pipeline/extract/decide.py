"""Deciding between candidates, and how sure to be: cross-checks, confidence and ``ready_to_send``.

Two readings of the same pages offer values: the line reader (labels on text lines) and the
grid reader (labels paired with the value beside or below them).  For each field the value
with the strongest support wins; agreement of both readings raises its confidence, a rival
value nearly as well supported lowers it.  The amounts check each other (net + VAT = total,
a VAT table's gross sum), dates check each other (due on or after issue), and the invoice
number must not be a number the page labels as something else.

An invoice is *ready to send* only when number, issue date, total and currency are each at
least :data:`READY` sure; otherwise ``not_ready`` names each missing or doubtful field, and a
person looks at it (*Needs attention*).  The threshold is set by measurement on layouts the
rules were not written for (docs/benchmarks.md, "Reading invoices"): no ready invoice wrong.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from connect_core.config import Company
from connect_core.pipeline.extract.fields import Found
from connect_core.pipeline.extract.grid import Candidate, Cell, labelled_amounts, labels, vat_table_totals
from connect_core.pipeline.extract.values import find_currencies, slash_ambiguous

#: The confidence each field sending needs must reach for an invoice to go out without a person.
READY = 0.85
#: Two readings agreeing add this much; a rival within :data:`RIVAL_GAP` takes :data:`RIVAL_COST` off.
AGREEMENT = 0.06
RIVAL_GAP = 0.08
RIVAL_COST = 0.25
CROSS_CHECK = 0.08
LINE_WEIGHT = 1.0
NAMES = {"invoice_number": "invoice number", "issue_date": "issue date", "total": "total", "currency": "currency"}
#: The fields an invoice is not sent without (a correction cannot empty them; a learned layout missing one holds it).
REQUIRED = tuple(NAMES)


@dataclass(frozen=True)
class Decision:
    found: dict[str, Found]
    credit_note: bool
    buyer_ids: dict[str, str]
    ready: bool
    not_ready: tuple[str, ...]


def _key(value: object) -> object:
    return value.casefold() if isinstance(value, str) else value


def _choose(field: str, line: Found | None, grid: Sequence[Candidate]) -> Found | None:
    """The best-supported value for ``field`` from both readings, with its confidence."""
    support: dict[object, tuple[float, set[str], str, object]] = {}

    def offer(value: object, score: float, reader: str, source: str) -> None:
        key = _key(value)
        best, readers, best_source, shown = support.get(key, (0.0, set(), source, value))
        support[key] = (max(best, score), readers | {reader}, source if score > best else best_source, shown)

    if line is not None:  # the line reader cannot see columns: where the readings differ, geometry wins
        offer(line.value, line.confidence * LINE_WEIGHT, "line", line.source)
    for candidate in grid:
        value = candidate.value[0] if field == "total" else candidate.value  # type: ignore[index]
        offer(value, candidate.score, "grid", f"text:page {candidate.page}")
    if not support:
        return None
    ranked = sorted(support.values(), key=lambda item: item[0] + (AGREEMENT if len(item[1]) > 1 else 0), reverse=True)
    score, readers, source, value = ranked[0]
    confidence = score + (AGREEMENT if len(readers) > 1 else 0.0)
    if len(ranked) > 1:
        rival = ranked[1][0] + (AGREEMENT if len(ranked[1][1]) > 1 else 0.0)
        if rival >= confidence - RIVAL_GAP:
            confidence -= RIVAL_COST
    return Found(value, source, max(0.05, min(confidence, 0.99)))


def decide(line_found: dict[str, Found], grid: Sequence[Candidate], rows: Sequence[Sequence[Cell]],
           decimal: str | None, companies: Sequence[Company] = (), default_currency: str | None = None) -> Decision:
    """The fields of one invoice, each with its confidence, and whether it may be sent without a person."""
    by_field: dict[str, list[Candidate]] = {}
    for candidate in grid:
        by_field.setdefault(candidate.field, []).append(candidate)
    found: dict[str, Found] = {}
    for field in ("invoice_number", "issue_date", "due_date", "total"):
        chosen = _choose(field, line_found.get(field), by_field.get(field, []))
        if chosen is not None:
            found[field] = chosen
    issue, due = found.get("issue_date"), found.get("due_date")
    if issue is not None and due is not None and due.value == issue.value:
        # one printed date cannot be both; a due date the grid pairs with its own label is the better reading
        other = [c for c in by_field.get("due_date", []) if c.value != issue.value]
        if other:
            best = max(other, key=lambda c: c.score)
            found["due_date"] = Found(best.value, f"text:page {best.page}", best.score)
    text = "\n".join(cell.text for row in rows for cell in row)
    credit_note = bool(labels().other["credit_note"].search(text[:3000]))
    _check_amounts(found, rows, decimal)
    _check_dates(found, text)
    _currency(found, line_found, by_field.get("total", []), default_currency, set(find_currencies(text)))
    for name in ("seller", "buyer"):
        if name in line_found:
            found[name] = line_found[name]
    buyer_ids = _own_company(found, text, companies)
    reasons = not_ready_reasons(found)
    return Decision(found, credit_note, buyer_ids, not reasons, tuple(reasons))


def _check_amounts(found: dict[str, Found], rows: Sequence[Sequence[Cell]], decimal: str | None) -> None:
    """A total the VAT table or net + VAT confirms is surer; with no labelled total, the VAT table's sum is one."""
    gross = vat_table_totals(rows, decimal)
    nets = labelled_amounts(rows, "net", decimal)
    vats = labelled_amounts(rows, "vat", decimal)
    total = found.get("total")
    if total is None:
        if gross:
            found["total"] = Found(gross[-1], "text:vat table", 0.7)
        return
    value = total.value
    assert isinstance(value, Decimal)
    confirmed = (value in gross or abs(value) in gross
                 or any(abs(net + vat - abs(value)) <= Decimal("0.01") for net in nets for vat in vats))
    if confirmed:
        found["total"] = Found(value, total.source, min(0.99, total.confidence + CROSS_CHECK))
    elif gross and max(gross) != abs(value) and max(gross) > abs(value):
        found["total"] = Found(value, total.source, total.confidence - RIVAL_COST)


def _check_dates(found: dict[str, Found], text: str) -> None:
    """Due on or after issue; a date whose day and month could be swapped (11/03/2018 alone) is doubtful."""
    for name in ("issue_date", "due_date"):
        item = found.get(name)
        if item is not None and isinstance(item.value, dt.date) and slash_ambiguous(text, item.value):
            found[name] = Found(item.value, item.source, min(item.confidence, READY - 0.15))
    issue, due = found.get("issue_date"), found.get("due_date")
    if issue is None or due is None:
        return
    assert isinstance(issue.value, dt.date) and isinstance(due.value, dt.date)
    if due.value < issue.value:
        del found["due_date"]
        found["issue_date"] = Found(issue.value, issue.source, issue.confidence - RIVAL_COST)
    elif (due.value - issue.value).days > 366:
        del found["due_date"]


def _currency(found: dict[str, Found], line_found: dict[str, Found], totals: Sequence[Candidate],
              default: str | None, printed_codes: set[str]) -> None:
    """The labelled or printed currency; surer when the total's own or the only one printed agrees."""
    printed = line_found.get("currency")
    beside = [candidate.value[1] for candidate in totals if candidate.value[1]]  # type: ignore[index]
    if printed is not None:
        agree = any(code == printed.value for code in beside) or printed_codes == {printed.value}
        found["currency"] = Found(printed.value, printed.source, min(0.99, printed.confidence + (0.3 if agree else 0)))
    elif beside:
        found["currency"] = Found(beside[0], "text:beside the total", 0.85)
    elif default:
        found["currency"] = Found(default, "default currency", 0.9)


_VAT_ID = re.compile(r"\b([A-Z]{2})[ .]?((?:[0-9A-Z][ .]?){7,13}[0-9A-Z])\b")
_GLN = re.compile(r"\bGLN\b\W{0,3}(\d{13})\b", re.IGNORECASE)
_ORG = re.compile(r"\b(?:org\.?\s?nr|organisationsnummer|organisasjonsnummer|y-tunnus|cvr(?:-nr)?|kvk|siren|"
                  r"company (?:no|number|reg(?:istration)? no)\.?)\W{0,3}([0-9][0-9 -]{5,14}[0-9])\b", re.IGNORECASE)


def _normal(vat: str) -> str:
    return re.sub(r"[\s.\-]", "", vat).upper()


def _own_company(found: dict[str, Found], text: str, companies: Sequence[Company]) -> dict[str, str]:
    """With the office's companies configured, the seller is the one the page names; the buyer's ids are the rest."""
    printed = [_normal(match.group()) for match in _VAT_ID.finditer(text)]
    vat_ids = [vat for vat in printed if re.search(r"\d{6}", vat)]
    own = {vat for company in companies for vat in company.vat_ids}
    folded = text.casefold()
    seller = next((company for company in companies if any(vat in vat_ids for vat in company.vat_ids)), None)
    if seller is None:
        seller = next((company for company in companies if company.name.casefold() in folded), None)
    ids: dict[str, str] = {}
    if seller is not None:
        guessed = found.get("seller")
        found["seller"] = Found(seller.name, "company", 1.0)
        buyer = found.get("buyer")
        if buyer is not None and isinstance(buyer.value, str) and _is_company(buyer.value, companies):
            del found["buyer"]
        if ("buyer" not in found and guessed is not None and isinstance(guessed.value, str)
                and not _is_company(guessed.value, companies)):
            # The name the reader took for the sender is not ours: on our own invoice it is the addressee.
            found["buyer"] = Found(guessed.value, guessed.source, min(guessed.confidence, 0.5))
        other_vat = next((vat for vat in vat_ids if vat not in own), None)
        if other_vat:
            ids["vat"] = other_vat
    if (gln := _GLN.search(text)) is not None:
        ids["gln"] = gln[1]
    if (org := _ORG.search(text)) is not None:
        ids["org"] = re.sub(r"[ -]", "", org[1])
    return ids


def _is_company(name: str, companies: Sequence[Company]) -> bool:
    folded = name.casefold()
    return any(company.name.casefold() in folded or folded in company.name.casefold() for company in companies)


def not_ready_reasons(found: dict[str, Found]) -> list[str]:
    """Why the fields sending needs are not sure enough: one sentence per missing or doubtful field."""
    reasons = []
    for field, name in NAMES.items():
        item = found.get(field)
        if item is None:
            reasons.append(f"The {name} could not be read.")
        elif item.confidence < READY:
            shown = item.value.isoformat() if isinstance(item.value, dt.date) else item.value
            reasons.append(f"The {name} is doubtful ({shown}).")
    return reasons
