"""What tests and local runs use in Meta's place; not part of the installed package."""
