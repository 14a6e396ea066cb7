"""Whether a page's extracted text is text worth reading, or garbage (or nothing) so the page needs OCR.

"The PDF has text" is not to be trusted: a font re-encoded without a usable Unicode map (Ghostscript's
``ps2write`` does this to subset fonts, so to every PDF printed as PostScript and made a PDF again)
extracts as punctuation soup (``0 <, = ;5 > ?``), dingbats, control or private-use characters, U+FFFD,
boxes, or letters shifted by a fixed offset.  The rule, on the characters that are not spaces:

* a *word* is a run of two or more letters of one script; a Latin one needs a vowel; in other scripts
  the letters alone count (a single CJK/kana/Hangul sign too);
* a *number* is a run of digits, with ``. , : / ' -`` between digits (``1.234,56``, ``05.03.2024``);
* everything else is *junk*: symbols, punctuation, controls, private-use glyphs, U+FFFD, stray letters
  (a rule of ``-----`` or ``=====``, or leader dots, counts as one character);
* a page is readable when it has at least 3 words and junk is at most 40% of its characters, unless its
  Latin letters (150 or more) fit some European language's letter frequencies far better once shifted
  back by a fixed number of places than as they stand: that is a shifted alphabet, not a language.

Measured on the printed corpus and the held-out invoices: real pages have 25 words or more and at most
15% junk; pages the ps2write round trip garbles have at least 72% junk (see the tests,
``tests/unit/printer_backend/test_readable.py``).  A short page errs towards readable: too few letters
to tell a shifted alphabet from a language.  Only the standard library; a 60,000-character page takes
a few milliseconds (the first call also builds the letter tables from the Unicode database, once).
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from operator import mul
from typing import NamedTuple

MIN_WORDS = 3
MAX_JUNK = 0.40
#: Fewer characters than this are "too little text", whatever they are, rather than garbage.
FEW_CHARACTERS = 20
#: The shifted-alphabet check needs this many Latin letters (in words) to mean something.
MIN_LETTERS_FOR_SHIFT = 150
#: How much better (natural log of the likelihood ratio, over all the page's letters) the letters must fit
#: a language once shifted back than as they stand.  Real text never came above 43 (38,909 samples of
#: 150+ letters in 33 Latin-script languages; the 43 a 183-letter one), corpus pages shifted by any
#: offset never below 61; a shifted full page scores in the hundreds.
MIN_SHIFT_EVIDENCE = 50.0

#: Letter frequencies a-z in per cent (diacritics folded: ä is a, ł and ı are dropped), measured on
#: translated software text (the message catalogues of a Debian system): European languages use their
#: letters about one of these ways, and a Caesar shift of any of them does not.
_LANGUAGES = {
    "en": (6.9, 1.6, 3.9, 4.1, 13.0, 2.4, 2.0, 4.0, 7.5, 0.1, 0.8, 4.5, 2.6,
           6.7, 7.8, 2.8, 0.1, 6.2, 6.0, 9.6, 3.0, 1.0, 1.6, 0.5, 1.2, 0.2),
    "de": (6.0, 2.2, 2.3, 4.3, 17.4, 2.1, 3.4, 3.1, 7.9, 0.1, 1.6, 3.9, 2.2,
           10.4, 3.2, 1.5, 0.1, 6.9, 5.4, 7.3, 4.3, 1.1, 1.3, 0.2, 0.3, 1.5),
    "fr": (6.7, 1.3, 4.0, 4.3, 17.5, 1.7, 1.3, 1.1, 7.6, 0.2, 0.1, 5.1, 2.9,
           7.1, 6.3, 3.3, 0.6, 6.9, 7.7, 7.1, 4.9, 1.3, 0.1, 0.5, 0.5, 0.2),
    "es": (10.5, 1.6, 5.4, 5.6, 13.8, 1.3, 1.0, 0.8, 7.6, 0.3, 0.1, 5.3, 2.7,
           7.4, 9.7, 2.9, 0.5, 6.9, 6.4, 4.9, 3.4, 1.1, 0.1, 0.3, 0.3, 0.3),
    "it": (8.4, 1.2, 4.1, 3.6, 11.8, 1.5, 2.0, 1.0, 11.7, 0.0, 0.2, 5.6, 3.1,
           7.7, 9.5, 3.2, 0.2, 6.5, 5.8, 6.8, 3.3, 1.3, 0.1, 0.1, 0.3, 1.3),
    "nl": (7.9, 1.9, 1.6, 4.9, 18.2, 1.2, 3.8, 1.6, 6.6, 0.9, 2.3, 3.8, 2.4,
           9.8, 5.7, 2.3, 0.0, 6.0, 4.7, 7.4, 2.1, 2.7, 1.2, 0.2, 0.3, 0.6),
    "sv": (12.0, 1.4, 1.1, 4.1, 9.9, 2.5, 3.2, 0.9, 6.4, 0.4, 3.4, 6.1, 3.5,
           8.8, 5.6, 2.1, 0.0, 7.7, 6.2, 9.2, 1.9, 2.2, 0.1, 0.3, 0.9, 0.0),
    "fi": (12.2, 0.6, 0.4, 1.7, 9.8, 0.3, 0.3, 1.7, 10.9, 1.2, 4.7, 5.7, 2.9,
           6.7, 7.7, 1.9, 0.0, 3.5, 7.3, 10.9, 4.8, 2.3, 0.1, 0.1, 2.1, 0.0),
    "pl": (10.5, 1.5, 4.3, 3.1, 9.4, 0.6, 1.4, 0.7, 8.4, 2.3, 3.3, 3.0, 2.5,
           7.3, 8.3, 3.8, 0.0, 4.0, 4.8, 4.2, 2.9, 0.1, 4.4, 0.1, 3.8, 5.2),
    "cs": (9.0, 2.1, 3.2, 3.2, 10.1, 0.5, 0.5, 1.7, 7.1, 1.7, 3.0, 3.7, 2.3,
           7.5, 8.7, 4.5, 0.0, 5.5, 5.1, 5.4, 4.4, 3.8, 0.1, 0.2, 2.9, 3.6),
    "hu": (11.7, 1.6, 1.4, 1.6, 13.6, 1.4, 2.6, 1.8, 5.0, 1.3, 4.5, 7.0, 3.5,
           5.5, 6.7, 1.5, 0.0, 4.6, 6.7, 8.1, 2.0, 2.2, 0.1, 0.2, 1.8, 3.9),
    "tr": (11.1, 2.6, 2.6, 4.3, 9.9, 0.6, 2.6, 0.7, 9.9, 0.0, 4.0, 7.7, 4.1,
           6.8, 3.9, 1.0, 0.0, 7.5, 6.0, 4.2, 4.5, 0.9, 0.1, 0.1, 3.3, 1.5),
}
#: A letter a language never uses still turns up (names, loan words): never less likely than this.
_FLOOR = 0.1


def _logs(shares: tuple[float, ...]) -> list[list[float]]:
    """For each shift s, the log frequencies moved so that a page's letter i + s meets the language's letter i."""
    logs = [math.log(max(share, _FLOOR) / 100) for share in shares]
    return [logs[-shift:] + logs[:-shift] for shift in range(26)]


#: Shift by shift: each language's log frequencies.
_SHIFTED_LOGS = list(zip(*(_logs(shares) for shares in _LANGUAGES.values()), strict=True))
#: The languages' average, for a quick first look: letters that fit it no better shifted than as they stand
#: are not shifted (every shifted corpus page fitted it better shifted back, by 38 or more).
_SHIFTED_AVERAGE_LOGS = _logs(tuple(sum(letter) / len(_LANGUAGES) for letter in zip(*_LANGUAGES.values(), strict=True)))
#: The shifted-alphabet check reads the letters of the first words only: a few thousand letters are plenty.
_SAMPLE_WORDS = 1000
_LOWERCASE = tuple(bytes([code]) for code in range(ord("a"), ord("z") + 1))

_VOWEL_BASES = "aeiouyæøœıəɐɑɒɔɛɜɨɪɵʉʊʌ"
#: The Latin letters: ASCII, Latin-1, Extended-A and -B, IPA (ə), Extended Additional, -C, -D, -E,
#: the ligatures ﬁ, ﬂ... and the full-width forms.
_LATIN = (*range(0x41, 0x5B), *range(0x61, 0x7B), *range(0xC0, 0x2B0), *range(0x1E00, 0x1F00),
          *range(0x2C60, 0x2C80), *range(0xA720, 0xA800), *range(0xAB30, 0xAB70), *range(0xFB00, 0xFB07),
          *range(0xFF21, 0xFF3B), *range(0xFF41, 0xFF5B))
_GREEK = "\u0370-\u03ff\u1f00-\u1fff"
_CYRILLIC = "\u0400-\u052f\u1c80-\u1c8f\u2de0-\u2dff\ua640-\ua69f"
#: Kana, CJK ideographs and Hangul: a single sign is a word, and a run of them is its own word.
_CJK_BLOCKS = ((0x1100, 0x11FF), (0x3040, 0x30FF), (0x3130, 0x318F), (0x3400, 0x4DBF), (0x4E00, 0x9FFF),
               (0xAC00, 0xD7AF), (0xF900, 0xFAFF))
_SUPPLEMENTARY_CJK = "\U00020000-\U0003134f"
#: Either of the two below (rare: a quick search spares the page two passes).
_ODD = re.compile("[\x0b\x1c-\x1f\x85\xad\u200b-\u200f\u2060\ufeff]")
#: Controls that ``str.split`` takes for spaces: they are junk, not spaces.
_SPLIT_CONTROLS = re.compile("[\x0b\x1c-\x1f\x85]")
#: Invisible format characters (soft hyphen, zero-width space and joiners, BOM): nothing at all.
_INVISIBLE = re.compile("[\xad\u200b-\u200f\u2060\ufeff]")
_NUMBER = re.compile(r"\d+(?:[.,:/'\-]\d+)*")
#: A rule or leader dots: a run of one of these (``-----``, ``......``, ``____``) counts as one character.
_RULE = re.compile("([-._=*~#·•…─━═—–])\\1+")


@dataclass(frozen=True)
class Readability:
    """The verdict on one page's text, with the reason in plain words for a log or history line."""

    readable: bool
    reason: str
    words: int


