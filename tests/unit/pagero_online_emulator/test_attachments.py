"""Manual attachment handling at the emulator: files wait for attachments, the register picks the channel."""

from __future__ import annotations

import hashlib
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from reportlab.pdfgen import canvas

from tests.support.emulator import Emulator, wait_until

FIVE_MB = 5 * 1024 * 1024


def token(emulator: Emulator) -> str:
    response = requests.post(emulator.url + "/oauth/v2/oauth-token", timeout=10,
                             data={"grant_type": "password", "username": "demo", "password": "demo"})
    response.raise_for_status()
    return str(response.json()["access_token"])


class Api:
    """The bearer-authenticated API of one emulator."""

    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.headers = {"Authorization": f"Bearer {token(emulator)}"}

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(self.emulator.url + path, headers=self.headers, params=params, timeout=30)

    def upload(self, payload: bytes, reference: str = "ref") -> str:
        response = requests.post(
            self.emulator.url + "/file/v1/files", timeout=10, headers=self.headers,
            files={"payload": ("invoice.pdf", payload, "application/pdf")},
            data={"documentType": "Invoice", "sendMode": "Production", "sendingCompanyId": "demo",
                  "senderReference": reference},
        )
        assert response.status_code == 201, response.text
        return str(response.json()["id"])

    def attach(self, filepart_id: str, data: bytes | None = b"%PDF-1.4 delivery note",
               document_type: str = "DeliveryNote", **fields: str) -> requests.Response:
        files = {} if data is None else {"file": ("note.pdf", data, "application/pdf")}
        return requests.post(self.emulator.url + f"/file/v1/fileparts/{filepart_id}/attachments", timeout=30,
                             headers=self.headers, files=files or {"nothing": ("", b"")},
                             data={"documentType": document_type, **fields})

    def fileparts(self, file_id: str, **params: Any) -> list[dict[str, Any]]:
        response = self.get(f"/file/v1/files/{file_id}/fileparts", **params)
        response.raise_for_status()
        return list(response.json()["items"])

    def sent(self, file_id: str) -> dict[str, Any]:
        items = self.get("/document/v1/documents", fileId=file_id).json()["items"]
        assert len(items) == 1
        return dict(items[0])

    def action(self, filepart_id: str, action: str) -> requests.Response:
        return requests.post(self.emulator.url + f"/file/v1/fileparts/{filepart_id}/action", json={"action": action},
                             headers=self.headers, timeout=10)


def pdf(text: str) -> bytes:
    """A one-page PDF made with reportlab showing ``text``."""
    buffer = io.BytesIO()
    page = canvas.Canvas(buffer)
    page.drawString(72, 720, "Rechnung 4711")
    page.drawString(72, 700, text)
    page.save()
    return buffer.getvalue()


def settings(api: Api) -> dict[str, Any]:
    response = api.get("/account/v1/settings")
    response.raise_for_status()
    return dict(response.json())


def test_the_account_setting_is_off_by_default_switchable_and_kept_over_a_restart(data_root: Path) -> None:
    emulator = Emulator(data_root / "emulator").start()
    try:
        assert settings(Api(emulator)) == {"companyId": "demo", "manualAttachmentHandling": False}
        assert requests.get(emulator.url + "/account/v1/settings", timeout=10).status_code == 401
        emulator.manual_attachment_handling(True)
        assert emulator.admin("/_emulator/account") == {"companyId": "demo", "manualAttachmentHandling": True}
        bad = requests.post(emulator.url + "/_emulator/account", json={"manualAttachmentHandling": "yes"}, timeout=10)
        assert bad.status_code == 400
        emulator.stop()
        emulator.start()
        assert settings(Api(emulator))["manualAttachmentHandling"] is True
        emulator.manual_attachment_handling(False)
        assert settings(Api(emulator))["manualAttachmentHandling"] is False
    finally:
        emulator.stop()
    flagged = Emulator(data_root / "other", manual_attachments=True).start()
    try:
        assert settings(Api(flagged))["manualAttachmentHandling"] is True
        assert [t["code"] for t in Api(flagged).get("/file/v1/attachmenttypes").json()["items"]] == \
            ["DeliveryNote", "TimeSheet", "Contract", "Order", "Other"]
    finally:
        flagged.stop()


