"""The in-memory sink (``ipp/memory.py``) keeps the :class:`~ipp.sink.JobSink` contract on its own."""

from __future__ import annotations

import inspect
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ipp.memory import MemorySink
from ipp.sink import JobInfo, JobSink, JobTicket, SinkRefused
from ipp.status import JobState, StatusCode


def ticket(name: str = "invoice", user: str = "anna") -> JobTicket:
    return JobTicket(job_name=name, user_name=user, document_format="application/pdf", document_name=f"{name}.pdf")


def print_job(sink: MemorySink, data: bytes = b"%PDF-1.7 test", **kwargs: str) -> JobInfo:
    """What the printer does for Print-Job: open, write, store as a new job."""
    the_ticket = ticket(**kwargs)
    writer = sink.open_document(the_ticket)
    writer.write(data)
    return sink.store_document(writer, the_ticket, None, True)


def ids(jobs: list[JobInfo]) -> list[int]:
    return [job.job_id for job in jobs]


def test_every_jobsink_method_is_there_with_the_same_parameters() -> None:
    names = [n for n, _ in inspect.getmembers(JobSink, inspect.isfunction) if not n.startswith("_")]
    assert len(names) == 9
    for name in names:
        mine = inspect.signature(getattr(MemorySink, name))
        theirs = inspect.signature(getattr(JobSink, name))
        assert list(mine.parameters) == list(theirs.parameters), name


def test_print_job_stores_the_document_and_completes_the_job() -> None:
    sink = MemorySink()
    first = print_job(sink, b"A" * 1025)
    second = print_job(sink, b"B", name="second", user="bo")
    assert (first.job_id, second.job_id) == (1, 2)
    assert first.job_uuid.startswith("urn:uuid:") and first.job_uuid != second.job_uuid
    assert first.state == JobState.COMPLETED
    assert first.state_reasons == ("job-completed-successfully",)
    assert (first.documents, first.k_octets) == (1, 2)
    assert first.completed is not None and first.processing is not None and first.created <= first.completed
    assert first.created.tzinfo is not None
    assert (first.job_name, first.user_name, first.document_format) == ("invoice", "anna", "application/pdf")
    assert sink.document(1) == b"A" * 1025
    assert sink.document(2) == b"B"
    assert sink.ticket(2) == ticket("second", "bo")
    assert sink.get_job(2) == second
    assert sink.get_job(3) is None and sink.document(3) is None and sink.ticket(3) is None
    assert sink.queued_job_count() == 0
    assert sink.stored_bytes == 1026


def test_create_job_waits_for_its_one_document() -> None:
    sink = MemorySink()
    job = sink.create_job(ticket())
    assert (job.state, job.state_reasons, job.documents) == (JobState.PENDING, ("job-incoming",), 0)
    assert sink.queued_job_count() == 1
    assert sink.list_jobs("not-completed", None, None) == [job]
    writer = sink.open_document(ticket())
    writer.write(b"%PDF")
    done = sink.store_document(writer, ticket(), job.job_id, True)
    assert (done.job_id, done.state, done.documents) == (job.job_id, JobState.COMPLETED, 1)
    assert done.created == job.created
    assert sink.document(job.job_id) == b"%PDF"
    assert sink.queued_job_count() == 0
    again = sink.open_document(ticket())
    again.write(b"more")
    with pytest.raises(SinkRefused) as refused:
        sink.store_document(again, ticket(), job.job_id, True)
    assert refused.value.status == StatusCode.CLIENT_ERROR_NOT_POSSIBLE
    assert sink.document(job.job_id) == b"%PDF"
    with pytest.raises(SinkRefused):
        sink.store_document(sink.open_document(ticket()), ticket(), 99, True)


def test_close_job_aborts_a_job_without_document_and_leaves_others() -> None:
    sink = MemorySink()
    empty = sink.create_job(ticket())
    closed = sink.close_job(empty.job_id)
    assert (closed.state, closed.state_reasons) == (JobState.ABORTED, ("aborted-by-system",))
    assert closed.completed is not None
    done = print_job(sink)
    assert sink.close_job(done.job_id) == done
    with pytest.raises(SinkRefused) as refused:
        sink.close_job(42)
    assert refused.value.status == StatusCode.CLIENT_ERROR_NOT_FOUND


def test_cancel_job_only_before_the_job_ends() -> None:
    sink = MemorySink()
    job = sink.create_job(ticket())
    canceled = sink.cancel_job(job.job_id, "x" * 300)
    assert (canceled.state, canceled.state_reasons) == (JobState.CANCELED, ("job-canceled-by-user",))
    assert canceled.state_message == f"Canceled by {'x' * 100}."
    for job_id in (job.job_id, print_job(sink).job_id, 77):
        with pytest.raises(SinkRefused) as refused:
            sink.cancel_job(job_id, "anna")
        assert refused.value.status == StatusCode.CLIENT_ERROR_NOT_POSSIBLE


