from flask import Blueprint

bp = Blueprint("matches", __name__)
bp.add_url_rule("/_fs", "for_startup", lambda: "")
