"""Fixtures for the extraction tests: the corpus stripped of its XML once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.corpus import Sample, samples


@pytest.fixture(scope="session")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Sample]:
    """Every printed corpus invoice with a verified XML-free copy and its XML ground truth."""
    return samples(Path(tmp_path_factory.mktemp("stripped")))
