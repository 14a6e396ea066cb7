"""Received invoices at the emulator: listing fields read safely once, added documents kept, big and many."""

from __future__ import annotations

import base64
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from pagero_online_emulator.server import SAMPLES
from tests.support.emulator import Emulator

from .test_attachments import Api, pdf

UBL_WITH_ATTACHMENT = """<?xml version="1.0" encoding="UTF-8"?>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:cen.eu:en16931:2017</cbc:CustomizationID>
  <cbc:ID>R-2024-17 &amp; Co</cbc:ID>
  <cbc:IssueDate>2024-05-17</cbc:IssueDate>
  <cbc:DocumentCurrencyCode>EUR</cbc:DocumentCurrencyCode>
  <cac:AdditionalDocumentReference>
    <cbc:ID>Stundenzettel</cbc:ID>
    <cac:Attachment>
      <cbc:EmbeddedDocumentBinaryObject mimeCode="application/pdf" filename="hours.pdf">{payload}
      </cbc:EmbeddedDocumentBinaryObject>
    </cac:Attachment>
  </cac:AdditionalDocumentReference>
  <cac:AccountingSupplierParty><cac:Party><cac:PartyLegalEntity>
    <cbc:RegistrationName>Lieferant GmbH</cbc:RegistrationName>
  </cac:PartyLegalEntity></cac:Party></cac:AccountingSupplierParty>
  <cac:TaxTotal><cbc:TaxAmount currencyID="EUR">19.00</cbc:TaxAmount></cac:TaxTotal>
  <cac:LegalMonetaryTotal>
    <cbc:TaxExclusiveAmount currencyID="EUR">100.00</cbc:TaxExclusiveAmount>
    <cbc:PayableAmount currencyID="EUR">119.00</cbc:PayableAmount>
  </cac:LegalMonetaryTotal>
</Invoice>
"""

DOCTYPE = b"""<?xml version="1.0"?>
<!DOCTYPE Invoice [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;">]>
<Invoice xmlns="urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"><cbc:ID>&lol2;</cbc:ID></Invoice>
"""

NULL_INFO = {"direction": "Received", "documentType": "Invoice", "documentIdentifier": None, "issueDate": None,
             "senderName": None, "amounts": {"currency": None, "totalAmount": None, "netAmount": None,
                                             "vatAmount": None}}


def document(name: str, content: bytes) -> dict[str, str]:
    return {"name": name, "content_base64": base64.b64encode(content).decode()}


def received(api: Api, **params: Any) -> dict[str, Any]:
    response = api.get("/document/v1/documents", direction="Received", **params)
    response.raise_for_status()
    return dict(response.json())


def by_id(api: Api) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in received(api, limit=100_000)["items"]}


def test_the_seeded_samples_are_listed_with_their_fields_and_embedded_attachments(emulator: Emulator) -> None:
    api = Api(emulator)
    items = list(by_id(api).values())
    assert len(items) == len(list(SAMPLES.glob("*.xml")))
    numbers = {item["documentInfo"]["documentIdentifier"]: item for item in items}
    electron = next(item for item in items if item["attachments"])
    assert [(a["fileName"], a["mimeCode"]) for a in electron["attachments"]] == \
        [("Aufmass.png", "image/png"), ("ElektronRapport.pdf", "application/pdf")]
    assert all(a["size"] > 1000 for a in electron["attachments"])
    assert {item["distribution"] for item in items} == {"Electronic"}
    assert {item["documentInfo"]["documentType"] for item in items} == {"Invoice", "CreditNote"}
    cii = numbers["471102"]["documentInfo"]
    assert cii["amounts"] == {"currency": "EUR", "totalAmount": "529.87", "netAmount": "473.00", "vatAmount": "56.87"}
    first = received(api)["items"][0]["createTime"]
    time.sleep(1.1)
    assert received(api)["items"][0]["createTime"] == first  # when it was added, not now


def test_added_documents_are_read_safely_served_and_kept_over_a_restart(emulator: Emulator) -> None:
    api = Api(emulator)
    embedded = b"%PDF-1.4 hours " * 100
    ubl = UBL_WITH_ATTACHMENT.format(payload=base64.encodebytes(embedded).decode()).encode()
    scan = pdf("Received on paper")
    ids = emulator.add_received(documents=[document("with-attachment.xml", ubl), document("../../evil.xml", DOCTYPE),
                                           document("scan.pdf", scan), document("broken.xml", b"<Invoice><ID>")])
    assert len(set(ids)) == 4
    assert requests.post(emulator.url + "/_emulator/received", json={"documents": [{"name": "x"}]},
                         timeout=10).status_code == 400
    listing = by_id(api)
    ubl_item = listing[ids[0]]
    assert ubl_item["attachments"] == [{"fileName": "hours.pdf", "mimeCode": "application/pdf", "size": len(embedded)}]
    assert ubl_item["documentInfo"] == {
        "direction": "Received", "documentType": "Invoice", "documentIdentifier": "R-2024-17 & Co",
        "issueDate": "2024-05-17", "senderName": "Lieferant GmbH",
        "amounts": {"currency": "EUR", "totalAmount": "119.00", "netAmount": "100.00", "vatAmount": "19.00"}}
    for doc_id in ids[1:]:
        assert listing[doc_id]["documentInfo"] == NULL_INFO and listing[doc_id]["attachments"] == []
    assert [p.name for p in (emulator.data_dir / "received").iterdir() if "evil" in p.name] == ["evil.xml"]
    served = api.get(f"/document/v1/documents/{ids[1]}/targetdocument")
    assert served.content == DOCTYPE and served.headers["Content-Type"] == "application/xml"
    served = api.get(f"/document/v1/documents/{ids[2]}/targetdocument")
    assert served.content == scan and served.headers["Content-Type"] == "application/pdf"

    emulator.stop()
    emulator.start()
    again = by_id(Api(emulator))
    assert {doc_id: again[doc_id] for doc_id in ids} == {doc_id: listing[doc_id] for doc_id in ids}
    # The same name again is another document.
    [other] = emulator.add_received(documents=[document("with-attachment.xml", ubl)])
    assert other not in ids


