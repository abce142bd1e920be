from django.apps import AppConfig
from django.conf import settings

from sessions_app.engine.settings import configure


class SessionsAppConfig(AppConfig):
    name = "sessions_app"
    label = "sessions_app"
    verbose_name = "Sessions"

    def ready(self) -> None:
        # Before any request, worker or command uses the engine, which reads nothing else.
        configure(settings.ENGINE)
