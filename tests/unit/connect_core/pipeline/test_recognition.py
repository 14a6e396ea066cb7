"""Which OCR the office gets: languages from its country unless chosen, off when switched off, what is missing."""

from __future__ import annotations

from connect_core.config import Config
from connect_core.pipeline.recognition import ocr_settings, ocr_status


def test_the_languages_come_from_the_companys_country_unless_chosen() -> None:
    plain = Config()
    assert ocr_settings(plain).languages == ("deu", "fra", "eng")  # type: ignore[union-attr]
    german = plain.replace({"company.name": "Acme GmbH", "company.vat_ids": ["DE123456789"]})
    assert ocr_settings(german).languages == ("deu", "eng")  # type: ignore[union-attr]
    swedish = plain.replace({"company.currency": "SEK"})
    assert ocr_settings(swedish).languages == ("swe", "eng")  # type: ignore[union-attr]
    chosen = german.replace({"ocr.languages": "fra+eng", "ocr.page_seconds": 5, "ocr.max_pages": 3})
    settings = ocr_settings(chosen)
    assert settings is not None and settings.languages == ("fra", "eng")
    assert (settings.page_seconds, settings.max_pages) == (5, 3)
    assert ocr_settings(plain.replace({"ocr.enabled": False})) is None


def test_the_status_says_what_runs_here_and_what_is_missing() -> None:
    german = Config().replace({"company.name": "Acme GmbH", "company.vat_ids": ["DE123456789"]})
    status = ocr_status(german)
    assert status.available and status.languages == ("deu", "eng") and status.missing == ()
    assert status.summary.startswith("Tesseract 5") and status.summary.endswith(": German, English (sandboxed)")
    assert status.default == "the languages of the company's country (DE) and English"

    missing = ocr_status(german.replace({"ocr.languages": ["deu", "xyz"]}))
    assert missing.languages == ("deu",) and missing.missing == ("xyz",)
    assert missing.summary.endswith("German (sandboxed); not installed: xyz")

    off = ocr_status(german.replace({"ocr.enabled": "off"}))
    assert not off.available and off.summary == "off (ocr.enabled): pages without text wait for a person"
    assert ocr_status(Config()).default == "German, French, English, until a company VAT id gives the country"
