from app.auth.dependencies import get_current_user, require_admin

__all__ = ["get_current_user", "require_admin"]