def test_with_the_switch_on_a_file_awaits_attachments_on_the_channel_the_register_gives(emulator: Emulator) -> None:
    emulator.register({"DE123456789": "EPrint", "Kunde GmbH": "OriginalPrint"}, default="Electronic")
    emulator.manual_attachment_handling(True)
    api = Api(emulator)
    by_vat = api.upload(pdf("Kunde AG, USt-IdNr. de123456789"), "by-vat")
    by_name = api.upload("Rechnung an KUNDE GmbH, Hauptstraße 1".encode(), "by-name")
    other = api.upload(pdf("Someone Else Ltd"), "other")
    for file_id, distribution in ((by_vat, "EPrint"), (by_name, "OriginalPrint"), (other, "Electronic")):
        [part] = api.fileparts(file_id, Status="AwaitingInteraction,Error")
        assert part == {"id": f"{file_id}-1", "fileId": file_id, "status": "AwaitingInteraction",
                        "reason": "AwaitingAttachments", "distribution": distribution, "attachments": []}
        assert api.fileparts(file_id, Status="Error") == []
        document = api.sent(file_id)
        assert document["deliveryStatus"] == "AwaitingInteraction"
        assert document["distribution"] == distribution and document["attachments"] == []
    files = {f["id"]: f for f in emulator.files()}
    assert files[by_vat]["distribution"] == "EPrint" and files[by_vat]["awaitingAttachments"] is True
    time.sleep(emulator.step_seconds * 5)  # long past DoneFetched for a file that does not wait
    assert api.sent(other)["deliveryStatus"] == "AwaitingInteraction"


def test_the_register_is_validated_kept_over_a_restart_and_read_from_a_file(data_root: Path) -> None:
    path = data_root / "register.json"
    path.write_text(json.dumps({"recipients": [{"match": "Acme", "distribution": "OriginalPrint"}],
                                "default": "EPrint"}))
    emulator = Emulator(data_root / "emulator", recipients=path).start()
    try:
        assert emulator.admin("/_emulator/recipients") == {
            "recipients": [{"match": "Acme", "distribution": "OriginalPrint"}], "default": "EPrint"}
        wrong = requests.post(emulator.url + "/_emulator/recipients", timeout=10,
                              json={"recipients": [{"match": "x", "distribution": "Fax"}]})
        assert wrong.status_code == 400 and "Fax" in wrong.json()["message"]
        api = Api(emulator)
        assert api.sent(api.upload(b"ACME Corp"))["distribution"] == "OriginalPrint"
        assert api.sent(api.upload(b"%PDF-1.4 broken"))["distribution"] == "EPrint"  # no text: the default
        emulator.register({"Beta": "Electronic"})
        emulator.recipients = None
        emulator.stop()
        emulator.start()
        kept = emulator.admin("/_emulator/recipients")
        assert kept == {"recipients": [{"match": "Beta", "distribution": "Electronic"}], "default": "Electronic"}
    finally:
        emulator.stop()
    path.write_text('{"recipients": [{"match": "x", "distribution": "Pigeon"}]}')
    refused = Emulator(data_root / "refused", recipients=path)
    with pytest.raises(RuntimeError):  # the command refuses a wrong register file and exits
        refused.start()