def test_list_jobs_orders_filters_and_limits() -> None:
    sink = MemorySink()
    done_a = print_job(sink, user="anna")
    pending_b = sink.create_job(ticket(user="bo"))
    done_c = print_job(sink, user="bo")
    pending_d = sink.create_job(ticket(user="anna"))
    assert ids(sink.list_jobs("completed", None, None)) == [done_c.job_id, done_a.job_id]
    assert ids(sink.list_jobs("not-completed", None, None)) == [pending_b.job_id, pending_d.job_id]
    assert ids(sink.list_jobs("all", None, None)) == [1, 2, 3, 4]
    assert ids(sink.list_jobs("all", "bo", None)) == [2, 3]
    assert ids(sink.list_jobs("completed", None, 1)) == [done_c.job_id]
    assert sink.queued_job_count() == 2


def test_not_accepting_refuses_new_documents_with_its_reasons() -> None:
    sink = MemorySink()
    assert sink.accepting() == (True, ())
    sink.set_accepting(False, ("spool-area-full",))
    assert sink.accepting() == (False, ("spool-area-full",))
    with pytest.raises(SinkRefused) as refused:
        sink.open_document(ticket())
    assert refused.value.status == StatusCode.SERVER_ERROR_NOT_ACCEPTING_JOBS
    sink.set_accepting(False)
    assert sink.accepting() == (False, ("other",))
    sink.set_accepting(True, ("ignored",))
    assert sink.accepting() == (True, ())


def test_a_document_over_the_cap_is_refused_while_it_arrives() -> None:
    sink = MemorySink(max_document_bytes=10, max_total_bytes=100)
    writer = sink.open_document(ticket())
    writer.write(b"0123456789")
    with pytest.raises(SinkRefused) as refused:
        writer.write(b"!")
    assert refused.value.status == StatusCode.CLIENT_ERROR_REQUEST_ENTITY_TOO_LARGE
    with pytest.raises(SinkRefused):
        sink.store_document(writer, ticket(), None, True)
    assert sink.list_jobs("all", None, None) == []
    with pytest.raises(ValueError):
        MemorySink(max_document_bytes=11, max_total_bytes=10)


def test_the_oldest_documents_make_room_and_their_jobs_stay() -> None:
    sink = MemorySink(max_document_bytes=40, max_total_bytes=100)
    for n in range(5):
        print_job(sink, bytes([n]) * 40)
    assert sink.stored_bytes == 80
    assert [sink.document(n) for n in range(1, 6)] == [None, None, None, bytes([3]) * 40, bytes([4]) * 40]
    assert len(sink.list_jobs("completed", None, None)) == 5


def test_threads_printing_at_once_get_distinct_ids() -> None:
    sink = MemorySink()
    barrier = threading.Barrier(8)
    results: list[int] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        barrier.wait()
        for i in range(50):
            job = print_job(sink, f"{n}-{i}".encode())
            with lock:
                results.append(job.job_id)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == list(range(1, 401))
    assert sink.stored_bytes == sum(len(sink.document(j) or b"") for j in results)


STEPS = st.lists(st.tuples(st.sampled_from(["print", "create", "send", "cancel", "close"]), st.integers(1, 8)),
                 max_size=30)


@settings(max_examples=80, deadline=None)
@given(STEPS)
def test_listings_agree_with_the_job_states_after_any_steps(steps: list[tuple[str, int]]) -> None:
    sink = MemorySink()
    for step, target in steps:
        try:
            if step == "print":
                print_job(sink)
            elif step == "create":
                sink.create_job(ticket())
            elif step == "send":
                writer = sink.open_document(ticket())
                writer.write(b"x")
                sink.store_document(writer, ticket(), target, True)
            elif step == "cancel":
                sink.cancel_job(target, "anna")
            else:
                sink.close_job(target)
        except SinkRefused:
            pass
    every = sink.list_jobs("all", None, None)
    ended = sink.list_jobs("completed", None, None)
    waiting = sink.list_jobs("not-completed", None, None)
    assert [j.job_id for j in every] == list(range(1, len(every) + 1))
    assert [j.job_id for j in ended] == sorted((j.job_id for j in every if j.state.ended), reverse=True)
    assert [j.job_id for j in waiting] == [j.job_id for j in every if not j.state.ended]
    assert sink.queued_job_count() == len(waiting)
    for job in every:
        assert (sink.document(job.job_id) is not None) == (job.documents == 1)
        assert job.state in (JobState.PENDING, JobState.COMPLETED, JobState.CANCELED, JobState.ABORTED)
