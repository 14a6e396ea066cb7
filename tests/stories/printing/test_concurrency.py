"""Many clients at once: a normal load never gets "busy" and every job is accepted."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ipp.status import StatusCode
from tests.support.harness import Server
from tests.support.ippclient import Client, job_id


def test_four_clients_fifty_jobs_each_all_accepted(server: Server) -> None:
    def client_run(n: int) -> list[tuple[int, int]]:
        client = Client(server.uri)
        results = []
        for k in range(50):
            body = b"%PDF-1.4\n% client " + f"{n}-{k}".encode() + b"\n" + b"x" * 4096 + b"\n%%EOF\n"
            response = client.print_job(body, name=f"client {n} job {k}", user=f"user{n}")
            results.append((response.code, job_id(response) if response.code == 0 else -1))
        client.close()
        return results

    with ThreadPoolExecutor(4) as pool:
        results = [r for batch in pool.map(client_run, range(4)) for r in batch]
    assert [code for code, _ in results] == [StatusCode.SUCCESSFUL_OK] * 200
    ids = {jid for _, jid in results}
    assert len(ids) == 200
    listed = {int(job["job-id"]) for job in Client(server.uri).get_jobs("all")}  # type: ignore[call-overload]
    assert ids <= listed