class _Patterns(NamedTuple):
    letters: re.Pattern[str]
    words: re.Pattern[str]


def readability(text: str) -> Readability:
    """Whether ``text`` (one page of ``pdftotext -layout`` output) is readable text, and why."""
    text = unicodedata.normalize("NFC", text)
    controls = 0
    if _ODD.search(text):
        text = _INVISIBLE.sub("", text)
        controls = len(_SPLIT_CONTROLS.findall(text))
    text = " ".join(text.split())
    patterns = _patterns()
    parts = patterns.letters.split(text)  # the rest, a run of letters, the rest, a run of letters, ...
    runs, rest = parts[1::2], " ".join(parts[0::2])
    without_rules, rules = _RULE.subn("", rest)
    characters = len(text) - text.count(" ") + controls - (len(rest) - len(without_rules) - rules)
    if characters <= 0:
        return Readability(False, "no text", 0)
    words = patterns.words.findall("\n".join(runs))
    found, letters, word_letters = len(words), sum(map(len, runs)), sum(map(len, words))
    digits = sum(map(len, _NUMBER.findall(rest)))
    junk = max(0, characters - word_letters - digits) / characters
    if junk > MAX_JUNK or found < MIN_WORDS:
        symbols = max(0, characters - letters - digits) / characters
        stray = (letters - word_letters) / characters
        detail = f"{_percent(symbols)} symbols"
        if stray >= 0.05:
            detail += f", {_percent(stray)} letters outside words"
        what = "text is garbage" if junk > MAX_JUNK and characters >= FEW_CHARACTERS else "too little text"
        return Readability(False, f"{what}: {_count(found, 'word')} in {characters} characters, {detail}", found)
    if shift := _shifted_by(words):
        return Readability(False, f"text is garbage: {_count(found, 'word')}, but their letters are a language's "
                                  f"shifted by {shift} places", found)
    return Readability(True, f"readable: {_count(found, 'word')}", found)


