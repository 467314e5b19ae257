"""Entra ID token endpoints (OpenID discovery + client-credentials grant) and bearer checks.

Enough of the v2.0 protocol for azure-identity's `ClientSecretCredential` (MSAL underneath) with
`authority=<emulator>` and `disable_instance_discovery=True`. Tokens are opaque random strings
remembered with their audience, so ARM and Graph can refuse missing, unknown and wrong-audience
tokens with the same 401s Azure sends.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from azaudit.emulator.failures import oauth_error
from azaudit.emulator.wire import Request, Response, Route, arm_error, graph_error, json_response

TOKEN_LIFETIME_S = 3599
_ANY_TENANT = frozenset({"common", "organizations"})
_AUDIENCES = {"arm": "https://management.azure.com", "graph": "https://graph.microsoft.com"}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """What the emulator remembers about an access token (never the token in logs)."""

    audience: str  # "arm", "graph" or "any"
    client_id: str
    expires_at: float


def audience_of(scope: str) -> str:
    """`graph` for a Microsoft Graph scope, `arm` for an ARM scope, else `any`.

    The emulator serves both APIs on one host, so a scope naming the emulator itself is valid
    for either; a token requested for Graph must still not open ARM, as in Azure.
    """
    host = (urlsplit(scope.split()[0]).hostname or "").lower() if scope.strip() else ""
    if host.startswith("graph."):
        return "graph"
    if host.startswith("management."):
        return "arm"
    return "any"


class Identity:
    """Token issuing and checking.

    Args:
        tenant_id: the tenant the snapshot belongs to ('' accepts any tenant in the path).
        base_url: returns the emulator's base URL (the authority host).
        client_secret: when set, token requests must present it (else any secret works).
    """

    def __init__(
        self, tenant_id: str, base_url: Callable[[], str], client_secret: str | None = None
    ) -> None:
        self.tenant_id = tenant_id
        self.base_url = base_url
        self.client_secret = client_secret
        self._lock = threading.Lock()
        self._tokens: dict[str, IssuedToken] = {}

    def issue(self, audience: str = "any", client_id: str = "emulator") -> str:
        """Create and remember a token (also used for the emulator's ready-made test token).

        The token is JWT-shaped with the claims tools read (`tid`, `appid`, `oid`, `aud`) so
        that code naming the identity works as against Entra ID; the signature is random, and
        the emulator validates tokens by remembering them, not by signature.
        """
        now = int(time.time())
        claims = {
            "aud": _AUDIENCES.get(audience, self.base_url() or "emulator"),
            "iss": f"https://sts.windows.net/{self.tenant_id or 'common'}/",
            "iat": now,
            "nbf": now,
            "exp": now + TOKEN_LIFETIME_S,
            "appid": client_id,
            "idtyp": "app",
            "oid": str(uuid.uuid5(uuid.NAMESPACE_URL, f"azaudit-emulator:{client_id}")),
            "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"azaudit-emulator:{client_id}")),
            "tid": self.tenant_id,
            "ver": "1.0",
        }
        header = {"typ": "JWT", "alg": "RS256", "kid": "azaudit-emulator"}
        token = ".".join(
            [
                _b64(json.dumps(header).encode()),
                _b64(json.dumps(claims).encode()),
                _b64(secrets.token_bytes(32)),
            ]
        )
        with self._lock:
            self._tokens[token] = IssuedToken(
                audience, client_id, time.monotonic() + TOKEN_LIFETIME_S
            )
        return token

    @staticmethod
    def is_token_path(parts: list[str]) -> bool:
        """Whether a path (split, lower-case) is one of the token endpoints."""
        tail = parts[1:]
        return tail in (
            ["v2.0", ".well-known", "openid-configuration"],
            ["oauth2", "v2.0", "token"],
            ["oauth2", "v2.0", "authorize"],
            ["discovery", "v2.0", "keys"],
        )

    def route(self, request: Request) -> Route:
        """Bind a token-endpoint handler."""
        parts = [p for p in request.path.split("/") if p]
        tenant = parts[0]
        tail = [p.lower() for p in parts[1:]]
        if tail[-1] == "openid-configuration":
            return Route(
                "token",
                "token.openid_configuration",
                lambda: self._openid(tenant),
                authenticated=False,
            )
        if tail[-1] == "keys":
            return Route(
                "token", "token.keys", lambda: json_response(200, {"keys": []}), authenticated=False
            )
        if tail[-1] == "token" and request.method == "POST":
            return Route(
                "token", "token.issue", lambda: self._token(request, tenant), authenticated=False
            )
        return Route(
            "token",
            "token.unsupported",
            lambda: oauth_error(
                400, "invalid_request", "AADSTS900561: The endpoint only accepts POST requests."
            ),
            authenticated=False,
        )

    def _known_tenant(self, tenant: str) -> bool:
        return (
            not self.tenant_id
            or tenant.lower() == self.tenant_id.lower()
            or tenant.lower() in _ANY_TENANT
        )

    def _unknown_tenant(self, tenant: str) -> Response:
        return oauth_error(
            400,
            "invalid_tenant",
            f"AADSTS90002: Tenant '{tenant}' not found. Check to make sure you have the correct "
            "tenant ID and are signing into the correct cloud.",
        )

    def _openid(self, tenant: str) -> Response:
        if not self._known_tenant(tenant):
            return self._unknown_tenant(tenant)
        base = f"{self.base_url()}/{tenant}"
        return json_response(
            200,
            {
                "token_endpoint": f"{base}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/v2.0",
                "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
                "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
                "tenant_region_scope": "NA",
                "cloud_instance_name": "microsoftonline.com",
            },
        )

    def _token(self, request: Request, tenant: str) -> Response:
        if not self._known_tenant(tenant):
            return self._unknown_tenant(tenant)
        form = dict(parse_qsl(request.body.decode("utf-8", "replace"), keep_blank_values=True))
        grant = form.get("grant_type", "")
        if grant != "client_credentials":
            return oauth_error(
                400,
                "unsupported_grant_type",
                f"AADSTS70003: The app requested an unsupported grant type '{grant}'.",
            )
        client_id = form.get("client_id", "")
        if not client_id:
            return oauth_error(
                400,
                "invalid_request",
                "AADSTS900144: The request body must contain the following parameter: 'client_id'.",
            )
        secret = form.get("client_secret")
        if secret is None and "client_assertion" not in form:
            return oauth_error(
                401,
                "invalid_client",
                "AADSTS7000218: The request body must contain the following parameter: "
                "'client_assertion' or 'client_secret'.",
            )
        if self.client_secret is not None and secret != self.client_secret:
            return oauth_error(
                401,
                "invalid_client",
                f"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in "
                f"the request is the client secret value, not the client secret ID, for a secret "
                f"added to app '{client_id}'.",
            )
        scope = form.get("scope", "")
        token = self.issue(audience_of(scope), client_id)
        return json_response(
            200,
            {
                "token_type": "Bearer",
                "expires_in": TOKEN_LIFETIME_S,
                "ext_expires_in": TOKEN_LIFETIME_S,
                "access_token": token,
            },
        )

    def check(self, request: Request, family: str) -> Response | None:
        """None when the request carries a valid bearer token for `family`, else the 401."""
        header = request.header("authorization") or ""
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return self._unauthorized(
                request, family, "AuthenticationFailed", "The 'Authorization' header is missing."
            )
        with self._lock:
            issued = self._tokens.get(token.strip())
        if issued is None or issued.expires_at < time.monotonic():
            return self._unauthorized(
                request,
                family,
                "InvalidAuthenticationToken",
                "The access token is invalid or has expired.",
            )
        wanted = "graph" if family == "graph" else "arm"
        if issued.audience not in {"any", wanted}:
            return self._unauthorized(
                request,
                family,
                "InvalidAuthenticationTokenAudience",
                f"The access token has been obtained for the wrong audience or resource "
                f"('{issued.audience}').",
            )
        return None

    def _unauthorized(self, request: Request, family: str, code: str, message: str) -> Response:
        if family == "graph":
            text = "Access token is empty." if code == "AuthenticationFailed" else message
            if code == "InvalidAuthenticationTokenAudience":
                text = "Access token validation failure. Invalid audience."
            return graph_error(401, "InvalidAuthenticationToken", text, request)
        challenge = (
            f'Bearer authorization_uri="{self.base_url()}/{self.tenant_id or "common"}", '
            f'error="invalid_token", error_description="{message}"'
        )
        return arm_error(
            401, code, f"Authentication failed. {message}", headers={"WWW-Authenticate": challenge}
        )
