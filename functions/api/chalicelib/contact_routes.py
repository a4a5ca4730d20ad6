"""placeholder"""

from chalice.app import Blueprint

blueprint = Blueprint(__name__)
