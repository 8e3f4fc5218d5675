"""Passwords are argon2id; phone and ID numbers are masked."""

from kefu.security.masking import mask_id_card, mask_phone
from kefu.security.password import generate_password, hash_password, sip_ha1, verify_password


def test_argon2_round_trip_and_no_plaintext() -> None:
    h = hash_password("s3cret-pass")
    assert h.startswith("$argon2id$") and "s3cret" not in h
    assert verify_password(h, "s3cret-pass")
    assert not verify_password(h, "wrong")
    assert not verify_password("garbage", "s3cret-pass")


def test_generated_passwords_differ() -> None:
    passwords = {generate_password() for _ in range(50)}
    assert len(passwords) == 50 and all(len(p) == 16 for p in passwords)
    # Every generated password passes our own strength rule (letters and digits).
    assert not any(p.isalpha() or p.isdigit() for p in passwords)


def test_sip_ha1_matches_rfc2617() -> None:
    # HA1 = MD5("Mufasa:testrealm@host.com:Circle Of Life"), the RFC 2617 example.
    assert sip_ha1("Mufasa", "testrealm@host.com", "Circle Of Life") == (
        "939e7578ed9e3c518a452acee763bce9"
    )


def test_masking() -> None:
    assert mask_phone("13800138000") == "138****8000"
    assert mask_phone("+86 138 0013 8000") == "+86 138 **** 8000"
    assert mask_phone("020-88886666") == "020-****6666"
    assert mask_phone("12345") == "***45"
    assert mask_id_card("110101199003071234") == "110101********1234"
