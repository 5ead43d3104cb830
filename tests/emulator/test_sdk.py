"""The official commercetools Python SDK, unmodified, against the standalone emulator served by uvicorn."""

from __future__ import annotations

import httpx2
import pytest
from commercetools import CommercetoolsError
from commercetools.platform.models import (
    CustomerCreatedMessage,
    CustomerDraft,
    CustomerFirstNameSetMessage,
    CustomerGroupChangeNameAction,
    CustomerGroupDraft,
    CustomerGroupResourceIdentifier,
    CustomerGroupUpdate,
    CustomerSetCustomerGroupAction,
    CustomerSetFirstNameAction,
    CustomerUpdate,
    MessagesConfigurationDraft,
    ProjectChangeMessagesConfigurationAction,
    ProjectUpdate,
)

from conftest import SDK_PROJECT as PROJECT


def test_the_server_answers_plain_http(base_url):
    assert httpx2.get(f"{base_url}/{PROJECT}/customers").status_code == 401


def test_customer_lifecycle(project):
    customers = project.customers()
    result = customers.post(CustomerDraft(email="Sdk.User@Example.com", password="pw", first_name="Ann", key="sdk-ann"))
    customer = result.customer
    assert customer.email == "Sdk.User@Example.com" and customer.version == 1 and customer.first_name == "Ann"

    found = customers.get(where=["lowercaseEmail = :email"], predicate_var={"email": ["sdk.user@example.com"]})
    assert [c.id for c in found.results] == [customer.id] and found.total == 1

    updated = customers.with_id(customer.id).post(
        CustomerUpdate(version=1, actions=[CustomerSetFirstNameAction(first_name="Bea")])
    )
    assert (updated.first_name, updated.version) == ("Bea", 2)

    with pytest.raises(CommercetoolsError) as info:
        customers.with_id(customer.id).post(CustomerUpdate(version=1, actions=[CustomerSetFirstNameAction()]))
    assert info.value.codes == ["ConcurrentModification"]
    assert info.value.errors[0]["currentVersion"] == 2

    assert customers.with_key("sdk-ann").get().id == customer.id
    assert customers.with_id("00000000-0000-0000-0000-000000000000").get() is None

    deleted = customers.with_key("sdk-ann").delete(version=2, data_erasure=True)
    assert deleted.id == customer.id
    assert customers.with_id(customer.id).get() is None


def test_customer_groups_and_group_reference(project):
    group = project.customer_groups().post(CustomerGroupDraft(group_name="SDK VIP", key="sdk-vip"))
    renamed = (
        project.customer_groups()
        .with_key("sdk-vip")
        .post(CustomerGroupUpdate(version=group.version, actions=[CustomerGroupChangeNameAction(name="SDK Gold")]))
    )
    assert (renamed.name, renamed.version) == ("SDK Gold", 2)
    assert project.customer_groups().get(where=['name = "SDK Gold"']).results[0].id == group.id

    customer = project.customers().post(CustomerDraft(email="grouped@example.com", password="pw")).customer
    action = CustomerSetCustomerGroupAction(customer_group=CustomerGroupResourceIdentifier(key="sdk-vip"))
    updated = project.customers().with_id(customer.id).post(CustomerUpdate(version=1, actions=[action]))
    assert updated.customer_group.id == group.id
    expanded = project.customers().with_id(customer.id).get(expand=["customerGroup"])
    assert expanded.customer_group.obj.name == "SDK Gold"

    project.customers().with_id(customer.id).delete(version=2)
    assert project.customer_groups().with_id(group.id).delete(version=2).id == group.id
    assert project.customer_groups().with_id(group.id).get() is None


def test_messages_through_the_sdk(project):
    """The SDK reads the project's settings, turns Messages on with its own update action, and deserializes the
    Messages a customer's changes produce into its typed Message classes."""
    settings = project.get()
    assert settings.messages.enabled is False and settings.business_units is not None
    config = MessagesConfigurationDraft(enabled=True, delete_days_after_creation=10)
    action = ProjectChangeMessagesConfigurationAction(messages_configuration=config)
    settings = project.post(ProjectUpdate(version=settings.version, actions=[action]))
    assert settings.messages.enabled is True and settings.messages.delete_days_after_creation == 10

    customer = (
        project.customers().post(CustomerDraft(email="messages@example.com", password="pw", key="sdk-m")).customer
    )
    project.customers().with_id(customer.id).post(
        CustomerUpdate(version=1, actions=[CustomerSetFirstNameAction(first_name="Mo")])
    )
    found = project.messages().get(where=[f'resource(id = "{customer.id}")'], sort=["sequenceNumber asc"])
    assert found.total == 2
    created, named = found.results
    assert isinstance(created, CustomerCreatedMessage) and created.customer.email == "messages@example.com"
    assert created.resource_user_provided_identifiers.key == "sdk-m" and created.sequence_number == 1
    assert isinstance(named, CustomerFirstNameSetMessage) and named.first_name == "Mo" and named.resource_version == 2
    again = project.messages().with_id(named.id).get()
    assert isinstance(again, CustomerFirstNameSetMessage) and again.sequence_number == 2
    assert project.messages().with_id("00000000-0000-0000-0000-000000000000").get() is None
    project.customers().with_id(customer.id).delete(version=2)
