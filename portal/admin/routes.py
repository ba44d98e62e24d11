from flask import Blueprint

bp = Blueprint("admin", __name__)
bp.add_url_rule("/_u", "users", lambda: "")
