"""Which text recognition (OCR) the office gets: the settings in force, and whether this machine can do it."""

from __future__ import annotations

from dataclasses import dataclass

from connect_core.config import Config
from printer_backend.ocr import LANGUAGES, OcrSettings, OcrUnavailable, available, languages_for_country

_CURRENCY_COUNTRY = {"SEK": "SE", "NOK": "NO", "DKK": "DK", "PLN": "PL", "CHF": "CH", "GBP": "GB", "USD": "US"}


def office_country(config: Config) -> str | None:
    """The office's country: the main company's first VAT id's letters, else its currency's country."""
    if config.company.vat_ids:
        return config.company.vat_ids[0][:2]
    return _CURRENCY_COUNTRY.get(config.company.currency)


def ocr_settings(config: Config) -> OcrSettings | None:
    """How pages without text are recognised (``ocr.*``); None when ``ocr.enabled`` is off.

    Without ``ocr.languages``, the languages are the office's country's and English
    (:func:`office_country`; German and French when no country is known).
    """
    if not config.ocr.enabled:
        return None
    return OcrSettings(languages=languages_for_country(office_country(config), config.ocr.languages),
                       page_seconds=config.ocr.page_seconds, max_pages=config.ocr.max_pages)


@dataclass(frozen=True)
class OcrStatus:
    """What the banner and the Settings page say about text recognition."""

    available: bool
    summary: str  # one line: "Tesseract 5.3.0: German, English (sandboxed)" or why not
    languages: tuple[str, ...]  # in use (installed and chosen)
    missing: tuple[str, ...]  # chosen but not installed
    default: str  # what an empty ocr.languages means here, in words


def ocr_status(config: Config) -> OcrStatus:
    """Whether pages without text will be read here, with which languages, and why not if not."""
    settings = ocr_settings(config)
    country = office_country(config)
    fallback = languages_for_country(country)
    default = (f"the languages of the company's country ({country}) and English" if country else
               ", ".join(LANGUAGES.get(code, code) for code in fallback) + ", until a company VAT id gives the country")
    if settings is None:
        return OcrStatus(False, "off (ocr.enabled): pages without text wait for a person", (), (), default)
    try:
        engine = available()
    except OcrUnavailable as problem:
        return OcrStatus(False, f"not available: {problem.reason}", (), settings.languages, default)
    using = tuple(code for code in settings.languages if code in engine.languages)
    missing = tuple(code for code in settings.languages if code not in engine.languages)
    names = ", ".join(LANGUAGES.get(code, code) for code in using) or "none of those chosen is installed"
    extra = f"; not installed: {', '.join(missing)}" if missing else ""
    version = engine.version.replace("tesseract", "Tesseract", 1)
    return OcrStatus(True, f"{version}: {names} (sandboxed){extra}", using, missing, default)
