"""Proving one lives at home: letter codes, one geolocation check, invitations, operators' letters."""
from __future__ import annotations

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from pypdf import PdfReader

from entraide.accounts import actions
from entraide.accounts.factories import MemberFactory, UserFactory
from entraide.accounts.letters import letters_pdf
from entraide.accounts.models import InvitationCode, LetterCode, Member

from .conftest import BOLIVAR_POINT


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def dashed(code: str) -> str:
    return f"{code[:4]}-{code[4:]}"


def issue_code(member) -> str:
    letters = actions.do_issue_letters(member.neighbourhood)
    return next(letter.code for letter in letters if letter.member.id == member.id)


def refreshed(member) -> Member:
    return Member.objects.get(pk=member.pk)


# --- letters ----------------------------------------------------------------------------------------------------

def test_issued_letters_print_each_code_in_a_real_pdf(member, neighbourhood):
    other = MemberFactory(neighbourhood=neighbourhood, display_name="Zoé Marchand")
    letters = actions.do_issue_letters(neighbourhood)
    assert {letter.member.id for letter in letters} == {member.id, other.id}
    data = letters_pdf(letters, site_url="https://entraide.example")
    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    assert len(reader.pages) == 2
    text = pdf_text(data)
    for letter in letters:
        assert dashed(letter.code) in text
    assert "Zoé Marchand" in text
    assert "https://entraide.example/verify/" in text


def test_an_empty_batch_still_makes_a_valid_pdf(neighbourhood):
    data = letters_pdf([], site_url="https://entraide.example")
    assert len(PdfReader(io.BytesIO(data)).pages) == 1


def test_letter_codes_are_stored_hashed_only(member):
    code = issue_code(member)
    row = LetterCode.objects.get(member=member)
    assert code not in row.code_hash
    assert code.lower() not in row.code_hash.lower()
    for value in LetterCode.objects.values_list(flat=True):
        assert code not in str(value)
    assert len(code) == actions.LETTER_CODE_LENGTH
    assert not set(code) & set("01IOL")


def test_letters_go_only_to_pending_members_without_a_code(member, verified_member, neighbourhood, combat):
    far = MemberFactory(neighbourhood=combat)
    first = actions.do_issue_letters(neighbourhood)
    assert [letter.member.id for letter in first] == [member.id]
    assert actions.do_issue_letters(neighbourhood) == []
    again = actions.do_issue_letters(neighbourhood, reissue=True)
    assert [letter.member.id for letter in again] == [member.id]
    assert again[0].code != first[0].code
    assert LetterCode.objects.filter(member=member).count() == 1
    assert not LetterCode.objects.filter(member=far).exists()


def test_the_member_types_the_letter_code_on_the_verify_page(client, member):
    code = issue_code(member)
    client.force_login(member.user)
    response = client.post("/verify/", {"kind": "letter", "letter-code": dashed(code)})
    assert response.status_code == 302
    assert response["Location"] == f"/n/{member.neighbourhood_id}/"
    member = refreshed(member)
    assert member.is_verified
    assert member.verification_method == "letter"
    assert member.verified_at is not None


def test_a_wrong_code_on_the_verify_page_is_shown_as_a_form_error(client, member):
    issue_code(member)
    client.force_login(member.user)
    response = client.post("/verify/", {"kind": "letter", "letter-code": "WRONGCODE"})
    assert response.status_code == 400
    assert b"letter-code" in response.content
    assert LetterCode.objects.get(member=member).attempts == 1
    assert not refreshed(member).is_verified


def test_an_empty_code_on_the_verify_page_is_refused(client, member):
    issue_code(member)
    client.force_login(member.user)
    assert client.post("/verify/", {"kind": "letter", "letter-code": ""}).status_code == 400
    assert client.post("/verify/", {"kind": "nonsense"}).status_code == 200
    assert not refreshed(member).is_verified


def test_the_verify_page_needs_a_login(client, db):
    response = client.get("/verify/")
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_member_types_the_letter_code_through_the_api(api, member, token_for):
    code = issue_code(member)
    response = api.post("/me/verify/letter", {"code": code}, token=token_for(member))
    assert response.status_code == 200, response.content
    assert response.json()["verification"]["state"] == "verified"
    assert response.json()["verification"]["method"] == "letter"


@pytest.mark.parametrize("typed", [str.lower, dashed, lambda c: f"  {c[:2]} {c[2:5]}-{c[5:].lower()} "])
def test_letter_codes_are_accepted_whatever_the_case_dashes_or_spaces(api, member, token_for, typed):
    code = issue_code(member)
    response = api.post("/me/verify/letter", {"code": typed(code)}, token=token_for(member))
    assert response.status_code == 200, response.content
    assert refreshed(member).is_verified


