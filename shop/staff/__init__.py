"""Staff accounts: sign-in credentials, roles, scopes and the staff import."""
