"""Status page users (``connect_core.accounts.users``).

What it promises: a user name has one canonical spelling (NFKC, case-folded, trimmed), so ``Alice``,
``ALICE`` and ``ＡＬＩＣＥ`` are one user; names outside the allowed form, unknown roles and passwords
shorter than eight characters are refused; print names are kept exactly as given (IPP compares them
exactly) without blanks or repeats, and default to the user's own name; passwords are stored only as
Argon2id hashes (weaker ones replaced at the next login); ``authenticate`` answers the user for the
right password and None for a wrong one, an unknown name or a disabled user; ``get_user`` of an
unknown name is a :class:`UserError`.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from hypothesis import given, settings
from hypothesis import strategies as st

from connect_core.accounts.users import (
    MIN_PASSWORD,
    UserError,
    add_user,
    authenticate,
    canonical_name,
    clean_print_names,
    get_user,
    list_users,
    remove_user,
    set_inbound,
    set_print_names,
    user_count,
)
from connect_core.invoices.access import Actor
from connect_core.store import Database, open_database

PASSWORD = "correct horse battery"


@pytest.fixture
def db(data_root: Path) -> Iterator[Database]:
    opened = open_database(None, data_root)
    yield opened
    opened.dispose()


def _row(data_root: Path, name: str) -> tuple[str, str, str, int]:
    with sqlite3.connect(data_root / "connect.db") as conn:
        return conn.execute("SELECT password_hash, role, print_names, disabled FROM users WHERE name = ?",
                            (name,)).fetchone()


# -- names ----------------------------------------------------------------------------------


def test_a_user_name_is_stored_in_its_canonical_spelling(db: Database) -> None:
    user = add_user(db, "  Alice.Meyer@Office ", PASSWORD)
    assert user.name == "alice.meyer@office"
    assert get_user(db, "ALICE.MEYER@OFFICE").id == user.id
    assert get_user(db, "ａｌｉｃｅ.ｍｅｙｅｒ@ｏｆｆｉｃｅ").id == user.id  # full-width letters: NFKC


@pytest.mark.parametrize("spelling", ["ALICE", "alice", " Alice ", "ＡＬＩＣＥ"])
def test_two_spellings_of_one_name_are_one_user(db: Database, spelling: str) -> None:
    add_user(db, "Alice", PASSWORD)
    with pytest.raises(UserError, match="user alice already exists"):
        add_user(db, spelling, PASSWORD)
    assert user_count(db) == 1


@pytest.mark.parametrize("name", ["", "   ", "-alice", ".alice", "_alice", "al ice", "al/ice", "al,ice", "a" * 65,
                                  "müller", "名前", "al\nice", "al\x00ice"])
def test_a_name_outside_the_allowed_form_is_refused(db: Database, name: str) -> None:
    with pytest.raises(UserError, match="user name"):
        add_user(db, name, PASSWORD)
    assert user_count(db) == 0


def test_a_name_of_64_characters_is_accepted(db: Database) -> None:
    assert add_user(db, "a" * 64, PASSWORD).name == "a" * 64


def test_canonical_name_folds_case_and_compatibility_forms() -> None:
    assert canonical_name("Straße") == canonical_name("STRASSE") == "strasse"
    assert canonical_name("ﬁona") == "fiona"  # the ligature is two letters
    assert canonical_name("\u212bngstr\u00f6m") == canonical_name("\u00c5ngstr\u00f6m")  # Kelvin-style sign vs letter


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30))
def test_canonical_name_is_stable_once_applied(name: str) -> None:
    once = canonical_name(name)
    assert canonical_name(once) == once


@settings(max_examples=200, deadline=None)
@given(st.from_regex(r"[a-z0-9][a-z0-9._@-]{0,20}", fullmatch=True))
def test_any_case_of_an_allowed_name_is_the_same_name(name: str) -> None:
    assert canonical_name(name.upper()) == canonical_name(name.title()) == canonical_name(name) == name


@pytest.fixture(scope="module")
def shared_db() -> Iterator[Database]:
    root = Path(tempfile.mkdtemp(prefix="pagero-users-", dir="/var/tmp"))
    try:
        opened = open_database(None, root)
        yield opened
        opened.dispose()
    finally:
        shutil.rmtree(root, ignore_errors=True)


@settings(max_examples=25, deadline=None)
@given(st.text(min_size=1, max_size=20))
def test_an_accepted_name_is_found_by_its_stored_name_and_by_the_spelling_given(shared_db: Database,
                                                                                name: str) -> None:
    try:
        add_user(shared_db, name, PASSWORD)
    except UserError as error:
        if "already exists" not in str(error):
            return  # a refused name: covered above
    user = get_user(shared_db, name)
    assert user.name == canonical_name(name)
    assert get_user(shared_db, user.name).id == user.id
    assert authenticate(shared_db, name, PASSWORD) == user


# -- roles and passwords -----------------------------------------------------------------------


def test_an_unknown_role_is_refused(db: Database) -> None:
    with pytest.raises(UserError, match="role 'owner' is not one of admin, clerk"):
        add_user(db, "alice", PASSWORD, role="owner")
    assert user_count(db) == 0


@pytest.mark.parametrize("password", ["", "short", "1234567", "ÄÖÜäöüß"])
def test_a_password_shorter_than_eight_characters_is_refused(db: Database, password: str) -> None:
    assert len(password) < MIN_PASSWORD
    with pytest.raises(UserError, match="at least 8 characters"):
        add_user(db, "alice", password)
    assert user_count(db) == 0


def test_a_password_of_eight_characters_is_accepted(db: Database) -> None:
    add_user(db, "alice", "12345678")
    assert authenticate(db, "alice", "12345678") is not None


def test_only_an_argon2id_hash_of_the_password_is_stored(db: Database, data_root: Path) -> None:
    add_user(db, "alice", PASSWORD)
    stored, role, _names, disabled = _row(data_root, "alice")
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored
    assert (role, disabled) == ("clerk", 0)
    for path in data_root.glob("connect.db*"):
        assert PASSWORD.encode() not in path.read_bytes(), path


def test_a_weaker_hash_is_replaced_at_the_next_login(db: Database, data_root: Path) -> None:
    add_user(db, "alice", PASSWORD)
    weak = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash(PASSWORD)
    # A hash made by an older release with weaker parameters (no API writes one today).
    with sqlite3.connect(data_root / "connect.db") as conn:
        conn.execute("UPDATE users SET password_hash = ? WHERE name = 'alice'", (weak,))
    assert authenticate(db, "alice", PASSWORD) is not None
    renewed = _row(data_root, "alice")[0]
    assert renewed != weak and "m=19456,t=2,p=1" in renewed
    assert authenticate(db, "alice", PASSWORD) is not None


# -- print names ----------------------------------------------------------------------------


def test_print_names_are_kept_exactly_without_blanks_or_repeats(db: Database) -> None:
    user = add_user(db, "cleo", PASSWORD, print_names=[" CLEO-PC ", "", "   ", "CLEO-PC", "cleo", "Cleo Müller"])
    assert user.print_names == ("CLEO-PC", "cleo", "Cleo Müller")
    assert get_user(db, "cleo").print_names == ("CLEO-PC", "cleo", "Cleo Müller")


def test_a_user_without_print_names_is_known_by_their_own_name(db: Database) -> None:
    assert add_user(db, "Cleo", PASSWORD).print_names == ("cleo",)


@pytest.mark.parametrize("bad", ["a,b", "tab\there", "new\nline", "x" * 256, "bell\x07"])
def test_a_print_name_with_commas_control_characters_or_too_long_is_refused(db: Database, bad: str) -> None:
    with pytest.raises(UserError, match="print name"):
        add_user(db, "cleo", PASSWORD, print_names=["CLEO-PC", bad])
    assert user_count(db) == 0
    with pytest.raises(UserError):
        clean_print_names([bad])


def test_set_print_names_replaces_them_and_needs_at_least_one(db: Database) -> None:
    add_user(db, "cleo", PASSWORD, print_names=["CLEO-PC"])
    assert set_print_names(db, "CLEO", ["RECEPTION", " cleo "]).print_names == ("RECEPTION", "cleo")
    assert get_user(db, "cleo").print_names == ("RECEPTION", "cleo")
    with pytest.raises(UserError, match="at least one print name"):
        set_print_names(db, "cleo", ["", "  "])
    with pytest.raises(UserError, match="no user 'nobody'"):
        set_print_names(db, "nobody", ["X"])
    assert get_user(db, "cleo").print_names == ("RECEPTION", "cleo")


def test_a_removed_user_has_no_print_names_to_set(db: Database) -> None:
    add_user(db, "admin", PASSWORD, role="admin")
    add_user(db, "cleo", PASSWORD, print_names=["CLEO-PC"])
    remove_user(db, "cleo")
    with pytest.raises(UserError, match="no user 'cleo'"):
        set_print_names(db, "cleo", ["RECEPTION"])


def test_a_users_actor_carries_the_name_the_role_and_the_print_names(db: Database) -> None:
    clerk = add_user(db, "Cleo", PASSWORD, print_names=["CLEO-PC"])
    admin = add_user(db, "Boss", PASSWORD, role="admin")
    assert clerk.actor() == Actor("cleo", admin=False, owners=frozenset({"CLEO-PC"}), inbound=False)
    assert admin.actor().admin and admin.actor().name == "boss" and admin.actor().inbound
    assert not clerk.admin and admin.admin


def test_the_inbound_role_lets_a_clerk_see_received_invoices(db: Database) -> None:
    add_user(db, "boss", PASSWORD, role="admin")
    clerk = add_user(db, "cleo", PASSWORD, inbound=True)
    assert clerk.actor().inbound and not clerk.actor().admin
    assert not set_inbound(db, "cleo", False).actor().inbound
    assert get_user(db, "cleo").inbound is False
    with pytest.raises(UserError, match="no user 'ghost'"):
        set_inbound(db, "ghost", True)


# -- authenticate and look up -------------------------------------------------------------------


def test_authenticate_answers_the_user_for_the_right_password_in_any_spelling_of_the_name(db: Database) -> None:
    added = add_user(db, "alice", PASSWORD, role="admin", print_names=["FRONT-DESK"])
    for spelling in ("alice", "ALICE", " Alice "):
        user = authenticate(db, spelling, PASSWORD)
        assert user is not None and user == added


@pytest.mark.parametrize("password", ["", "wrong password", PASSWORD.upper(), PASSWORD + " ", PASSWORD[:-1]])
def test_authenticate_answers_none_for_a_wrong_password(db: Database, password: str) -> None:
    add_user(db, "alice", PASSWORD)
    assert authenticate(db, "alice", password) is None


def test_authenticate_answers_none_for_an_unknown_name(db: Database) -> None:
    add_user(db, "alice", PASSWORD)
    assert authenticate(db, "bob", PASSWORD) is None
    assert authenticate(db, "", PASSWORD) is None


def test_a_disabled_user_can_neither_log_in_nor_be_found(db: Database, data_root: Path) -> None:
    add_user(db, "alice", PASSWORD)
    add_user(db, "bob", PASSWORD)
    # Disabled directly in the store: the column every lookup checks.
    with sqlite3.connect(data_root / "connect.db") as conn:
        conn.execute("UPDATE users SET disabled = 1 WHERE name = 'alice'")
    assert authenticate(db, "alice", PASSWORD) is None
    with pytest.raises(UserError, match="no user 'alice'"):
        get_user(db, "alice")
    assert [u.name for u in list_users(db)] == ["bob"]


def test_get_user_of_an_unknown_name_is_a_user_error(db: Database) -> None:
    with pytest.raises(UserError, match=r"^no user 'Zed'$"):
        get_user(db, "Zed")


def test_list_users_gives_every_user_by_name(db: Database) -> None:
    for name in ("carol", "Alice", "bob"):
        add_user(db, name, PASSWORD)
    assert [u.name for u in list_users(db)] == ["alice", "bob", "carol"]
    assert user_count(db) == 3
