"""DPoP proofs (RFC 9449) for the sign-in service's token endpoint, signed with ``cryptography``.

A proof is a JWT: header ``{"typ": "dpop+jwt", "alg": "ES256", "jwk": {kty, x, y, crv}}`` — the
public half of the cache's P-256 key —, claims ``{"htm": "POST", "htu": <request URL>, "iat", "jti"}``,
and an ES256 signature as JWS wants it: ``r || s``, 32 bytes each (not the DER that ``cryptography``
returns).  The JSON is compact and the parts base64url without padding, as botocore writes them.
The private key never leaves this process; a proof is good for one request only (its ``jti``).
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

_COORDINATE = 32  # bytes of a P-256 coordinate, and of r and s


class BadKey(ValueError):
    """The cache's ``dpopKey`` is not an EC P-256 private key."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _compact(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value, separators=(",", ":")).encode("utf-8"))


def load_key(pem: str) -> Any:
    """The P-256 private key in *pem* (``EC PRIVATE KEY`` as the AWS CLI writes it, or PKCS #8)."""
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.serialization import load_pem_private_key

    try:
        key = load_pem_private_key(pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeEncodeError):
        raise BadKey("not a private key") from None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or not isinstance(key.curve, ec.SECP256R1):
        raise BadKey("not an EC P-256 key")
    return key


def jwk(key: Any) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "x": _b64(numbers.x.to_bytes(_COORDINATE, "big")),
        "y": _b64(numbers.y.to_bytes(_COORDINATE, "big")),
        "crv": "P-256",
    }


def proof(pem: str, url: str, *, method: str = "POST", now: float | None = None, jti: str | None = None) -> str:
    """The ``DPoP`` header's value for one *method* request to *url*, signed with the key in *pem*."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

    key = load_key(pem)
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": jwk(key)}
    claims = {
        "htm": method,
        "htu": url,
        "iat": int(time.time() if now is None else now),
        "jti": jti or str(uuid.uuid4()),
    }
    signing_input = f"{_compact(header)}.{_compact(claims)}"
    r, s = decode_dss_signature(key.sign(signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256())))
    signature = r.to_bytes(_COORDINATE, "big") + s.to_bytes(_COORDINATE, "big")
    return f"{signing_input}.{_b64(signature)}"
