"""Per-viewer data in a Flask (or Dash) app behind Gantry.

Gantry's router authenticates every request before it reaches the app and
passes the viewer in X-Gantry-User / X-Gantry-Email / X-Gantry-Groups (client-sent
copies are stripped). For defence in depth, verify the signed Gantry-Identity JWT
instead: see verify_identity() below (needs python3-jwt).
"""
import json
import os

from flask import Flask, request, abort

app = Flask(__name__)
BASE = os.environ.get("GANTRY_BASE_PATH", "/").rstrip("/")

SALES = [
    {"region": "emea", "owner": "alice", "amount": 120},
    {"region": "emea", "owner": "bob", "amount": 80},
    {"region": "amer", "owner": "carol", "amount": 200},
]


def viewer():
    user = request.headers.get("X-Gantry-User")
    if not user:
        abort(401)  # only public apps are reached anonymously
    groups = [g for g in request.headers.get("X-Gantry-Groups", "").split(",") if g]
    return user, groups


def visible_rows(user, groups):
    if "executives" in groups:
        return SALES
    regions = {g.removeprefix("region-") for g in groups if g.startswith("region-")}
    return [r for r in SALES if r["region"] in regions or r["owner"] == user]


@app.route(BASE + "/")
def index():
    user, groups = viewer()
    return json.dumps({"viewer": user, "groups": groups, "rows": visible_rows(user, groups)})


def verify_identity():
    """Optional: check the signed identity instead of trusting headers."""
    import jwt  # python3-jwt

    public_url = os.environ["GANTRY_PUBLIC_URL"]
    jwks = jwt.PyJWKClient(public_url + "/.well-known/jwks.json")
    token = request.headers["Gantry-Identity"]
    key = jwks.get_signing_key_from_jwt(token)
    return jwt.decode(token, key.key, algorithms=["ES256"], audience=public_url + BASE + "/")
