"""Account flows on global Customers: email verification, password reset, password change and sign-in.

Token values are random strings shown once, in the CustomerToken the create call returns. Only their SHA-256 is
stored (``oauth.digest``), as the ``key`` of an internal ``customer-email-token`` / ``customer-password-token``
document (so a lookup by value is one indexed read). A confirm or reset uses the token up: it and every other
token of that kind for the Customer are deleted, so a second use answers 404 like an unknown token.

Passwords are hashed and checked in a worker thread by each route's ``prepare`` step.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from .. import errors, oauth, passwords
from ..backend import Ctx, Doc, Feature, Req, Route
from ..clock import iso
from ..validation import validate

CUSTOMER = "customer"
KINDS = {"email": "customer-email-token", "password": "customer-password-token"}
PASSWORD_TOKEN_TTL = 1440  # minutes
MAX_TTL_MINUTES = 2**31 - 1  # ~4,000 years: the expiry stays a date (ttlMinutes is an int64 in the API)
VIEW, MANAGE = ("view_customers",), ("manage_customers",)


def _customer(ctx: Ctx, customer_id: str) -> Doc:
    doc = ctx.get(CUSTOMER, customer_id)
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


def _drop_tokens(ctx: Ctx, kind: str, customer_id: str) -> None:
    where = "json_extract(doc, '$.customerId') = ?"
    for token in ctx.store.find(ctx.project, KINDS[kind], where, [customer_id]):
        ctx.delete(KINDS[kind], token, cause="dropToken")


def _issue(ctx: Ctx, kind: str, customer: Doc | None, ttl_minutes: int, invalidate_older: bool) -> tuple[int, Any]:
    """A new token for ``customer``; for None (an unknown email) one that looks the same and is never stored."""
    if not 1 <= ttl_minutes <= MAX_TTL_MINUTES:
        raise errors.invalid_input(f"'ttlMinutes' must be between 1 and {MAX_TTL_MINUTES}.")
    if invalidate_older and customer is not None:
        _drop_tokens(ctx, kind, customer["id"])
    value = secrets.token_urlsafe(32)
    now = ctx.emulator.clock.now()
    token = {
        "id": ctx.new_id(),
        "key": oauth.digest(value),
        "customerId": customer["id"] if customer is not None else ctx.new_id(),
        "expiresAt": iso(now + timedelta(minutes=ttl_minutes)),
        "invalidateOlderTokens": invalidate_older,
        "createdAt": iso(now),
        "lastModifiedAt": iso(now),
    }
    if customer is not None:
        ctx.report("tokenValue", value=value)  # for the Message: shown there when the token lives <= 60 minutes
        ctx.insert(KINDS[kind], token, cause=f"create{kind.capitalize()}Token")
    return 200, {**{k: v for k, v in token.items() if k != "key"}, "value": value}


def _redeem(ctx: Ctx, kind: str, value: str) -> tuple[Doc, Doc]:
    """The token and its Customer; 404 if unknown or used, 400 Expired…Token if expired."""
    token = ctx.get_by_key(KINDS[kind], oauth.digest(value))
    customer = token and ctx.get(CUSTOMER, token["customerId"])
    if token is None or customer is None:
        raise errors.not_found(f"The {kind} token was not found. It is unknown or has been used already.")
    if token["expiresAt"] <= ctx.timestamp():
        raise errors.expired_customer_token(kind)
    return token, customer


# ---------------------------------------------------------------- email verification


def create_email_token(ctx: Ctx, req: Req) -> tuple[int, Any]:
    validate("CustomerCreateEmailToken", req.body)
    customer = _customer(ctx, req.body["id"])
    _check_version(customer, req.body.get("version"))
    return _issue(ctx, "email", customer, req.body["ttlMinutes"], req.body.get("invalidateOlderTokens", False))


def get_by_email_token(ctx: Ctx, req: Req) -> tuple[int, Any]:
    return 200, ctx.render(CUSTOMER, _redeem(ctx, "email", req.path["emailToken"])[1])


def confirm_email(ctx: Ctx, req: Req) -> tuple[int, Any]:
    validate("CustomerEmailVerify", req.body)
    _, customer = _redeem(ctx, "email", req.body["tokenValue"])
    _check_version(customer, req.body.get("version"))
    _drop_tokens(ctx, "email", customer["id"])
    return 200, _save(ctx, customer, "confirmEmail", isEmailVerified=True)


# ---------------------------------------------------------------- password reset and change


def create_password_token(ctx: Ctx, req: Req) -> tuple[int, Any]:
    """A reset token for the global Customer with that email. The docs: "For security reasons, Composable
    Commerce doesn't indicate whether the email address exists in the system" (Password reset flow, Learning
    > Manage sign-ups and sign-ins; the RAML names no error for an unknown email). So an unknown email gets the
    same answer, a token that was never stored: redeeming it answers 404, like a used one."""
    validate("CustomerCreatePasswordResetToken", req.body)
    customer = oauth.find_customer_by_email(ctx, req.body["email"])
    ttl = req.body.get("ttlMinutes", PASSWORD_TOKEN_TTL)
    return _issue(ctx, "password", customer, ttl, req.body.get("invalidateOlderTokens", False))


def get_by_password_token(ctx: Ctx, req: Req) -> tuple[int, Any]:
    return 200, ctx.render(CUSTOMER, _redeem(ctx, "password", req.path["passwordToken"])[1])


def reset_password(ctx: Ctx, req: Req) -> tuple[int, Any]:
    """A new password; every password token and every password-flow access token of the Customer ends."""
    validate("CustomerResetPassword", req.body)
    _, customer = _redeem(ctx, "password", req.body["tokenValue"])
    _check_version(customer, req.body.get("version"))
    _drop_tokens(ctx, "password", customer["id"])
    oauth.revoke_customer_tokens(ctx, customer["id"])
    return 200, _save(ctx, customer, "resetPassword", password=passwords.hash_password(ctx, req.body["newPassword"]))


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


async def _prepare_reset(ctx: Ctx, req: Req) -> None:
    body = req.body if isinstance(req.body, dict) else {}
    if isinstance(body.get("newPassword"), str):
        await passwords.prepare(ctx, hash=[body["newPassword"]])


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
    """``POST /login`` for a global Customer: CustomerSignInResult, or InvalidCredentials."""
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
        Route("POST", "/customers/email-token", create_email_token, MANAGE),
        Route("GET", "/customers/email-token={emailToken}", get_by_email_token, VIEW),
        Route("POST", "/customers/email/confirm", confirm_email, MANAGE),
        Route("POST", "/customers/password-token", create_password_token, MANAGE),
        Route("GET", "/customers/password-token={passwordToken}", get_by_password_token, VIEW),
        Route("POST", "/customers/password/reset", reset_password, MANAGE, _prepare_reset),
        Route("POST", "/customers/password", change_password, MANAGE, _prepare_change),
        Route("POST", "/login", sign_in, MANAGE, _prepare_sign_in),
    ),
)
