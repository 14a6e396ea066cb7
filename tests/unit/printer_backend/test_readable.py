"""Readable text or garbage: whether a page's extracted text is read as it is, or the page is OCR'd.

A page with readable text must never be OCR'd, and "the PDF has text" must not be trusted.  The real
side is every page of every printed-corpus and held-out invoice, read by the product's own confined
pdftotext.  The garbage side is what printing does to those invoices: Ghostscript's ``ps2write``
re-encodes subset fonts, so a PDF made PostScript and then PDF again extracts as punctuation soup or
dingbats, plus the other garbage seen in the wild, made up here.

Margins when the rule was written (printer_backend/readable.py): the 110 real pages have 25 words or
more and at most 15% junk; the 80 corpus pages garbled by the round trip have at most 29 words (the
29 on a page whose header kept its font) and at least 72% junk, against a limit of 40%.
"""

from __future__ import annotations

import functools
import string
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from printer_backend.limits import Limits
from printer_backend.pdftext import page_texts
from printer_backend.readable import readability, readable
from tests.support.harness import CORPUS, DATA
from tests.support.printed import gs

PRINTED = sorted((CORPUS / "printed").glob("*.pdf"))
HELDOUT = sorted((DATA / "heldout").glob("*.pdf"))
REAL = PRINTED + HELDOUT

#: One corpus invoice per producer (the name before "__"; intarsys once per profile), each with subset
#: fonts: made PostScript and PDF again, every page keeps text, but garbage.  (Not every corpus invoice
#: does: mustangproject's ZTESTZUGFERD and zugferd_invoice keep fonts ps2write leaves readable, or
#: partly so, and 103767-Invoice loses its text altogether.)
ROUND_TRIP = [
    "FNFE-factur-x-examples__Avoir_FR_type381_BASIC.pdf",
    "Mustangproject__MustangGnuaccountingBeispielRE-20190610_507.pdf",
    "intarsys__BASIC__zugferd_2p0_BASIC_Einfach.pdf",
    "intarsys__EN16931__zugferd_2p0_EN16931_Rechnungskorrektur.pdf",
    "intarsys__EXTENDED__zugferd_2p0_EXTENDED_Warenrechnung.pdf",
    "mustangproject__EXTENDED_Fremdwaehrung_wdis_fx-pdfa4.pdf",
]

INVOICE = """\
Muster Haustechnik GmbH · Hauptstraße 5 · 10115 Berlin

                                                   Rechnung Nr. 2024-0815
Beispiel AG                                        Datum: 05.03.2024
Gartenweg 12                                       Kundennummer: 10442
80331 München                                      Leistungszeitraum: Februar 2024

Pos  Beschreibung                          Menge   Einzelpreis      Betrag
1    Beratung und Planung der Heizung          4        120,00      480,00
2    Montage der Anlage vor Ort                1        950,00      950,00
3    Wartungsvertrag für zwölf Monate          1        300,00      300,00

Zwischensumme netto                                             1.730,00
Umsatzsteuer 19 %                                                 328,70
Gesamtbetrag                                            EUR     2.058,70

Zahlbar innerhalb von vierzehn Tagen ohne Abzug auf das unten genannte Konto.
Bitte geben Sie bei der Zahlung die Rechnungsnummer als Verwendungszweck an.
Vielen Dank für Ihren Auftrag. Bei Fragen zu dieser Rechnung erreichen Sie uns
montags bis freitags unter der oben genannten Adresse.

Sparkasse Berlin · IBAN DE89 3704 0044 0532 0130 00 · BIC COBADEFFXXX
Geschäftsführer: Erika Mustermann · Amtsgericht Berlin HRB 123456 · USt-IdNr. DE123456789
"""

