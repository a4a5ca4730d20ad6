"""What the customer reads from the engine itself (the bot's texts live in bot/)."""

HANDOFF_BOT_UNAVAILABLE = (
    "Nosso assistente virtual está com instabilidade agora. Já chamei uma pessoa da "
    "nossa equipe para continuar o seu atendimento. É só aguardar aqui, tá bom?"
)
CLOSED_FOR_INACTIVITY = (
    "Como não tivemos resposta, encerramos este atendimento. Se precisar de algo, "
    "é só mandar uma nova mensagem por aqui."
)
ONLY_TEXT_UNDERSTOOD = (
    "Por enquanto eu só consigo entender mensagens de texto. Pode escrever a sua "
    "dúvida para mim?"
)
ONE_TIME_LINKS_HIDDEN = (
    "[Links de uso único enviados ao cliente; ocultos no histórico por segurança.]"
)
# Shown to attendants beside a reply WhatsApp never took.
SEND_EXHAUSTED_CODE = "ENVIO_ESGOTADO"
SEND_EXHAUSTED = (
    "O WhatsApp não aceitou esta mensagem depois de várias tentativas; ela não foi "
    "enviada."
)
