"""Users, public mentor profiles and logins."""