LANGUAGES = {
    "sv": "Faktura nr 2024-118\nFörfallodatum: 30 dagar netto. Vänligen betala fakturabeloppet till vårt "
          "bankgiro och ange fakturanumret som referens.\nMoms 25 %: 1 250,00 kr\nAtt betala: 6 250,00 kr",
    "fi": "Lasku numero 4711\nEräpäivä on neljätoista päivää laskun päiväyksestä. Maksathan laskun "
          "viitenumerolla tilillemme.\nArvonlisävero 24 %\nYhteensä 1 240,00 euroa",
    "da": "Faktura nummer 2024-77\nBetalingsbetingelser: netto otte dage. Beløbet bedes indbetalt på vores "
          "konto med fakturanummeret som reference.\nMoms 25 %\nI alt at betale: 3.125,00 kr.",
    "no": "Faktura nr. 5512\nForfallsdato: 20.04.2024. Vennligst betal beløpet til vårt kontonummer og "
          "oppgi KID-nummeret ved betaling.\nMerverdiavgift 25 %\nÅ betale: 4 375,00 kr",
    "pl": "Faktura VAT nr 12/03/2024\nData wystawienia: 05.03.2024, termin płatności: czternaście dni.\n"
          "Sprzedawca: Przedsiębiorstwo Handlowe Żuraw sp. z o.o., ul. Świętokrzyska 12, 00-050 Warszawa\n"
          "Razem do zapłaty: 1 230,00 zł (słownie: jeden tysiąc dwieście trzydzieści złotych)",
    "it": "Fattura numero 123 del 05/03/2024\nCondizioni di pagamento: bonifico bancario a trenta giorni "
          "data fattura.\nImponibile 1.000,00 euro, IVA 22 % 220,00 euro\nTotale documento 1.220,00 euro",
    "cs": "Faktura – daňový doklad č. 2024031\nDatum splatnosti: 19. 3. 2024. Částku prosím uhraďte "
          "převodem na náš bankovní účet.\nCelkem k úhradě: 12 100,00 Kč",
    "hu": "Számla sorszáma: 2024/0042\nFizetési határidő: 2024. március 20. Kérjük, az összeget "
          "átutalással egyenlítse ki.\nÁFA 27 %\nFizetendő összesen: 127 000 Ft",
    "el": "Τιμολόγιο Παροχής Υπηρεσιών αριθμός 2024-15\nΗμερομηνία έκδοσης: 05/03/2024. Παρακαλούμε "
          "εξοφλήστε το ποσό εντός τριάντα ημερών.\nΦΠΑ 24 %\nΣύνολο πληρωμής: 1.240,00 ευρώ",
    "ru": "Счёт-фактура № 2024-118 от 05.03.2024\nПоставщик: ООО «Ромашка», г. Москва, ул. Ленина, д. 5\n"
          "Оплатить в течение десяти банковских дней.\nИтого к оплате: 12 000,00 руб., в том числе НДС 20 %",
    "bg": "Фактура № 0000001234 от 05.03.2024 г.\nДоставчик: Примерна ЕООД, гр. София, бул. Витоша 10\n"
          "Данъчна основа 1 000,00 лв., ДДС 20 % 200,00 лв.\nСума за плащане: 1 200,00 лв.",
}

#: The first line of every intarsys invoice, printed through ps2write: its subset font's glyphs come
#: back as dingbats (a few letters among them on later pages).
DINGBATS = ("✁✂✄☎✆✝☎☎✁ ✞✟✠ ✡☎✆☛☞✠✌☞✍✝✟✎✏ ✑☎✠ ✒✓✡✔✕☞✁☎✎ ✖✗✎ ✘✙✚✛☎✜✕ ✢✣✤✔✜☎✍✝✎✟✎✏☎✎\n"
            "❨✞▲ ✁✂✄☎✁✄❩❏✠◆✡ ◗✡▲❘✟✁✡❖▼❏✠❑ ☎✡✂✂✞❪✁✡❖▲ ❫✡✠❑✡ ☛☞✂✌ ❨✞▲❖✂❖✞✠▲✄ ✁✂✄☎✁✄❬❖✡❭✌\n"
            "⑨▲❑t❑✈✇P◆t✉❑▲ ❘❙❚ ❯❱❨❯❳❲❨❼❼❨❪❱ ❫❴❵❛❜❝❭❫❢❝♣❛ ❤❢❴✁❛❵❛❝❢❵❵❜ ❯❯ ❱❳❳❩❲\n")


@functools.cache
def texts(pdf: Path) -> tuple[str, ...]:
    """Each page's text, as the product reads it."""
    return tuple(page_texts(pdf, len(PdfReader(pdf).pages), limits=Limits()))


def shifted(text: str, places: int) -> str:
    """``text`` with every letter a-z (and A-Z) moved ``places`` on in the alphabet."""
    lower, upper = string.ascii_lowercase, string.ascii_uppercase
    moved = lower[places:] + lower[:places] + upper[places:] + upper[:places]
    return text.translate(str.maketrans(lower + upper, moved))


