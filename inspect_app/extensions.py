"""Extensions created unbound and bound inside ``create_app`` (microblog's pattern)."""
from flask_babel import Babel
from flask_compress import Compress
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
compress = Compress()
