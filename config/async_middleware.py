"""Django's middleware, without thread hops for the API.

Django's own middleware is sync; under ASGI it runs each hook of each one on a
thread, two hops per middleware per request, and that was most of what a chunk
upload cost. So:
- SecurityMiddleware's hooks only read settings and set headers: they run on the
  event loop.
- Sessions, CSRF, login, messages, frame options and trailing slashes are for the
  pages (the operator console, the dashboard). API calls are authenticated by key,
  never by cookie, and skip them; pages get exactly Django's behaviour.
"""

from asgiref.sync import sync_to_async
from django.contrib.auth import middleware as auth
from django.contrib.messages import middleware as messages
from django.contrib.sessions import middleware as sessions
from django.middleware import clickjacking, common, csrf, security

from config.paths import API_PATHS


def is_api(request) -> bool:
    return API_PATHS.match(request.path_info) is not None


class SecurityMiddleware(security.SecurityMiddleware):
    async def __acall__(self, request):
        response = self.process_request(request) or await self.get_response(request)
        return self.process_response(request, response)


class _PagesOnly:
    async def __acall__(self, request):
        if is_api(request):
            return await self.get_response(request)
        return await super().__acall__(request)


class SessionMiddleware(_PagesOnly, sessions.SessionMiddleware):
    pass


class CommonMiddleware(_PagesOnly, common.CommonMiddleware):
    pass


class CsrfViewMiddleware(_PagesOnly, csrf.CsrfViewMiddleware):
    async def process_view(self, request, callback, callback_args, callback_kwargs):
        if is_api(request):
            return None
        return await sync_to_async(super().process_view)(
            request, callback, callback_args, callback_kwargs
        )


class AuthenticationMiddleware(_PagesOnly, auth.AuthenticationMiddleware):
    pass


class MessageMiddleware(_PagesOnly, messages.MessageMiddleware):
    pass


class XFrameOptionsMiddleware(_PagesOnly, clickjacking.XFrameOptionsMiddleware):
    pass
