# The least Django needs to serve uwtest.views: no database, no middleware, no apps.
SECRET_KEY = "uwsgi-wire-conformance-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "uwtest.urls"
INSTALLED_APPS = []
MIDDLEWARE = []
DATABASES = {}
USE_TZ = True
WSGI_APPLICATION = "uwtest.wsgi.application"
