"""The JSON schemas of the API's bodies and answers (the ``components`` of ``/openapi.json``)."""

from __future__ import annotations

from typing import Any

from connect_core.accounts.users import ROLES
from connect_core.config import ENVIRONMENTS
from connect_core.invoices.actions import ACTIONS
from connect_core.invoices.states import State
from connect_core.pipeline.correct import FIELDS as CORRECTABLE_FIELDS
from connect_core.pipeline.correct import MAX_TEXT
from connect_core.web.views import MAX_ID


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


STATES = [s.value for s in State]
SCHEMAS: dict[str, Any] = {
    "Error": {"type": "object", "required": ["error"], "properties": {
        "error": {"type": "string"},
        "field": {"type": "string", "description": "the field a correction's wrong value was given for"}}},
    "Invoice": {
        "type": "object",
        "required": ["id", "uuid", "state", "reason", "owner", "invoice_number", "issue_date", "due_date", "currency",
                     "total", "seller", "buyer", "created", "updated"],
        "properties": {
            "id": {"type": "integer"}, "uuid": {"type": "string"},
            "state": {"type": "string", "enum": STATES}, "reason": {"type": "string"},
            "job_id": {"type": "integer"}, "owner": {"type": "string", "description": "printed by (IPP user name)"},
            "pages": {"type": "integer"}, "first_page": {"type": "integer"}, "last_page": _nullable("integer"),
            "has_text": {"type": "boolean"}, "source_format": {"type": "string"}, "sha256": {"type": "string"},
            "invoice_number": _nullable("string"), "issue_date": _nullable("string", format="date"),
            "due_date": _nullable("string", format="date"), "currency": _nullable("string"),
            "total": _nullable("string", description="decimal amount"), "seller": _nullable("string"),
            "buyer": _nullable("string"), "environment": _nullable("string"),
            "delivery_status": _nullable("string"), "attempts": {"type": "integer"},
            "last_error": {"type": "string"}, "restartable": {"type": "boolean"},
            "distribution": _nullable("string", description="Electronic, EPrint or OriginalPrint"),
            "duplicate_of": _nullable("integer", description="the earlier invoice this one repeats"),
            "sent": _nullable("string", format="date-time"),
            "created": {"type": "string", "format": "date-time"}, "updated": {"type": "string", "format": "date-time"},
        },
    },
    "InvoiceList": {
        "type": "object", "required": ["items", "next", "view"],
        "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Invoice"}},
                       "next": _nullable("string", description="cursor of the next page; null on the last page"),
                       "view": {"type": "string"}},
    },
    "Event": {
        "type": "object", "required": ["at", "what", "from", "to", "why", "who"],
        "properties": {"at": {"type": "string", "format": "date-time"}, "what": {"type": "string"},
                       "from": _nullable("string"), "to": _nullable("string"), "why": {"type": "string"},
                       "who": {"type": "string"}},
    },
    "History": {"type": "object", "required": ["items"],
                "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}}},
    "Field": {
        "type": "object", "required": ["name", "label", "value", "source", "confidence"],
        "properties": {"name": {"type": "string"}, "label": {"type": "string"}, "value": _nullable("string"),
                       "source": _nullable("string", description="where the value was read"),
                       "confidence": _nullable("number")},
    },
    "InvoiceDetail": {
        "allOf": [{"$ref": "#/components/schemas/Invoice"}, {
            "type": "object", "required": ["fields", "job", "history", "actions"],
            "properties": {
                "fields": {"type": "array", "items": {"$ref": "#/components/schemas/Field"}},
                "job": {"oneOf": [{"type": "null"}, {
                    "type": "object", "required": ["id", "name", "user", "door", "received"],
                    "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                                   "user": {"type": "string"}, "door": {"type": "string"},
                                   "source": {"type": "string"}, "format": _nullable("string"),
                                   "received": {"type": "string"}}}]},
                "history": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}},
                "actions": {"type": "array", "items": {"type": "string",
                                                       "enum": list(ACTIONS)}},
            }}],
    },
    "ActionResult": {"type": "object", "required": ["id", "state"],
                     "properties": {"id": {"type": "integer"}, "state": {"type": "string", "enum": STATES}}},
    "SendRequest": {
        "type": "object", "additionalProperties": False, "required": ["environment"],
        "properties": {
            "ids": {"type": ["array", "null"], "maxItems": 1000,
                    "items": {"type": "integer", "minimum": 1, "maximum": MAX_ID},
                    "description": "invoices to send; null or absent sends every invoice in Files to send"},
            "environment": {"type": "string", "enum": list(ENVIRONMENTS)}},
    },
    "SendResult": {"type": "object", "required": ["queued"],
                   "properties": {"queued": {"type": "array", "items": {"type": "integer"}}}},
    "ResendRequest": {"type": "object", "additionalProperties": False,
                      "properties": {"confirm": {"type": "boolean", "description":
                                                 "resend although the recipient already has it"}}},
    "CorrectionRequest": {
        "type": "object", "additionalProperties": False, "required": ["values"],
        "properties": {
            "values": {"type": "object", "additionalProperties": False, "description":
                       "the fields to change, as typed: dates as YYYY-MM-DD or as the page prints them, amounts with "
                       "the page's decimal separator or a point; an empty due_date or buyer clears it",
                       "properties": {name: {"type": "string", "maxLength": MAX_TEXT} for name in CORRECTABLE_FIELDS}},
            "learn": {"type": "boolean", "description": "learn the invoice's layout from it (default true)"}},
    },
    "Correction": {
        "type": "object",
        "required": ["id", "state", "changed", "layout", "learned_fields", "nothing_learned", "reread", "moved"],
        "properties": {
            "id": {"type": "integer"}, "state": {"type": "string", "enum": STATES},
            "changed": {"type": "object", "description": "field → [value before, value after]",
                        "additionalProperties": {"type": "array", "minItems": 2, "maxItems": 2,
                                                 "items": _nullable("string")}},
            "layout": _nullable("string", description="the layout learned (or improved) from it"),
            "learned_fields": {"type": "array", "items": {"type": "string"}},
            "nothing_learned": {"type": "string", "description": "why no layout was learned"},
            "reread": {"type": "array", "items": {"type": "integer"},
                       "description": "waiting invoices read again through the learned layout"},
            "moved": {"type": "array", "items": {"type": "integer"},
                      "description": "of those, the ones that left Needs attention"}},
    },
    "Layout": {
        "type": "object",
        "required": ["name", "file", "learned", "fields", "learned_from", "learned_by", "learned_at", "reads",
                     "last_used", "error"],
        "properties": {
            "name": {"type": "string"}, "file": {"type": "string"},
            "learned": {"type": "boolean", "description": "learned from a correction (else written by hand)"},
            "fields": {"type": "array", "items": {"type": "string"}},
            "learned_from": _nullable("integer", description="the invoice it was learned from"),
            "learned_by": _nullable("string"), "learned_at": _nullable("string", format="date-time"),
            "reads": {"type": "integer", "description": "invoices read through it since"},
            "last_used": _nullable("string", format="date-time"),
            "error": {"type": "string", "description": "why the file is refused (it is skipped); empty when it loads"}},
    },
    "LayoutList": {"type": "object", "required": ["items"],
                   "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/Layout"}}}},
    "LayoutRename": {"type": "object", "additionalProperties": False, "required": ["name"],
                     "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 80,
                                             "description": "letters, digits, spaces and .,&()'+-"}}},
    "LayoutDeleted": {"type": "object", "required": ["deleted"], "properties": {"deleted": {"type": "string"}}},
    "Status": {
        "type": "object", "required": ["printer", "online", "counts", "version"],
        "properties": {
            "printer": {"type": "object", "required": ["ready", "message"],
                        "properties": {"ready": {"type": "boolean"}, "message": {"type": "string"}}},
            "online": {"$ref": "#/components/schemas/Connection"},
            "counts": {"type": "object", "required": ["files_to_send", "needs_attention"],
                       "properties": {"files_to_send": {"type": "integer"}, "needs_attention": {"type": "integer"}}},
            "version": {"type": "string", "description": "changes whenever a view may show something new"},
        },
    },
    "Connection": {
        "type": "object",
        "required": ["configured", "connected", "logged_in", "reachable", "message", "checked_at", "demo"],
        "properties": {"configured": {"type": "boolean"}, "connected": {"type": "boolean"},
                       "demo": {"type": "boolean", "description": "invoices go to the local emulator of the demo"},
                       "logged_in": {"type": "boolean"}, "reachable": {"type": "boolean"},
                       "message": {"type": "string"}, "checked_at": _nullable("string", format="date-time")},
    },
    "Session": {
        "type": "object", "required": ["user", "role", "print_names", "csrf_token"],
        "properties": {"user": {"type": "string"}, "role": {"type": "string", "enum": list(ROLES)},
                       "print_names": {"type": "array", "items": {"type": "string"}},
                       "csrf_token": {"type": "string", "description": "send as X-CSRF-Token on every change"}},
    },
    "Settings": {
        "type": "object", "required": ["sending_mode", "online", "file", "demo"],
        "properties": {
            "sending_mode": {"type": "string", "enum": ["automatic", "manual"]},
            "online": {"type": "object", "required": ["url", "username", "password_set", "company_id", "environment"],
                       "properties": {"url": {"type": "string"}, "username": {"type": "string"},
                                      "password_set": {"type": "boolean"}, "company_id": {"type": "string"},
                                      "environment": {"type": "string", "enum": list(ENVIRONMENTS)}}},
            "file": {"type": "string", "description": "the configuration file the settings are saved to"},
            "demo": {"type": "boolean", "description": "no account is configured and invoices go to the local "
                                                       "emulator of the demo (its account is never a setting)"},
            "ocr": {"type": "object", "description": "text recognition for pages without text: whether it runs here",
                    "required": ["available", "summary", "languages", "missing", "default"],
                    "properties": {"available": {"type": "boolean"}, "summary": {"type": "string"},
                                   "languages": {"type": "array", "items": {"type": "string"}},
                                   "missing": {"type": "array", "items": {"type": "string"}},
                                   "default": {"type": "string", "description": "what an empty ocr.languages means"}}},
            "ocr_languages": {"type": "string", "description": "the setting ocr.languages (empty: from the country)"},
        },
    },
    "SettingsChange": {
        "type": "object", "additionalProperties": False,
        "properties": {
            "sending_mode": {"type": "string", "enum": ["automatic", "manual"]},
            "url": {"type": "string", "maxLength": 2000, "pattern": "^https?://[!-~]+$"},
            "username": {"type": "string", "maxLength": 200, "pattern": "^[^\\r\\n\\x00]*$"},
            "password": {"type": "string", "maxLength": 200, "pattern": "^[^\\r\\n\\x00]*$",
                         "description": "write-only; empty keeps the one set"},
            "company_id": {"type": "string", "maxLength": 200, "pattern": "^[^\\r\\n\\x00]*$"},
            "environment": {"type": "string", "enum": list(ENVIRONMENTS)},
            "ocr_languages": {"type": "string", "maxLength": 200, "pattern": "^[a-zA-Z, +]*$"},
        },
    },
    "User": {"type": "object", "required": ["name", "role", "print_names"],
             "properties": {"name": {"type": "string"}, "role": {"type": "string", "enum": list(ROLES)},
                            "print_names": {"type": "array", "items": {"type": "string"}}}},
    "UserList": {"type": "object", "required": ["items"],
                 "properties": {"items": {"type": "array", "items": {"$ref": "#/components/schemas/User"}}}},
    "NewUser": {
        "type": "object", "additionalProperties": False, "required": ["name", "password", "role"],
        "properties": {"name": {"type": "string", "pattern": "^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$"},
                       "password": {"type": "string", "minLength": 8, "maxLength": 1000},
                       "role": {"type": "string", "enum": list(ROLES)},
                       "print_names": {"type": "array", "maxItems": 50,
                                       "items": {"type": "string", "maxLength": 255}}},
    },
    "PrintNames": {"type": "object", "additionalProperties": False, "required": ["print_names"],
                   "properties": {"print_names": {"type": "array", "minItems": 1, "maxItems": 50,
                                                  "items": {"type": "string", "maxLength": 255}}}},
}

