"""`garant serve`: serve Garant with waitress (a production WSGI server, pure Python)."""

from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Sert Garant sur http://HOST:PORT avec waitress (fichiers statiques inclus)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--threads", type=int, default=8)

    def handle(self, *args, host, port, threads, **options):
        from django.core.wsgi import get_wsgi_application
        from waitress import serve

        application = get_wsgi_application()  # as garant/wsgi.py, which sits above core

        self.stdout.write(f"Garant écoute sur http://{host}:{port}/  (Ctrl+C pour arrêter)")
        serve(application, host=host, port=port, threads=threads, ident="Garant")
