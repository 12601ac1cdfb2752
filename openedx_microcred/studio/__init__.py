"""Studio pages: where a course team configures its credentials and stacks."""