def garbage(text: str) -> bool:
    verdict = readability(text)
    return not verdict.readable and verdict.reason.startswith("text is garbage: ")


# --- real invoices: every page is readable ------------------------------------------------------------

def test_the_real_invoices_are_all_here() -> None:
    assert len(PRINTED) >= 40 and len(HELDOUT) >= 20


@pytest.mark.parametrize("pdf", REAL, ids=lambda pdf: pdf.name)
def test_every_page_of_a_real_invoice_is_readable(pdf: Path) -> None:
    pages = texts(pdf)
    assert pages
    for number, text in enumerate(pages, 1):
        verdict = readability(text)
        assert verdict.readable, f"page {number}: {verdict.reason}"
        assert verdict.reason == f"readable: {verdict.words} words"
        assert readable(text)


# --- printed through PostScript: garbage -------------------------------------------------------------

@pytest.mark.parametrize("name", ROUND_TRIP)
def test_an_invoice_printed_through_postscript_is_garbage(name: str, tmp_path: Path) -> None:
    original = CORPUS / "printed" / name
    postscript, again = tmp_path / "printed.ps", tmp_path / "printed.pdf"
    gs("-sDEVICE=ps2write", f"-sOutputFile={postscript}", str(original))
    gs("-sDEVICE=pdfwrite", f"-sOutputFile={again}", str(postscript))
    pages = page_texts(again, len(PdfReader(again).pages), limits=Limits())
    assert len(pages) == len(texts(original))
    for number, text in enumerate(pages, 1):
        assert text.strip(), f"page {number} has no text at all: this test is about text that is garbage"
        verdict = readability(text)
        assert not verdict.readable, f"page {number} passed as {verdict.reason!r}:\n{text[:400]}"
        assert verdict.reason.startswith("text is garbage: ") and "% symbols" in verdict.reason


# --- garbage seen in the wild -------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["", " ", "\n\n\f", " \t \n" * 500, "\u00a0\u2003\u3000\n", "\xad\u200b\ufeff"])
def test_no_text(text: str) -> None:
    assert readability(text) == readability(text)  # a value, frozen
    verdict = readability(text)
    assert (verdict.readable, verdict.reason, verdict.words) == (False, "no text", 0)


def test_control_characters_are_garbage() -> None:
    # Every C0 control but tab, line feed, form feed and carriage return (a line end), and DEL.
    controls = "".join(map(chr, [*range(0x00, 0x09), 0x0B, *range(0x0E, 0x20), 0x7F]))
    page = "\n".join(controls[i:] + controls[:i] for i in range(40))
    assert garbage(page)
    # The ones str.split takes for spaces are garbage too, not an empty page.
    assert garbage("\x0b\x1c\x1d\x1e\x1f" * 50)
    # Words with a broken font's control characters between them: more controls than letters.
    assert garbage(" ".join(f"{word}\x01\x02\x03\x04\x05\x06\x07\x08" for word in INVOICE.split()))


def test_private_use_glyphs_are_garbage_but_a_few_icons_are_not() -> None:
    glyphs = " ".join("".join(chr(0xE000 + (7 * i + j) % 256) for j in range(6)) for i in range(150))
    assert garbage(glyphs)
    assert garbage("Rechnung Nr. 4711 vom 05.03.2024\n" + glyphs)  # a heading in a good font over a broken body
    with_icons = INVOICE + "\n\uf095 +49 30 1234567    \uf0e0 info@muster-haustechnik.de    \uf0ac www.muster.de\n"
    assert readable(with_icons)


def test_replacement_characters_are_garbage() -> None:
    page = "\n".join(" ".join("\ufffd" * (3 + (i * j) % 5) for j in range(8)) for i in range(30))
    assert garbage(page)
    assert garbage("Seite 1 von 1\n" + page)


def test_dingbats_and_boxes_are_garbage() -> None:
    assert garbage(DINGBATS * 10)
    assert garbage("□□□ □□□□□ □□ □□□□ □□□□□□\n" * 30)
    assert garbage("■ ◆ ● ▲ ★ ☎ ✂ ✈ ☛ ❖ ➔ ⇒\n" * 30)


def test_letters_without_vowels_are_garbage() -> None:
    consonants = "bcdfghjklmnpqrstvwxz"
    tokens = ["".join(consonants[(7 * i + 3 * j) % 20] for j in range(3 + i % 6)) for i in range(300)]
    verdict = readability(" ".join(token.capitalize() if i % 3 == 0 else token for i, token in enumerate(tokens)))
    assert not verdict.readable and verdict.reason.startswith("text is garbage: 0 words")
    assert "letters outside words" in verdict.reason


