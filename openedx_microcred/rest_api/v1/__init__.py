"""Version 1 of the REST API: the course team's credentials and the learner's own data."""
