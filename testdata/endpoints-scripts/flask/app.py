from flask import Blueprint, Flask

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.route("/daily")
def daily():
    return []


app = Flask(__name__)
app.register_blueprint(bp, url_prefix="/admin")
