"""Route modules and HTTP helpers of the API (Chalice packages ``chalicelib``)."""