def test_a_thousand_copies_with_distinct_numbers_are_made_and_listed_quickly(emulator: Emulator) -> None:
    api = Api(emulator)
    started = time.monotonic()
    answer = emulator.admin("/_emulator/received",
                            {"generate": {"count": 1000, "from": "XML-Rechnung__CII__EN16931_Einfach.cii.xml"}})
    assert time.monotonic() - started < 10
    assert len(set(answer["ids"])) == 1000
    numbers = [entry["documentIdentifier"] for entry in answer["documents"]]
    assert numbers[0] == "471102-G000001" and len(set(numbers)) == 1000
    started = time.monotonic()
    pages = [received(api, limit=100, offset=offset) for offset in range(0, 1100, 100)]
    assert time.monotonic() - started < 5
    assert {page["meta"]["total"] for page in pages} == {1005}
    listed = [item["documentInfo"]["documentIdentifier"] for page in pages for item in page["items"]]
    assert len(listed) == 1005 and set(numbers) <= set(listed)
    copy = api.get(f"/document/v1/documents/{answer['ids'][41]}/targetdocument").content
    assert b"<ram:ID>471102-G000042</ram:ID>" in copy and b"<ram:ID>471102</ram:ID>" not in copy
    # Without a source, the smallest seeded invoice; numbering goes on from the copies already made.
    more = emulator.admin("/_emulator/received", {"generate": {"count": 2}})["documents"]
    assert all(entry["documentIdentifier"].endswith(("-G000001", "-G000002")) for entry in more)
    again = emulator.admin("/_emulator/received",
                           {"generate": {"count": 1, "from": "XML-Rechnung__CII__EN16931_Einfach.cii.xml"}})
    assert again["documents"][0]["documentIdentifier"] == "471102-G001001"
    unknown = requests.post(emulator.url + "/_emulator/received", json={"generate": {"from": "nope.xml"}}, timeout=10)
    assert unknown.status_code == 400 and "nope.xml" in unknown.json()["message"]


def test_a_large_document_is_listed_without_fields_and_downloaded_whole(emulator: Emulator) -> None:
    api = Api(emulator)
    size = 20 * 1024 * 1024
    [doc_id] = emulator.add_received(large={"name": "huge.xml", "bytes": size})
    assert (emulator.data_dir / "received" / "huge.xml").stat().st_size == size
    item = by_id(api)[doc_id]
    assert item["documentInfo"] == NULL_INFO and item["attachments"] == []
    with requests.get(emulator.url + f"/document/v1/documents/{doc_id}/targetdocument", headers=api.headers,
                      stream=True, timeout=30) as response:
        assert response.status_code == 200 and response.headers["Content-Type"] == "application/xml"
        assert response.headers["Content-Length"] == str(size)
        first = b""
        total = 0
        for chunk in response.iter_content(1024 * 1024):
            first = first or chunk
            total += len(chunk)
    assert total == size and first.startswith(b"<?xml")
    too_small = requests.post(emulator.url + "/_emulator/received", json={"large": {"bytes": 10}}, timeout=10)
    assert too_small.status_code == 400
    # A small "large" document is an ordinary, parsed one (well-formed, no fields).
    [small] = emulator.add_received(large={"name": "small.xml", "bytes": 1000})
    assert by_id(api)[small]["documentInfo"] == NULL_INFO


@pytest.mark.parametrize("body", [{}, {"documents": "x"}, {"generate": {"count": 0}}, {"other": 1}])
def test_wrong_requests_to_add_received_documents_are_refused(emulator: Emulator, body: dict[str, Any]) -> None:
    response = requests.post(emulator.url + "/_emulator/received", json=body, timeout=10)
    assert response.status_code == 400 and response.json()["message"]


def test_fetched_only_and_paging_still_work(emulator: Emulator, data_root: Path) -> None:
    api = Api(emulator)
    ids = [item["id"] for item in received(api, limit=2, offset=1)["items"]]
    assert len(ids) == 2
    requests.post(emulator.url + "/document/v1/documents/fetch", json={"ids": ids[:1]}, headers=api.headers,
                  timeout=10).raise_for_status()
    fetched = received(api, showFetchedOnly="true")
    assert [item["id"] for item in fetched["items"]] == ids[:1] and fetched["items"][0]["isFetched"] is True