def test_attachments_are_checked_then_stored_every_time_they_are_posted(emulator: Emulator) -> None:
    emulator.manual_attachment_handling(True)
    api = Api(emulator)
    file_id = api.upload(pdf("Kunde"))
    part = f"{file_id}-1"
    exact = b"a" * FIVE_MB
    accepted = api.attach(part, exact, "TimeSheet", note="Stunden März", reference="att-1")
    assert accepted.status_code == 201, accepted.text
    record = accepted.json()
    assert record["reference"] == "att-1" and record["fileName"] == "note.pdf" and record["size"] == FIVE_MB
    assert record["documentType"] == "TimeSheet" and record["note"] == "Stunden März"
    assert record["sha256"] == hashlib.sha256(exact).hexdigest()
    assert (emulator.data_dir / "attachments" / f"{record['id']}.bin").read_bytes() == exact

    too_big = api.attach(part, exact + b"a")
    assert too_big.status_code == 413 and too_big.json()["errors"][0]["status"] == 413
    unknown_type = api.attach(part, document_type="Invoice")
    assert unknown_type.status_code == 400 and "DeliveryNote" in unknown_type.json()["message"]
    assert api.attach(part, b"").status_code == 400
    assert api.attach(part, None).status_code == 400
    assert api.attach(part, note="n" * 501).status_code == 400
    assert api.attach(part, reference="r" * 101).status_code == 400
    assert api.attach(f"{file_id}-2").status_code == 404
    assert api.attach("no-such-file-1").status_code == 404

    # The same attachment twice is two attachments: exactly once is the client's job.
    again = [api.attach(part, b"order", "Order", note="n" * 500, reference="att-2") for _ in range(2)]
    assert [r.status_code for r in again] == [201, 201] and again[0].json()["id"] != again[1].json()["id"]
    listed = api.get(f"/file/v1/fileparts/{part}/attachments").json()
    assert listed["meta"]["total"] == 3
    assert [a["reference"] for a in listed["items"]] == ["att-1", "att-2", "att-2"]
    assert set(listed["items"][0]) == {"id", "reference", "fileName", "documentType", "note", "size", "sha256",
                                       "createTime"}
    assert api.get("/file/v1/fileparts/nothing-1/attachments").status_code == 404
    [waiting] = api.fileparts(file_id)
    assert [a["id"] for a in waiting["attachments"]] == [a["id"] for a in listed["items"]]
    assert [a["id"] for a in api.sent(file_id)["attachments"]] == [a["id"] for a in listed["items"]]
    [stored] = emulator.files()
    assert [a["reference"] for a in stored["attachments"]] == ["att-1", "att-2", "att-2"]

    emulator.stop()
    emulator.start()
    api = Api(emulator)
    assert [a["id"] for a in api.get(f"/file/v1/fileparts/{part}/attachments").json()["items"]] == \
        [a["id"] for a in listed["items"]]
    assert api.fileparts(file_id)[0]["status"] == "AwaitingInteraction"


def test_a_dropped_answer_still_stores_the_attachment(emulator: Emulator) -> None:
    emulator.manual_attachment_handling(True)
    api = Api(emulator)
    part = api.upload(b"invoice") + "-1"
    emulator.faults(drop_response_rate=1.0)
    with pytest.raises(requests.ConnectionError):
        api.attach(part, reference="lost-answer")
    emulator.faults()
    [record] = api.get(f"/file/v1/fileparts/{part}/attachments").json()["items"]
    assert record["reference"] == "lost-answer"


def test_restart_releases_the_file_and_delivery_moves_on(emulator: Emulator) -> None:
    api = Api(emulator)
    before = api.upload(b"sent before the switch")
    assert api.attach(f"{before}-1").status_code == 409  # processing, not awaiting attachments
    emulator.manual_attachment_handling(True)
    file_id, cancelled = api.upload(b"invoice"), api.upload(b"another")
    part = f"{file_id}-1"
    assert api.attach(part, reference="a").status_code == 201
    assert api.action(part, "Restart").status_code == 200
    assert api.fileparts(file_id, Status="AwaitingInteraction") == []
    conflict = api.attach(part)
    assert conflict.status_code == 409 and "not awaiting attachments" in conflict.json()["message"]
    wait_until(lambda: api.sent(file_id)["deliveryStatus"] == "DoneFetched", timeout=30)
    assert api.fileparts(file_id) == []
    [released] = [f for f in emulator.files() if f["id"] == file_id]
    assert released["awaitingAttachments"] is False and [a["reference"] for a in released["attachments"]] == ["a"]
    assert api.action(f"{cancelled}-1", "Cancel").status_code == 200
    assert api.sent(cancelled)["deliveryStatus"] == "Cancelled"
    assert api.attach(f"{cancelled}-1").status_code == 409
    # Files sent while the switch was off never waited.
    wait_until(lambda: api.sent(before)["deliveryStatus"] == "DoneFetched", timeout=30)
