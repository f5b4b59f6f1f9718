"""Encryption at rest for platform credentials (Fernet: AES-128-CBC + HMAC-SHA256)."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet


class TokenDecryptError(RuntimeError):
    """A stored credential cannot be decrypted with the configured key(s)."""


class TokenBox:
    """Encrypts and decrypts secrets; several comma-separated keys allow key rotation.

    The first key encrypts; every key is tried to decrypt.
    """

    def __init__(self, keys: str) -> None:
        parts = [k.strip() for k in keys.split(",") if k.strip()]
        if not parts:
            raise ValueError("TOKEN_ENCRYPTION_KEY is empty")
        try:
            self._fernet = MultiFernet([Fernet(k.encode()) for k in parts])
        except (ValueError, TypeError) as exc:
            raise ValueError(
                "TOKEN_ENCRYPTION_KEY must be one or more url-safe base64 Fernet keys (32 bytes)"
            ) from exc

    def encrypt(self, secret: str) -> bytes:
        """The ciphertext of `secret`."""
        return self._fernet.encrypt(secret.encode())

    def decrypt(self, token: bytes | None) -> str | None:
        """The clear text of `token`, or None when nothing is stored."""
        if token is None:
            return None
        try:
            return self._fernet.decrypt(bytes(token)).decode()
        except InvalidToken as exc:
            raise TokenDecryptError(
                "stored credential cannot be decrypted with TOKEN_ENCRYPTION_KEY"
            ) from exc
