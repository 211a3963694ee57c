from django.utils import translation


class MemberLanguageMiddleware:
    """A logged-in member reads pages in the language of their profile unless they just switched."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and not request.COOKIES.get("django_language"):
            member = getattr(user, "member", None)
            if member is not None and member.language:
                translation.activate(member.language)
                request.LANGUAGE_CODE = member.language
        return self.get_response(request)
