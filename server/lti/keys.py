"""The tool's RSA key pair, generated once into the instance folder, and its JWKS.

Platforms verify what the tool signs (deep linking responses, service token requests)
with the public half, which they fetch from the JWKS URL.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from jwcrypto.jwk import JWK

log = logging.getLogger(__name__)

KEY_DIR = "lti"
PRIVATE, PUBLIC = "private.pem", "public.pem"


@dataclass(frozen=True)
class ToolKeys:
    private_pem: str
    public_pem: str

    @property
    def jwk(self) -> dict[str, Any]:
        """The public key as a JWK with `kid` (RFC 7638 thumbprint), `alg` and `use`."""
        key = json.loads(JWK.from_pem(self.public_pem.encode()).export_public())
        key.update(alg="RS256", use="sig")
        return key

    def jwks(self) -> dict[str, Any]:
        return {"keys": [self.jwk]}


def tool_keys(instance_path: str | Path) -> ToolKeys:
    """The instance's key pair, generated on first use (the private key mode 0600)."""
    folder = Path(instance_path) / KEY_DIR
    private = folder / PRIVATE
    if not private.exists():
        folder.mkdir(parents=True, exist_ok=True)
        _publish(private, _new_private_key())
    private_pem = private.read_text()
    public = folder / PUBLIC
    if not public.exists():
        _publish(public, _public_of(private_pem))
    return ToolKeys(private_pem, public.read_text())


def _new_private_key() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption()).decode()


def _public_of(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _publish(path: Path, text: str) -> None:
    """Write completely, then link into place: of several processes starting at once
    exactly one key wins and nobody reads half a key."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)  # mode 0600
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.link(tmp, path)
        log.info("generated %s", path)
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
