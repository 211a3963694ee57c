from django.urls import path

from entraide.places import views as _placeholder

# Replaced by the messaging app's own views.
urlpatterns = [path("messages/", _placeholder.home, name="messaging_inbox")]
