from django.urls import path

from . import views

urlpatterns = [
    path("echo", views.echo),
    path("environ", views.environ),
    path("sha256", views.sha256),
    path("download", views.download),
    path("status/<int:code>", views.status),
    path("die", views.die),
    path("slow", views.slow),
    path("slow-body", views.slow_body),
]