@pytest.mark.parametrize("places", range(1, 26))
def test_a_shifted_alphabet_is_garbage(places: int) -> None:
    verdict = readability(shifted(INVOICE, places))
    assert not verdict.readable
    assert verdict.reason.endswith(f"shifted by {places} places")
    assert verdict.words > 20  # it has words: the letters, not the words, give it away


@pytest.mark.parametrize("pdf", REAL, ids=lambda pdf: pdf.name)
def test_a_real_page_with_its_alphabet_shifted_is_garbage(pdf: Path) -> None:
    # A page of 60 words or more; shorter ones have too few letters to tell, and count as readable.
    pages = [text for text in texts(pdf) if readability(text).words >= 60]
    for text in pages:
        for places in range(1, 26):
            assert not readable(shifted(text, places)), f"shifted by {places}: {readability(shifted(text, places))}"


# --- readable, however little or unusual --------------------------------------------------------------

def test_a_short_continuation_page_is_readable() -> None:
    verdict = readability("Seite 2 von 2\nSumme 1.234,56 EUR")
    assert verdict == readability("                    Seite 2 von 2\n\n\n      Summe          1.234,56 EUR\n\f")
    assert verdict.readable and verdict.words == 4 and verdict.reason == "readable: 4 words"


def test_a_lone_page_number_is_too_little_text() -> None:
    verdict = readability("\n\n                                - 2 -\n")
    assert not verdict.readable and verdict.reason == "too little text: 0 words in 3 characters, 67% symbols"
    verdict = readability("Seite 2 von 2")
    assert not verdict.readable and verdict.reason == "too little text: 2 words in 10 characters, 0% symbols"


@pytest.mark.parametrize("language", LANGUAGES)
def test_invoices_in_other_languages_and_scripts_are_readable(language: str) -> None:
    text = LANGUAGES[language]
    assert readable(text), readability(text).reason
    # Five times over: as many letters as a page, so the shifted-alphabet check has its say.
    assert readable("\n".join([text] * 5)), readability("\n".join([text] * 5)).reason


def test_a_table_of_numbers_with_a_few_labels_is_readable() -> None:
    rows = [f"{i:>3}  {i % 7 + 1:>3} Stk  {12.5 * i:>9,.2f} €  {12.5 * i * (i % 7 + 1):>10,.2f} €  19 %"
            for i in range(1, 41)]
    table = "Pos  Menge    Einzelpreis       Betrag   MwSt\n" + "\n".join(rows) + "\nSumme   12.345,67 €"
    verdict = readability(table.replace(",", "X").replace(".", ",").replace("X", "."))
    assert verdict.readable, verdict.reason
    assert verdict.words == 5  # Pos, Menge, Einzelpreis, Betrag, Summe: "MwSt" and "Stk" have no vowel


def test_rules_and_leader_dots_do_not_count_against_a_page() -> None:
    ruled = "\n".join(["=" * 80, "Gesamtbeträge          Netto EUR     MwSt. EUR    Brutto EUR", "-" * 80,
                       "Summe gesamt ........................................ 447,88", "_" * 80,
                       "Zahlbar sofort nach Erhalt der Rechnung ohne Abzug.", "=" * 80] * 3)
    assert readable(ruled)


# --- properties ---------------------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=string.punctuation + string.digits + " \n\t", max_size=3000))
def test_punctuation_and_digits_are_never_readable(text: str) -> None:
    assert not readable(text)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=2000))
def test_any_text_gets_a_verdict_and_a_reason(text: str) -> None:
    verdict = readability(text)
    assert verdict.reason and verdict.words >= 0
    assert readable(text) is verdict.readable
    if verdict.readable:
        assert verdict.words >= 3 and verdict.reason == f"readable: {verdict.words} words"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.sampled_from([" ", "  ", "       ", "\n", "\n\n  ", "\t", "\f"]), min_size=1))
def test_the_layout_spacing_does_not_change_the_verdict(gaps: list[str]) -> None:
    for text in (INVOICE, DINGBATS, shifted(INVOICE, 3)):
        tokens = text.split()
        respaced = "".join(token + gaps[i % len(gaps)] for i, token in enumerate(tokens))
        assert readability(respaced) == readability(" ".join(tokens))
