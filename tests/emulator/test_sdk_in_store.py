"""The official Python SDK's Store-scoped builders (``in_store_key_with_store_key_value``), unmodified, against the
standalone emulator: sign-up, get, query, the password reset and email verification, sign-in, delete."""

from __future__ import annotations

import pytest
from commercetools.platform.models import (
    CustomerCreateEmailToken,
    CustomerCreatePasswordResetToken,
    CustomerDraft,
    CustomerEmailVerify,
    CustomerResetPassword,
    CustomerSignin,
    StoreDraft,
)

EMAIL = "sdk.store@example.com"


def test_a_store_customer_through_the_sdk(project):
    for key in ("sdk-de", "sdk-us"):
        if project.stores().with_key(key).get() is None:
            project.stores().post(StoreDraft(key=key))
    de = project.in_store_key_with_store_key_value("sdk-de")
    us = project.in_store_key_with_store_key_value("sdk-us")
    signed_up = de.customers().post(CustomerDraft(email=EMAIL, password="pw-1", key="sdk-store-ann"))
    ann = signed_up.customer
    assert [s.key for s in ann.stores] == ["sdk-de"]
    assert de.customers().with_id(ann.id).get().id == ann.id
    assert de.customers().with_key("sdk-store-ann").get().id == ann.id
    assert us.customers().with_id(ann.id).get() is None  # another Store: 404
    found = de.customers().get(where=[f'email = "{EMAIL}"'])
    assert [c.id for c in found.results] == [ann.id]

    token = de.customers().password_token().post(CustomerCreatePasswordResetToken(email=EMAIL))
    assert token.customer_id == ann.id
    assert de.customers().with_password_token(token.value).get().id == ann.id
    assert us.customers().with_password_token(token.value).get() is None
    reset = de.customers().password_reset().post(CustomerResetPassword(token_value=token.value, new_password="pw-2"))
    assert reset.version == 2

    email = de.customers().email_token().post(CustomerCreateEmailToken(id=ann.id, ttl_minutes=10))
    verified = de.customers().email_confirm().post(CustomerEmailVerify(token_value=email.value))
    assert verified.is_email_verified is True

    assert de.login().post(CustomerSignin(email=EMAIL, password="pw-2")).customer.id == ann.id
    with pytest.raises(Exception) as refused:
        us.login().post(CustomerSignin(email=EMAIL, password="pw-2"))
    assert "InvalidCredentials" in str(getattr(refused.value, "codes", refused.value))

    deleted = de.customers().with_key("sdk-store-ann").delete(version=verified.version)
    assert deleted.id == ann.id
