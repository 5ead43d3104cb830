"""Errors in the commercetools shape: ``{statusCode, message, errors: [{code, message, ...}]}``.

One constructor per error code keeps the codes, statuses and extra fields in one place. Messages follow the
templates of the official RAML (``types/error/*Error.raml``) where it gives one.
"""

from __future__ import annotations

import json
from typing import Any


class ApiError(Exception):
    """An error response. ``errors`` share one HTTP status; ``message`` is the first error's."""

    def __init__(self, status: int, errors: list[dict[str, Any]], *, auth: bool = False) -> None:
        super().__init__(errors[0]["message"])
        self.status = status
        self.errors = errors
        self.auth = auth

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"statusCode": self.status, "message": self.errors[0]["message"], "errors": self.errors}
        if self.auth:  # AuthErrorResponse carries the OAuth fields too
            body["error"] = self.errors[0]["code"]
            body["error_description"] = self.errors[0]["message"]
        return body


def _err(status: int, code: str, message: str, **extra: Any) -> ApiError:
    return ApiError(status, [{"code": code, "message": message, **extra}])


def invalid_input(message: str) -> ApiError:
    return _err(400, "InvalidInput", message)


def invalid_json(detail: str) -> ApiError:
    return _err(400, "InvalidJsonInput", "Request body does not contain valid JSON.", detailedErrorMessage=detail)


def invalid_operation(message: str) -> ApiError:
    return _err(400, "InvalidOperation", message)


def invalid_field(field: str, value: Any, allowed: list[Any] | None = None) -> ApiError:
    extra: dict[str, Any] = {"field": field, "invalidValue": value}
    if allowed is not None:
        extra["allowedValues"] = allowed
    return _err(400, "InvalidField", f"The value '{value}' is not valid for field '{field}'.", **extra)


def required_field(field: str) -> ApiError:
    return _err(400, "RequiredField", f"A value is required for field {field}.", field=field)


def _shown(value: Any) -> str:
    """A value as the message templates show it: JSON (a string in double quotes)."""
    return json.dumps(value, ensure_ascii=False, default=str)


def duplicate_field(field: str, value: Any, conflicting: dict[str, str] | None = None) -> ApiError:
    """DuplicateField (RAML: "A duplicate value $duplicateValue exists for field $field."), or, naming the
    resource that holds the value, DuplicateFieldWithConflictingResource ("… on $conflictingResource.")."""
    if conflicting is not None:
        return _err(
            400,
            "DuplicateFieldWithConflictingResource",
            f"A duplicate value {_shown(value)} exists for field {field} on {_shown(conflicting)}.",
            field=field,
            duplicateValue=value,
            conflictingResource=conflicting,
        )
    return _err(
        400,
        "DuplicateField",
        f"A duplicate value {_shown(value)} exists for field {field}.",
        field=field,
        duplicateValue=value,
    )


def duplicate_email(email: str) -> ApiError:
    """Another customer has the email (in the same scope: the project, or a shared Store)."""
    return duplicate_field("email", email)


def not_found(message: str = "The Resource was not found.") -> ApiError:
    return _err(404, "ResourceNotFound", message)


def resource_not_found(ident: str, by_key: bool = False) -> ApiError:
    what = "key" if by_key else "ID"
    return not_found(f"The Resource with {what} '{ident}' was not found.")


def concurrent_modification(resource_id: str, expected: int, current: int) -> ApiError:
    return _err(
        409,
        "ConcurrentModification",
        f"Object {resource_id} has a different version than expected. Expected: {expected} - Actual: {current}.",
        currentVersion=current,
    )


def max_resource_limit_exceeded(type_id: str, limit: int) -> ApiError:
    return _err(
        400,
        "MaxResourceLimitExceeded",
        f"You have exceeded the limit of {limit} resources of type {type_id}.",
        exceededResource=type_id,
    )


def language_used_in_stores() -> ApiError:
    return _err(
        400,
        "LanguageUsedInStores",
        "Language(s) in use by a store cannot be deleted. Remove them in all the stores of this project first.",
    )


def project_not_configured_for_languages(languages: list[str]) -> ApiError:
    return _err(
        400,
        "ProjectNotConfiguredForLanguages",
        "The project is not configured for given languages.",
        languages=languages,
    )


def referenced_not_found(type_id: str, *, id: str | None = None, key: str | None = None) -> ApiError:
    extra: dict[str, Any] = {"typeId": type_id}
    if id is not None:
        extra["id"] = id
        what = f"with ID '{id}'"
    else:
        extra["key"] = key
        what = f"with key '{key}'"
    return _err(
        400,
        "ReferencedResourceNotFound",
        f"The referenced object of type '{type_id}' {what} was not found. "
        "It either doesn't exist, or it can't be accessed from this endpoint.",
        **extra,
    )


def reference_exists(message: str, referenced_by: str) -> ApiError:
    return _err(400, "ReferenceExists", message, referencedBy=referenced_by)


def search_not_ready(message: str) -> ApiError:
    return _err(409, "SearchNotReady", message)


def expired_customer_token(kind: str) -> ApiError:
    """``kind`` is "email" or "password": ExpiredCustomerEmailToken / ExpiredCustomerPasswordToken."""
    return _err(400, f"ExpiredCustomer{kind.capitalize()}Token", f"The given {kind} token has expired.")


def invalid_current_password() -> ApiError:
    return _err(400, "InvalidCurrentPassword", "The given current password does not match.")


def invalid_credentials() -> ApiError:
    return _err(400, "InvalidCredentials", "Account with the given credentials not found.")


def auth_error(status: int, code: str, description: str) -> ApiError:
    return ApiError(status, [{"code": code, "message": description}], auth=True)


def invalid_token() -> ApiError:
    return auth_error(401, "invalid_token", "invalid_token")


def insufficient_scope(scopes: list[str]) -> ApiError:
    return auth_error(
        403, "insufficient_scope", f"Insufficient scope. One of the following scopes is missing: {', '.join(scopes)}"
    )
