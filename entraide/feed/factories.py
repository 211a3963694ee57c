from __future__ import annotations

from datetime import timedelta

import factory
from django.utils import timezone

from . import markup
from .models import Category, Comment, Crisis, Post, PostTag


class CrisisFactory(factory.django.DjangoModelFactory):
    """An instance-wide crisis going on now (pass `cities=[...]` to limit it)."""

    class Meta:
        model = Crisis
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Canicule {n}")
    tag = factory.Sequence(lambda n: f"canicule-{n}")
    banner = "Pensez à vos voisins isolés."
    starts_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    ends_at = None

    @factory.post_generation
    def cities(self, create, extracted, **kwargs):
        if create and extracted:
            self.cities.set(extracted)


class PostFactory(factory.django.DjangoModelFactory):
    """A post by `author` (required) in the author's home neighbourhood, unless `neighbourhood` is given."""

    class Meta:
        model = Post
        skip_postgeneration_save = True

    neighbourhood = factory.LazyAttribute(lambda o: o.author.neighbourhood)
    category = Category.GENERAL
    title = factory.Sequence(lambda n: f"Annonce {n}")
    body = factory.Sequence(lambda n: f"Bonjour les voisins, message numéro {n}.")
    body_html = factory.LazyAttribute(lambda o: markup.render(o.body))
    tags = factory.LazyFunction(list)

    @factory.post_generation
    def tag_rows(self, create, extracted, **kwargs):
        if create and self.tags:
            PostTag.objects.bulk_create([PostTag(post=self, neighbourhood_id=self.neighbourhood_id, tag=t,
                                                 created_at=self.created_at) for t in self.tags])


class CommentFactory(factory.django.DjangoModelFactory):
    """A comment by `author` (required) on `post` (required)."""

    class Meta:
        model = Comment

    neighbourhood = factory.LazyAttribute(lambda o: o.post.neighbourhood)
    body = factory.Sequence(lambda n: f"Merci, commentaire {n}.")
    body_html = factory.LazyAttribute(lambda o: markup.render(o.body))
