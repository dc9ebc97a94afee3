"""Help requests posted by mentees."""