def test_wrong_codes_are_counted_and_lock_the_letter_after_five(api, member, token_for):
    code = issue_code(member)
    token = token_for(member)
    for attempt in range(1, 6):
        api.error(api.post("/me/verify/letter", {"code": "AAAAAAAA"}, token=token), 400, "wrong_code")
        # The refusal is an error, yet the counted attempt was committed.
        assert LetterCode.objects.get(member=member).attempts == attempt
    api.error(api.post("/me/verify/letter", {"code": code}, token=token), 403, "too_many_attempts")
    assert not refreshed(member).is_verified
    assert LetterCode.objects.get(member=member).used_at is None


def test_a_new_letter_unlocks_verification_after_too_many_attempts(api, member, neighbourhood, token_for):
    issue_code(member)
    token = token_for(member)
    for _ in range(5):
        api.post("/me/verify/letter", {"code": "AAAAAAAA"}, token=token)
    fresh = actions.do_issue_letters(neighbourhood, reissue=True)[0].code
    assert api.post("/me/verify/letter", {"code": fresh}, token=token).status_code == 200


def test_a_used_code_cannot_be_reused(api, member, token_for):
    code = issue_code(member)
    token = token_for(member)
    assert api.post("/me/verify/letter", {"code": code}, token=token).status_code == 200
    # Back to pending (say the member moved): the printed code is spent.
    Member.objects.filter(pk=member.pk).update(verification_state="pending", verification_method="")
    api.error(api.post("/me/verify/letter", {"code": code}, token=token), 400, "no_letter")
    assert not refreshed(member).is_verified


def test_cannot_use_the_letter_code_of_another_member(api, member, neighbourhood, token_for):
    other = MemberFactory(neighbourhood=neighbourhood)
    letters = {letter.member.id: letter.code for letter in actions.do_issue_letters(neighbourhood)}
    api.error(api.post("/me/verify/letter", {"code": letters[other.id]}, token=token_for(member)), 400, "wrong_code")
    assert not refreshed(member).is_verified
    assert LetterCode.objects.get(member=other).used_at is None


def test_cannot_verify_with_a_letter_that_was_never_sent(api, member, neighbourhood, token_for):
    other = MemberFactory(neighbourhood=neighbourhood)
    code = actions.do_issue_letters(neighbourhood)[1].code
    assert actions.do_issue_letters(neighbourhood) == []
    LetterCode.objects.filter(member=member).delete()
    api.error(api.post("/me/verify/letter", {"code": code}, token=token_for(member)), 400, "no_letter")
    assert not refreshed(member).is_verified
    assert not refreshed(other).is_verified


def test_a_letter_for_the_old_home_does_not_verify_the_new_one(api, member, combat, token_for):
    code = issue_code(member)
    actions.do_move_home(member, lat=BOLIVAR_POINT[0], lon=BOLIVAR_POINT[1])
    api.error(api.post("/me/verify/letter", {"code": code}, token=token_for(member)), 400, "no_letter")
    assert refreshed(member).neighbourhood_id == combat.id
    assert not refreshed(member).is_verified