def readable(text: str) -> bool:
    """True when ``text`` is worth reading; False when it is absent or garbage and the page needs OCR."""
    return readability(text).readable


def _shifted_by(words: list[str]) -> int:
    """By how many places the words' letters look shifted from a language's (0: they look like one, or too few)."""
    latin = unicodedata.normalize("NFD", "".join(words[:_SAMPLE_WORDS])).lower().encode("ascii", "ignore")
    counts = [latin.count(letter) for letter in _LOWERCASE]
    if sum(counts) < MIN_LETTERS_FOR_SHIFT:
        return 0
    rough = [sum(map(mul, counts, logs)) for logs in _SHIFTED_AVERAGE_LOGS]
    if max(rough[1:]) <= rough[0]:
        return 0
    fits = [max(sum(map(mul, counts, logs)) for logs in languages) for languages in _SHIFTED_LOGS]
    best = max(range(1, 26), key=fits.__getitem__)
    return best if fits[best] - fits[0] >= MIN_SHIFT_EVIDENCE else 0


@functools.cache
def _patterns() -> _Patterns:
    """The letter and word patterns; built on first use from the Unicode database (a few milliseconds)."""
    # Letters and the marks on them: Unicode categories L* and M* of the Basic Multilingual Plane, plus the
    # CJK extension planes.  (`\w` would take digits, underscore and numerics like ① or ² as letters too.)
    majors = "".join([category[0] for category in map(unicodedata.category, map(chr, range(0x10000)))])
    for first, last in _CJK_BLOCKS:  # a CJK letter ("K") never shares a run with another script's
        block = majors[first:last + 1]
        majors = majors[:first] + block.replace("L", "K").replace("M", "K") + majors[last + 1:]
    letter, cjk, marks = (_ranges(re.finditer(kinds, majors)) for kinds in ("[LM]+", "K+", "M+"))
    cjk += _SUPPLEMENTARY_CJK
    vowels: list[str] = []
    consonants: list[str] = []
    for code in _LATIN:
        char = chr(code)
        if char.isalpha():
            base = unicodedata.normalize("NFKD", char)[0].lower()  # é: e, ﬁ: f, ａ (full width): a
            (vowels if base in _VOWEL_BASES else consonants).append(_escape(code))
    vowel, consonant = "".join(vowels), "".join(consonants)
    other = rf"(?:(?![{vowel}{consonant}{_GREEK}{_CYRILLIC}])[{letter}]){{2,}}"
    consonant += marks
    words = re.compile(rf"^(?:(?=[{consonant}]*[{vowel}])[{vowel}{consonant}]{{2,}}|[{_GREEK}{marks}]{{2,}}"
                       rf"|[{_CYRILLIC}{marks}]{{2,}}|[{cjk}]+|{other})$", re.MULTILINE)
    return _Patterns(re.compile(f"([{letter}]+|[{cjk}]+)"), words)


def _ranges(runs: Iterator[re.Match[str]]) -> str:
    """A character class's ranges (without brackets) for these runs of code points."""
    return "".join(f"{_escape(run.start())}-{_escape(run.end() - 1)}" for run in runs)


def _escape(code: int) -> str:
    return re.escape(chr(code))


def _percent(share: float) -> str:
    return f"{round(share * 100)}%"


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"
