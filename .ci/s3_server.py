"""A real S3-compatible server on loopback for the S3 tests: moto, served single-threaded so
that conditional puts (If-None-Match: *) are atomic. Usage: python3 s3_server.py PORT"""
import sys

from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import run_simple

port = int(sys.argv[1])
app = DomainDispatcherApplication(create_backend_app)
run_simple("127.0.0.1", port, app, threaded=False, use_reloader=False)
