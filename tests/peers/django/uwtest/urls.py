from django.urls import include, path

from . import views

urlpatterns = [
    path("echo", views.echo),
    path("environ", views.environ),
    path("meta", views.meta),
    path("sha256", views.sha256),
    path("download", views.download),
    path("status/<int:code>", views.status),
    path("die", views.die),
    path("slow", views.slow),
    path("slow-body", views.slow_body),
]

# The NGINX guide's deployment passes `location /main` to Django, the path whole
# (tests/conformance/guide.rs): the same routes under main/.
urlpatterns += [path("main/", include(list(urlpatterns)))]
