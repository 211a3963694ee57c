"""The floor of `bench/feed.py`: the same Django stack and server answering a constant JSON body."""
from django.http import JsonResponse
from django.urls import path


def ok(request):
    return JsonResponse({"ok": True})


urlpatterns = [path("floor", ok)]
