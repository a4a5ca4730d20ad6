"""The bot: the Rasa client and the signed values its parties exchange."""

from atende.bot.client import BotButton, BotReply, BotUnavailable, RasaClient

__all__ = ["BotButton", "BotReply", "BotUnavailable", "RasaClient"]
