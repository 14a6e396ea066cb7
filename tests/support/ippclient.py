"""A small IPP client for tests: our codec over http.client, one keep-alive connection."""

from __future__ import annotations

import http.client
import itertools
from pathlib import Path

from ipp.codec import Attribute, Group, GroupTag, Message, Tag, decode, encode
from ipp.status import Operation

_ids = itertools.count(1)


def request(operation: int, uri: str, *extra: Attribute, version: tuple[int, int] = (2, 0),
            user: str = "tester", job: list[Attribute] | None = None) -> Message:
    """A request with the operation attributes every request needs, then ``extra``."""
    op = Group(GroupTag.OPERATION, [
        Attribute.of("attributes-charset", Tag.CHARSET, "utf-8"),
        Attribute.of("attributes-natural-language", Tag.NATURAL_LANGUAGE, "en"),
        Attribute.of("printer-uri", Tag.URI, uri),
        Attribute.of("requesting-user-name", Tag.NAME_WITHOUT_LANGUAGE, user),
        *extra,
    ])
    groups = [op]
    if job:
        groups.append(Group(GroupTag.JOB, list(job)))
    return Message(version, operation, next(_ids), groups)


class Client:
    """Talks IPP to one printer URI (``ipp://127.0.0.1:PORT/ipp/print``)."""

    def __init__(self, uri: str, timeout: float = 60.0) -> None:
        self.uri = uri
        rest = uri.split("://", 1)[1]
        hostport, _, path = rest.partition("/")
        host, _, port = hostport.rpartition(":")
        self.host, self.port, self.path = host, int(port), "/" + path
        self.timeout = timeout
        self.conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)

    def send(self, message: Message, document: bytes = b"") -> Message:
        body = encode(message) + document
        try:
            self.conn.request("POST", self.path, body=body, headers={"Content-Type": "application/ipp"})
            response = self.conn.getresponse()
        except (ConnectionError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.conn.request("POST", self.path, body=body, headers={"Content-Type": "application/ipp"})
            response = self.conn.getresponse()
        data = response.read()
        if response.status != 200:
            raise AssertionError(f"HTTP {response.status}: {data[:200]!r}")
        return decode(data)[0]

    def print_job(self, document: bytes, name: str = "test job", fmt: str = "application/pdf",
                  user: str = "tester") -> Message:
        return self.send(request(
            Operation.PRINT_JOB, self.uri,
            Attribute.of("job-name", Tag.NAME_WITHOUT_LANGUAGE, name),
            Attribute.of("document-format", Tag.MIME_MEDIA_TYPE, fmt),
            user=user,
        ), document)

    def print_file(self, path: Path, **kwargs: str) -> Message:
        return self.print_job(path.read_bytes(), **kwargs)

    def get_jobs(self, which: str = "all") -> list[dict[str, object]]:
        response = self.send(request(
            Operation.GET_JOBS, self.uri,
            Attribute.of("which-jobs", Tag.KEYWORD, which),
            Attribute.of("requested-attributes", Tag.KEYWORD, "all"),
        ))
        return [{a.name: a.value for a in group.attributes} for group in response.groups_of(GroupTag.JOB)]

    def printer_attributes(self, *names: str) -> dict[str, Attribute]:
        response = self.send(request(
            Operation.GET_PRINTER_ATTRIBUTES, self.uri,
            Attribute.of("requested-attributes", Tag.KEYWORD, *(names or ("all",))),
        ))
        group = response.group(GroupTag.PRINTER)
        return {a.name: a for a in group.attributes} if group else {}

    def close(self) -> None:
        self.conn.close()


def job_id(response: Message) -> int:
    group = response.group(GroupTag.JOB)
    assert group is not None, f"no job group in status 0x{response.code:04x}"
    attribute = group.get("job-id")
    assert attribute is not None
    return int(attribute.value)  # type: ignore[call-overload]
