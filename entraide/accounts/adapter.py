from allauth.account.adapter import DefaultAccountAdapter
from django.urls import reverse


class AccountAdapter(DefaultAccountAdapter):
    def get_signup_redirect_url(self, request):
        member = getattr(request.user, "member", None)
        if member is not None:
            return reverse("neighbourhood", args=[member.neighbourhood_id])
        return super().get_signup_redirect_url(request)

    def populate_username(self, request, user):
        # Login is by email; Django still wants a unique username, which nobody sees.
        import secrets

        user.username = f"m-{secrets.token_hex(8)}"


def user_display(user) -> str:
    member = getattr(user, "member", None)
    return member.display_name if member is not None else user.email
