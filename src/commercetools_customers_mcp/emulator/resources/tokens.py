"""Account flows: email verification, password reset, password change and sign-in, for global Customers and,
under a Store's prefix (``resources/in_store.py``), for the Customers of that Store.

Token values are random strings shown once, in the CustomerToken the create call returns. Only their SHA-256 is
stored (``oauth.digest``), as the ``key`` of an internal ``customer-email-token`` / ``customer-password-token``
document (so a lookup by value is one indexed read). A confirm or reset uses the token up: it and every other
token of that kind for the Customer are deleted, so a second use answers 404 like an unknown token. A token made
through a Store keeps its key (``storeKey``): it is unknown through any other Store and through the global
endpoints, as a global token is through a Store.

Passwords are hashed and checked in a worker thread by each route's ``prepare`` step.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from .. import errors, in_store, oauth, passwords
from ..backend import Ctx, Doc, Feature, Prepare, Req, Route
from ..clock import iso
from ..validation import validate

CUSTOMER = "customer"
PASSWORD_TOKEN_TTL = 1440  # minutes
MAX_TTL_MINUTES = 2**31 - 1  # ~4,000 years: the expiry stays a date (ttlMinutes is an int64 in the API)
VIEW, MANAGE = ("view_customers",), ("manage_customers",)


def _customer(ctx: Ctx, customer_id: str) -> Doc:
    doc = in_store.visible(ctx, CUSTOMER, ctx.get(CUSTOMER, customer_id))
    if doc is None:
        raise errors.resource_not_found(customer_id)
    return doc


def _check_version(doc: Doc, version: int | None) -> None:
    if version is not None and version != doc["version"]:
        raise errors.concurrent_modification(doc["id"], version, doc["version"])


def _save(ctx: Ctx, before: Doc, cause: str, **changes: Any) -> Doc:
    """The Customer with ``changes``, one version later, stored; returns it rendered."""
    after = ctx.bump(before, {**before, **changes})
    ctx.replace(CUSTOMER, before, after, cause=cause)
    return ctx.render(CUSTOMER, after)


# ---------------------------------------------------------------- the token flows: email verification, password reset


@dataclass(frozen=True)
class Flow:
    """One token flow: create a token for a Customer, read the Customer by the token's value, redeem it.

    ``owner`` finds the Customer a create body names (None: an unknown email, which gets a token that looks the
    same and is never stored); ``ttl`` is the create body's ``ttlMinutes`` default (None: required);
    ``redeem`` is what redeeming does to the Customer (the changed fields), after the token and every other of
    its kind for that Customer are deleted; ``cause`` names that write (and its Message)."""

    kind: str  # "email" or "password": in the paths, the internal type, the causes and the errors
    create_schema: str
    owner: Callable[[Ctx, Doc], Doc | None]
    ttl: int | None
    redeem_path: str
    redeem_schema: str
    cause: str
    redeem: Callable[[Ctx, Doc, Doc], Doc]  # (ctx, request body, Customer) -> the changed fields
    prepare: Prepare | None = None  # of the redeem route

    @property
    def type_id(self) -> str:
        return f"customer-{self.kind}-token"

    @property
    def param(self) -> str:
        return f"{self.kind}Token"


def _drop_tokens(ctx: Ctx, flow: Flow, customer_id: str) -> None:
    where = "json_extract(doc, '$.customerId') = ?"
    for token in ctx.store.find(ctx.project, flow.type_id, where, [customer_id]):
        ctx.delete(flow.type_id, token, cause="dropToken")


def _issue(ctx: Ctx, flow: Flow, customer: Doc | None, ttl_minutes: int, invalidate_older: bool) -> tuple[int, Any]:
    """A new token for ``customer``; for None (an unknown email) one that looks the same and is never stored."""
    if not 1 <= ttl_minutes <= MAX_TTL_MINUTES:
        raise errors.invalid_input(f"'ttlMinutes' must be between 1 and {MAX_TTL_MINUTES}.")
    if invalidate_older and customer is not None:
        _drop_tokens(ctx, flow, customer["id"])
    value = secrets.token_urlsafe(32)
    now = ctx.emulator.clock.now()
    token = {
        "id": ctx.new_id(),
        "key": oauth.digest(value),
        "customerId": customer["id"] if customer is not None else ctx.new_id(),
        "expiresAt": iso(now + timedelta(minutes=ttl_minutes)),
        "invalidateOlderTokens": invalidate_older,
        "storeKey": in_store.key(ctx),
        "createdAt": iso(now),
        "lastModifiedAt": iso(now),
    }
    if customer is not None:
        ctx.report("tokenValue", value=value)  # for the Message: shown there when the token lives <= 60 minutes
        ctx.insert(flow.type_id, token, cause=f"create{flow.kind.capitalize()}Token")
    return 200, {**{k: v for k, v in token.items() if k not in ("key", "storeKey")}, "value": value}


def _find(ctx: Ctx, flow: Flow, value: str) -> tuple[Doc, Doc]:
    """The token and its Customer; 404 if unknown or used, 400 Expired…Token if expired."""
    token = ctx.get_by_key(flow.type_id, oauth.digest(value))
    if token is not None and token.get("storeKey") != in_store.key(ctx):
        token = None  # made through another Store (or none): unknown here
    customer = token and in_store.visible(ctx, CUSTOMER, ctx.get(CUSTOMER, token["customerId"]))
    if token is None or customer is None:
        raise errors.not_found(f"The {flow.kind} token was not found. It is unknown or has been used already.")
    if token["expiresAt"] <= ctx.timestamp():
        raise errors.expired_customer_token(flow.kind)
    return token, customer


def _routes(flow: Flow) -> tuple[Route, ...]:
    def create(ctx: Ctx, req: Req) -> tuple[int, Any]:
        validate(flow.create_schema, req.body)
        ttl = req.body.get("ttlMinutes", flow.ttl)
        return _issue(ctx, flow, flow.owner(ctx, req.body), ttl, req.body.get("invalidateOlderTokens", False))

    def get(ctx: Ctx, req: Req) -> tuple[int, Any]:
        return 200, ctx.render(CUSTOMER, _find(ctx, flow, req.path[flow.param])[1])

    def redeem(ctx: Ctx, req: Req) -> tuple[int, Any]:
        validate(flow.redeem_schema, req.body)
        _, customer = _find(ctx, flow, req.body["tokenValue"])
        _check_version(customer, req.body.get("version"))
        _drop_tokens(ctx, flow, customer["id"])
        return 200, _save(ctx, customer, flow.cause, **flow.redeem(ctx, req.body, customer))

    return (
        Route("POST", f"/customers/{flow.kind}-token", create, MANAGE),
        Route("GET", f"/customers/{flow.kind}-token={{{flow.param}}}", get, VIEW),
        Route("POST", flow.redeem_path, redeem, MANAGE, flow.prepare),
    )


def _by_id(ctx: Ctx, body: Doc) -> Doc:
    customer = _customer(ctx, body["id"])
    _check_version(customer, body.get("version"))
    return customer


def _by_email(ctx: Ctx, body: Doc) -> Doc | None:
    """The Customer with that email: global, or through a Store that Store's. The docs: "For security reasons,
    Composable Commerce doesn't indicate
    whether the email address exists in the system" (Password reset flow, Learning > Manage sign-ups and
    sign-ins; the RAML names no error for an unknown email). So an unknown email gets the same answer, a token
    that was never stored: redeeming it answers 404, like a used one."""
    return oauth.find_customer_by_email(ctx, body["email"])


def _verified(ctx: Ctx, body: Doc, customer: Doc) -> Doc:
    return {"isEmailVerified": True}


def _new_password(ctx: Ctx, body: Doc, customer: Doc) -> Doc:
    """A new password; every password-flow access token of the Customer ends too (its tokens of this flow are
    already gone)."""
    oauth.revoke_customer_tokens(ctx, customer["id"])
    return {"password": passwords.hash_password(ctx, body["newPassword"])}


async def _prepare_reset(ctx: Ctx, req: Req) -> None:
    body = req.body if isinstance(req.body, dict) else {}
    if isinstance(body.get("newPassword"), str):
        await passwords.prepare(ctx, hash=[body["newPassword"]])


FLOWS = (
    Flow(
        "email", "CustomerCreateEmailToken", _by_id, None,
        "/customers/email/confirm", "CustomerEmailVerify", "confirmEmail", _verified,
    ),
    Flow(
        "password", "CustomerCreatePasswordResetToken", _by_email, PASSWORD_TOKEN_TTL,
        "/customers/password/reset", "CustomerResetPassword", "resetPassword", _new_password, _prepare_reset,
    ),
)  # fmt: skip


# ---------------------------------------------------------------- password change


def change_password(ctx: Ctx, req: Req) -> tuple[int, Any]:
    """A new password given the current one. Unlike a reset, it leaves the Customer's access and refresh tokens
    active: the API documents token invalidation for the reset only ("After the password is reset, … any access
    and refresh tokens issued previously through the password flow and refresh token flow are invalidated",
    RAML /customers/password/reset); /customers/password says nothing of tokens."""
    validate("CustomerChangePassword", req.body)
    customer = _customer(ctx, req.body["id"])
    _check_version(customer, req.body["version"])
    if not passwords.verify_password(ctx, req.body["currentPassword"], customer.get("password")):
        raise errors.invalid_current_password()
    return 200, _save(ctx, customer, "changePassword", password=passwords.hash_password(ctx, req.body["newPassword"]))


async def _prepare_change(ctx: Ctx, req: Req) -> None:
    """Check the current password against the stored hash and hash the new one, off the event loop. The
    handler checks the version in its transaction; a hash changed in between means a new version too."""
    body = req.body if isinstance(req.body, dict) else {}
    current, new, customer_id = body.get("currentPassword"), body.get("newPassword"), body.get("id")
    customer = ctx.get(CUSTOMER, customer_id) if isinstance(customer_id, str) else None
    verify = [(current, customer.get("password"))] if customer is not None and isinstance(current, str) else []
    await passwords.prepare(ctx, hash=[new] if isinstance(new, str) else [], verify=verify)


# ---------------------------------------------------------------- sign-in


async def _prepare_sign_in(ctx: Ctx, req: Req) -> None:
    """Check the password off the event loop; an unknown email (or a customer without a password) is checked
    against a dummy hash of the same cost, so the timing does not tell whether the email exists."""
    body = req.body if isinstance(req.body, dict) else {}
    if isinstance(body.get("email"), str) and isinstance(body.get("password"), str):
        customer = oauth.find_customer_by_email(ctx, body["email"])
        stored = customer.get("password") if customer is not None else None
        await passwords.prepare(ctx, verify=[(body["password"], stored)])


def sign_in(ctx: Ctx, req: Req) -> tuple[int, Any]:
    """``POST /login`` for a global Customer (``/in-store/key={storeKey}/login``: a Customer of that Store):
    CustomerSignInResult, or InvalidCredentials (also for a Customer of another Store, in-store.raml)."""
    body = req.body
    if (
        not isinstance(body, dict)
        or not isinstance(body.get("email"), str)
        or not isinstance(body.get("password"), str)
    ):
        raise errors.invalid_json("Missing required value 'email' or 'password'")
    customer = oauth.find_customer_by_email(ctx, body["email"])
    if customer is None or not passwords.verify_password(ctx, body["password"], customer.get("password")):
        raise errors.invalid_credentials()
    return 200, {"customer": ctx.render(CUSTOMER, customer)}


FEATURE = Feature(
    "tokens",
    routes=(
        *(route for flow in FLOWS for route in _routes(flow)),
        Route("POST", "/customers/password", change_password, MANAGE, _prepare_change),
        Route("POST", "/login", sign_in, MANAGE, _prepare_sign_in),
    ),
)
