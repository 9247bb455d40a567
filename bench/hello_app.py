"""The framework floor for bench/load.py: a hello-world Flask app served like the real one.

The same gunicorn.conf.py (sync workers, preload, gc.freeze) serves a GET that returns a small
page and a POST that reads a small form and redirects (303), so the pair costs what Flask,
Werkzeug and gunicorn cost for a citizen's GET + POST with no application work at all.
"""
from __future__ import annotations

from flask import Flask, redirect, request

app = Flask(__name__)
PAGE = "<!doctype html><title>hello</title><form method=post><input name=a value=4><button>Gửi</button></form>"


@app.get("/")
def hello() -> str:
    return PAGE


@app.post("/")
def submit() -> object:
    request.form.get("a")
    return redirect("/", code=303)
