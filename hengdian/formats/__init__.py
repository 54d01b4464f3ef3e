"""Our changes to Django's locale formats (FORMAT_MODULE_PATH); anything not set here is Django's."""
