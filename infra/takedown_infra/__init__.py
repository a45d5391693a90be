"""The takedown CDK app's constructs, stack and deployment settings."""
