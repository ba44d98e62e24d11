from flask import Blueprint

bp = Blueprint("challenges", __name__)
for _name in ("index", "mine", "create"):
    bp.add_url_rule(f"/_{_name}", _name, lambda: "")
bp.add_url_rule("/challenges/<int:challenge_id>", "detail", lambda challenge_id: "")
