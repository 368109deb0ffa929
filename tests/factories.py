from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from apps.core.roles import Role
from apps.projects.models import Membership, Project
from apps.stores.models import Platform, Store

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda o: f"{o.username}@example.com")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Store {n}")
    platform = Platform.WOOCOMMERCE
    base_url = "https://shop.example.com"

    @factory.post_generation
    def credentials(obj, create, extracted, **kwargs):
        if extracted is None:
            extracted = (
                {"consumer_key": "ck_factory_key_123", "consumer_secret": "cs_factory_secret_456"}
                if obj.api_family == "woocommerce"
                else {"store_hash": "abc123", "access_token": "factory_token_789xyz"}
            )
        obj.set_credentials(extracted)
        if create:
            obj.save()


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    source_store = factory.SubFactory(StoreFactory, platform=Platform.WOOCOMMERCE)
    target_store = factory.SubFactory(
        StoreFactory, platform=Platform.BIGCOMMERCE, base_url="https://api.bigcommerce.com"
    )


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.ADMIN
