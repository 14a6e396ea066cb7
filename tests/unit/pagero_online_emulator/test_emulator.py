"""The emulator keeps every upload, repeats included, and speaks the API's shapes."""

from __future__ import annotations

from pathlib import Path

import requests

from pagero_online_emulator.server import SAMPLES
from tests.support.emulator import Emulator


def token(emulator: Emulator) -> str:
    response = requests.post(emulator.url + "/oauth/v2/oauth-token", timeout=10,
                             data={"grant_type": "password", "username": "demo", "password": "demo"})
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0 and body["refresh_token"]
    return str(body["access_token"])


def upload(emulator: Emulator, bearer: str, reference: str) -> requests.Response:
    return requests.post(
        emulator.url + "/file/v1/files", timeout=10, headers={"Authorization": f"Bearer {bearer}"},
        files={"payload": ("a.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")},
        data={"documentType": "Invoice", "sendMode": "Production", "sendingCompanyId": "demo",
              "senderReference": reference},
    )


def test_a_repeated_sender_reference_becomes_a_second_file(emulator: Emulator) -> None:
    bearer = token(emulator)
    first, second = upload(emulator, bearer, "same-ref"), upload(emulator, bearer, "same-ref")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]
    assert [f["senderReference"] for f in emulator.files()] == ["same-ref", "same-ref"]


def test_auth_is_required_and_bad_credentials_refused(emulator: Emulator) -> None:
    assert upload(emulator, "not-a-token", "x").status_code == 401
    bad = requests.post(emulator.url + "/oauth/v2/oauth-token", timeout=10,
                        data={"grant_type": "password", "username": "demo", "password": "wrong"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"


def test_inbound_invoices_are_served_and_acknowledged(emulator: Emulator) -> None:
    headers = {"Authorization": f"Bearer {token(emulator)}"}
    listing = requests.get(emulator.url + "/document/v1/documents", headers=headers, timeout=10,
                           params={"direction": "Received", "limit": 3}).json()
    # Without --inbound it serves its own demo samples.
    assert listing["meta"]["total"] == len(list(SAMPLES.glob("*.xml"))) == 5 and len(listing["items"]) == 3
    first = listing["items"][0]
    assert first["documentInfo"]["direction"] == "Received"
    xml = requests.get(emulator.url + f"/document/v1/documents/{first['id']}/targetdocument", headers=headers,
                       timeout=10)
    assert xml.status_code == 200 and xml.content.lstrip().startswith(b"<?xml")
    requests.post(emulator.url + "/document/v1/documents/fetch", json={"ids": [first["id"]]}, headers=headers,
                  timeout=10).raise_for_status()
    fetched = requests.get(emulator.url + "/document/v1/documents", headers=headers, timeout=10,
                           params={"direction": "Received", "showFetchedOnly": "true"}).json()
    assert [item["id"] for item in fetched["items"]] == [first["id"]]


def test_what_it_received_survives_a_restart(emulator: Emulator, data_root: Path) -> None:
    upload(emulator, token(emulator), "kept")
    emulator.stop()
    emulator.start()
    assert [f["senderReference"] for f in emulator.files()] == ["kept"]