def test_verification_attempts_are_rate_limited(api, member, token_for):
    issue_code(member)
    token = token_for(member)
    codes = []
    for _ in range(10):
        codes.append(api.post("/me/verify/invitation", {"code": "NOPE"}, token=token).status_code)
    assert set(codes) == {400}
    response = api.post("/me/verify/letter", {"code": "AAAAAAAA"}, token=token)
    api.error(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1


# --- operators' letters -------------------------------------------------------------------------------------------

def test_operators_download_the_letters_as_a_pdf(client, member, neighbourhood):
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    page = client.get(f"/operators/letters/{neighbourhood.id}/")
    assert page.status_code == 200
    response = client.post(f"/operators/letters/{neighbourhood.id}/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert "attachment" in response["Content-Disposition"]
    assert LetterCode.objects.filter(member=member).count() == 1
    assert "/verify/" in pdf_text(response.content)


def test_a_member_cannot_download_the_letters(client, member, verified_member, neighbourhood):
    client.force_login(verified_member.user)
    for response in (client.get(f"/operators/letters/{neighbourhood.id}/"),
                     client.post(f"/operators/letters/{neighbourhood.id}/")):
        assert response.status_code == 302
        assert response["Location"].startswith("/admin/login/")
        assert response.get("Content-Type", "") != "application/pdf"
    assert not LetterCode.objects.exists()


def test_anonymous_visitors_cannot_download_the_letters(client, member, neighbourhood):
    response = client.post(f"/operators/letters/{neighbourhood.id}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert not LetterCode.objects.exists()


def test_operators_get_a_404_for_an_unknown_neighbourhood(client, db):
    client.force_login(UserFactory(is_staff=True))
    assert client.post("/operators/letters/999999/").status_code == 404


def test_the_issue_letters_command_writes_the_pdf(member, neighbourhood, tmp_path):
    out = tmp_path / "letters.pdf"
    stdout = io.StringIO()
    call_command("issue_letters", neighbourhood.id, out=str(out), stdout=stdout)
    data = out.read_bytes()
    assert data.startswith(b"%PDF")
    assert "1 letter(s)" in stdout.getvalue()
    assert LetterCode.objects.filter(member=member).count() == 1
    text = pdf_text(data)
    assert "Bruno Lefèvre" in text


def test_the_issue_letters_command_refuses_an_unknown_neighbourhood(db, tmp_path):
    with pytest.raises(CommandError):
        call_command("issue_letters", 999999, out=str(tmp_path / "x.pdf"))


def test_a_code_from_the_command_pdf_verifies_the_member(api, member, neighbourhood, tmp_path, token_for):
    """End to end: the code is read back from the printed PDF, as the member would read it."""
    import re

    out = tmp_path / "letters.pdf"
    call_command("issue_letters", neighbourhood.id, out=str(out), stdout=io.StringIO())
    match = re.search(r"\b([A-Z2-9]{4}-[A-Z2-9]{4})\b", pdf_text(out.read_bytes()))
    assert match
    assert api.post("/me/verify/letter", {"code": match.group(1)}, token=token_for(member)).status_code == 200


# --- geolocation --------------------------------------------------------------------------------------------------

def test_a_precise_position_inside_the_neighbourhood_verifies(api, member, neighbourhood, token_for):
    body = {"lat": neighbourhood.centroid_lat, "lon": neighbourhood.centroid_lon, "accuracy_m": 35}
    response = api.post("/me/verify/geolocation", body, token=token_for(member))
    assert response.status_code == 200, response.content
    assert response.json()["verification"]["method"] == "geolocation"
    assert refreshed(member).is_verified


def test_an_accuracy_of_exactly_100_metres_is_enough(api, member, neighbourhood, token_for):
    body = {"lat": neighbourhood.centroid_lat, "lon": neighbourhood.centroid_lon, "accuracy_m": 100}
    assert api.post("/me/verify/geolocation", body, token=token_for(member)).status_code == 200


def test_an_imprecise_position_does_not_verify(api, member, neighbourhood, token_for):
    body = {"lat": neighbourhood.centroid_lat, "lon": neighbourhood.centroid_lon, "accuracy_m": 101}
    api.error(api.post("/me/verify/geolocation", body, token=token_for(member)), 400, "too_imprecise")
    assert not refreshed(member).is_verified


def test_a_position_outside_the_neighbourhood_does_not_verify(api, member, token_for):
    body = {"lat": BOLIVAR_POINT[0], "lon": BOLIVAR_POINT[1], "accuracy_m": 10}
    api.error(api.post("/me/verify/geolocation", body, token=token_for(member)), 400, "outside_neighbourhood")
    assert not refreshed(member).is_verified


@pytest.mark.parametrize("lat, lon, accuracy", [(91, 2.35, 10), (48.85, 200, 10), (48.85, 2.35, 0), (48.85, 2.35, -5)])
def test_an_invalid_position_does_not_verify(api, member, token_for, lat, lon, accuracy):
    body = {"lat": lat, "lon": lon, "accuracy_m": accuracy}
    api.error(api.post("/me/verify/geolocation", body, token=token_for(member)), 422, "invalid_coordinates")
    assert not refreshed(member).is_verified


def test_the_geolocation_check_works_from_the_verify_page(client, member, neighbourhood):
    client.force_login(member.user)
    response = client.post("/verify/", {"kind": "geolocation", "geo-lat": neighbourhood.centroid_lat,
                                        "geo-lon": neighbourhood.centroid_lon, "geo-accuracy_m": 20})
    assert response.status_code == 302
    assert refreshed(member).verification_method == "geolocation"


def test_an_outside_position_on_the_verify_page_is_a_form_error(client, member):
    client.force_login(member.user)
    response = client.post("/verify/", {"kind": "geolocation", "geo-lat": BOLIVAR_POINT[0],
                                        "geo-lon": BOLIVAR_POINT[1], "geo-accuracy_m": 20})
    assert response.status_code == 400
    assert not refreshed(member).is_verified


# --- invitations --------------------------------------------------------------------------------------------------

def test_a_verified_member_creates_an_invitation(api, verified_member, token_for):
    response = api.post("/me/invitations", token=token_for(verified_member))
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["neighbourhood"]["id"] == verified_member.neighbourhood_id
    invitation = InvitationCode.objects.get(code=body["code"])
    assert invitation.issuer_id == verified_member.id
    assert invitation.expires_at > timezone.now() + timedelta(days=13)


def test_cannot_invite_before_being_verified(api, member, token_for):
    api.error(api.post("/me/invitations", token=token_for(member)), 403, "verification_required")
    assert not InvitationCode.objects.exists()


def test_cannot_invite_unverified_even_when_verification_is_relaxed(api, member, token_for, settings):
    settings.ENTRAIDE_REQUIRE_VERIFICATION = False
    api.error(api.post("/me/invitations", token=token_for(member)), 403, "verification_required")


def test_invitations_need_authentication(api, verified_member):
    api.error(api.post("/me/invitations"), 401, "not_authenticated")


def test_an_invitation_verifies_a_neighbour_of_the_same_neighbourhood(api, member, verified_member, token_for):
    invitation = actions.do_create_invitation(verified_member)
    code = f" {invitation.code[:5].lower()}-{invitation.code[5:]} "
    response = api.post("/me/verify/invitation", {"code": code}, token=token_for(member))
    assert response.status_code == 200, response.content
    member = refreshed(member)
    assert member.is_verified
    assert member.verification_method == "invitation"
    invitation.refresh_from_db()
    assert invitation.used_by_id == member.id


def test_cannot_use_an_invitation_from_another_neighbourhood(api, verified_member, combat, token_for):
    stranger = MemberFactory(neighbourhood=combat)
    invitation = actions.do_create_invitation(verified_member)
    api.error(api.post("/me/verify/invitation", {"code": invitation.code}, token=token_for(stranger)), 400,
              "invalid_invitation")
    assert not refreshed(stranger).is_verified
    invitation.refresh_from_db()
    assert invitation.used_by_id is None


def test_cannot_use_an_expired_invitation(api, member, verified_member, token_for):
    invitation = actions.do_create_invitation(verified_member)
    InvitationCode.objects.filter(pk=invitation.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    api.error(api.post("/me/verify/invitation", {"code": invitation.code}, token=token_for(member)), 400,
              "invalid_invitation")
    assert not refreshed(member).is_verified


def test_cannot_use_an_invitation_twice(api, member, verified_member, neighbourhood, token_for):
    invitation = actions.do_create_invitation(verified_member)
    assert api.post("/me/verify/invitation", {"code": invitation.code}, token=token_for(member)).status_code == 200
    second = MemberFactory(neighbourhood=neighbourhood)
    api.error(api.post("/me/verify/invitation", {"code": invitation.code}, token=token_for(second)), 400,
              "invalid_invitation")
    assert not refreshed(second).is_verified


def test_cannot_use_my_own_invitation(api, verified_member, token_for):
    invitation = actions.do_create_invitation(verified_member)
    api.error(api.post("/me/verify/invitation", {"code": invitation.code}, token=token_for(verified_member)), 400,
              "invalid_invitation")
    invitation.refresh_from_db()
    assert invitation.used_by_id is None


def test_every_invalid_invitation_gets_the_same_answer(api, member, verified_member, combat, token_for):
    """Unknown, other-neighbourhood and expired codes are indistinguishable: nothing to probe."""
    far_issuer = MemberFactory(neighbourhood=combat, verified=True)
    far = actions.do_create_invitation(far_issuer)
    expired = actions.do_create_invitation(verified_member)
    InvitationCode.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(days=1))
    token = token_for(member)
    bodies = [api.post("/me/verify/invitation", {"code": code}, token=token).json()
              for code in ("UNKNOWN123", far.code, expired.code)]
    assert bodies[0] == bodies[1] == bodies[2]


def test_the_invitations_page_creates_a_code_for_verified_members_only(client, member, verified_member):
    client.force_login(member.user)
    response = client.post("/me/invitations/", follow=True)
    assert response.status_code == 200
    assert not InvitationCode.objects.exists()
    client.force_login(verified_member.user)
    response = client.post("/me/invitations/", follow=True)
    invitation = InvitationCode.objects.get(issuer=verified_member)
    assert invitation.code in response.content.decode()


def test_an_invitation_works_from_the_verify_page(client, member, verified_member):
    invitation = actions.do_create_invitation(verified_member)
    client.force_login(member.user)
    response = client.post("/verify/", {"kind": "invitation", "invitation-code": invitation.code.lower()})
    assert response.status_code == 302
    assert refreshed(member).verification_method == "invitation"
