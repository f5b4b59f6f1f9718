"""Security primitives against the test vectors in PLATFORMS.md and hand-made forgeries."""

from __future__ import annotations

import time

import jwt
import pytest

from cvo_plugin import security as sec


def test_oauth_hmac_vectors() -> None:
    params = {
        "code": "0907a61c0c8d55e99db179b68161bc00",
        "shop": "some-shop.myshopify.com",
        "timestamp": "1337178173",
    }
    assert (
        sec.oauth_hmac(params, "hush") == "4712bf92ffc2917d15a2f5a273e39f0116667419aa4b6ac0b3baaf26fa3c4d20"
    )
    with_state = {**params, "state": "0.6784241404160823"}
    assert (
        sec.oauth_hmac(with_state, "hush")
        == "700e2dadb827fcc8609e9d5ce208b2e9cdaab9df07390d2cbca10d7c328fc4bf"
    )


def test_verify_oauth_query() -> None:
    params = {"shop": "a.myshopify.com", "timestamp": str(int(time.time()))}
    signed = {**params, "hmac": sec.oauth_hmac(params, "s")}
    sec.verify_oauth_query(signed, "s")
    with pytest.raises(sec.SignatureError, match="does not match"):
        sec.verify_oauth_query({**signed, "shop": "b.myshopify.com"}, "s")
    with pytest.raises(sec.SignatureError, match="missing hmac"):
        sec.verify_oauth_query(params, "s")
    old = {"shop": "a.myshopify.com", "timestamp": "1337178173"}
    with pytest.raises(sec.SignatureError, match="stale"):
        sec.verify_oauth_query({**old, "hmac": sec.oauth_hmac(old, "s")}, "s")


def test_webhook_hmac_vector_and_rotation() -> None:
    assert sec.body_hmac_base64(b'{"id":1}', "hush") == "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY="
    sec.verify_body_hmac(b'{"id":1}', "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY=", ["new", "hush"])
    with pytest.raises(sec.SignatureError):
        sec.verify_body_hmac(b'{"id":2}', "VnKUjZsLuN5iZWjn5EntcBVCF9kMN43LglzCE1/GSeY=", ["hush"])
    with pytest.raises(sec.SignatureError, match="missing"):
        sec.verify_body_hmac(b"{}", None, ["hush"])


def test_proxy_signature_vector() -> None:
    params = {
        "extra": ["1", "2"],
        "logged_in_customer_id": ["1"],
        "path_prefix": ["/apps/awesome_reviews"],
        "shop": ["shop-name.myshopify.com"],
        "timestamp": ["1317327555"],
    }
    assert sec.proxy_message(params) == (
        "extra=1,2logged_in_customer_id=1path_prefix=/apps/awesome_reviewsshop=shop-name.myshopify.com"
        "timestamp=1317327555"
    )
    signed = {**params, "signature": ["4c68c8624d737112c91818c11017d24d334b524cb5c2b8ba08daa056f7395ddb"]}
    sec.verify_proxy_query(signed, "hush", now=1317327555 + 30)
    with pytest.raises(sec.SignatureError, match="stale"):
        sec.verify_proxy_query(signed, "hush", now=1317327555 + 3600)
    with pytest.raises(sec.SignatureError, match="does not match"):
        sec.verify_proxy_query({**signed, "extra": ["1"]}, "hush", now=1317327555)
    with pytest.raises(sec.SignatureError, match="exactly once"):
        sec.verify_proxy_query({**signed, "shop": ["a", "b"]}, "hush", now=1317327555)


def test_shop_domains() -> None:
    assert sec.sanitize_shop_domain("https://My-Shop.myshopify.com/admin") == "my-shop.myshopify.com"
    for bad in (
        "evil.com",
        "my-shop.myshopify.com.evil.com",
        "-x.myshopify.com",
        "",
        None,
        "a b.myshopify.com",
    ):
        assert sec.sanitize_shop_domain(bad) is None


SECRET = "app-secret-of-at-least-32-bytes-long"


def token(**claims: object) -> str:
    now = int(time.time())
    base = {
        "iss": "https://a.myshopify.com/admin",
        "dest": "https://a.myshopify.com",
        "aud": "key",
        "sub": "42",
        "exp": now + 60,
        "nbf": now - 1,
        "iat": now,
        "jti": "j",
        "sid": "s",
    }
    base.update(claims)
    return jwt.encode({k: v for k, v in base.items() if v is not None}, SECRET, algorithm="HS256")


def test_session_tokens() -> None:
    claims = sec.decode_session_token(token(), "key", SECRET)
    assert (claims.shop, claims.user_id) == ("a.myshopify.com", "42")
    # App Bridge often sends an nbf a few seconds ahead: tolerated.
    sec.decode_session_token(token(nbf=int(time.time()) + 5), "key", SECRET)
    cases = {
        "forged": (token(), "key", "other-secret-of-32-bytes-or-more!!"),
        "expired": (token(exp=int(time.time()) - 30), "key", SECRET),
        "wrong audience": (token(aud="other"), "key", SECRET),
        "other shop issuer": (token(iss="https://b.myshopify.com/admin"), "key", SECRET),
        "not a shop": (token(dest="https://evil.com", iss="https://evil.com/admin"), "key", SECRET),
        "no exp": (token(exp=None), "key", SECRET),
    }
    for name, args in cases.items():
        with pytest.raises(sec.SignatureError):
            sec.decode_session_token(*args)
            pytest.fail(name)
    none_alg = jwt.encode({"iss": "https://a.myshopify.com/admin"}, key=None, algorithm="none")
    with pytest.raises(sec.SignatureError):
        sec.decode_session_token(none_alg, "key", SECRET)


def test_bearer() -> None:
    assert sec.bearer_token("Bearer abc") == "abc"
    assert sec.bearer_token("Basic abc") is None
    assert sec.bearer_token(None) is None
