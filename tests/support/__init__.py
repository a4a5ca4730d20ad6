"""Helpers shared by the test folders; each folder's conftest owns its fixtures."""
