from flask import Blueprint

bp = Blueprint("startups", __name__)
for _name in ("mine", "my_proposals", "index", "new_capability"):
    bp.add_url_rule(f"/_{_name}", _name, lambda: "")
