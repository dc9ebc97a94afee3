"""Plain-Python domain rules, such as live sessions and billing, free of Flask and SQLAlchemy."""
