"""WhiteNoise static files without a thread hop for every other request.

WhiteNoise's middleware is sync-only, and Django runs a sync middleware under ASGI
by moving the request to a thread and back again: every API call, chunk uploads
included, paid for that. This middleware is async: it looks the path up in
WhiteNoise's table of files on the event loop and only hands the (rare) static
file requests to WhiteNoise; everything else goes straight on.
"""

from asgiref.sync import markcoroutinefunction, sync_to_async
from whitenoise.middleware import WhiteNoiseMiddleware


class StaticFilesMiddleware:
    async_capable = True
    sync_capable = False

    def __init__(self, get_response):
        self.get_response = get_response
        self.whitenoise = WhiteNoiseMiddleware(get_response)
        markcoroutinefunction(self)

    async def __call__(self, request):
        whitenoise = self.whitenoise
        if whitenoise.autorefresh:
            found = await sync_to_async(whitenoise.find_file)(request.path_info)
        else:
            found = whitenoise.files.get(request.path_info)
        if found is None:
            return await self.get_response(request)
        return await sync_to_async(whitenoise.serve)(found, request)
