from flask import Blueprint

bp = Blueprint("coordinator", __name__)
bp.add_url_rule("/_q", "queue", lambda: "")
