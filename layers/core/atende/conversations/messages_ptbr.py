"""What the customer reads from the engine itself (the bot's texts live in bot/)."""

HANDOFF_BOT_UNAVAILABLE = (
    "Nosso assistente virtual está com instabilidade agora. Já chamei uma pessoa da "
    "nossa equipe para continuar o seu atendimento. É só aguardar aqui, tá bom?"
)
# Outside business hours, followed by the tenant's out-of-office text.
BOT_UNAVAILABLE = "Nosso assistente virtual está com instabilidade agora."
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

# While people have the conversation (atende.conversations.waiting).
WAITING_NEXT = (
    "Recebi sua mensagem 👍 Sua conversa é a próxima da fila: já já uma pessoa da "
    "nossa equipe te responde por aqui."
)
WAITING_AT = (
    "Recebi sua mensagem 👍 Sua conversa está na fila para uma pessoa da nossa "
    "equipe (posição {position}). Assim que alguém assumir, continua por aqui."
)
ALREADY_IN_QUEUE_NEXT = (
    "Você já está na fila, e a sua conversa é a próxima 🙂 Não precisa pedir de "
    "novo: já já alguém te responde por aqui."
)
ALREADY_IN_QUEUE_AT = (
    "Você já está na fila para falar com uma pessoa (posição {position}) 🙂 Não "
    "precisa pedir de novo: assim que alguém assumir, te responde por aqui."
)
WITH_PERSON = (
    "Recebi sua mensagem 👍 A pessoa que está te atendendo responde por aqui em "
    "seguida."
)
ALREADY_WITH_PERSON = (
    "Você já está falando com uma pessoa da nossa equipe 🙂 É só seguir por aqui."
)

# What people did with the conversation (atende.conversations.notices).
TRANSFERRED_TO_PERSON = (
    "Sua conversa passou para outra pessoa da nossa equipe, que continua o seu "
    "atendimento por aqui."
)
TRANSFERRED_TO_QUEUE = (
    "Passamos sua conversa para a equipe que cuida do seu assunto. Em instantes "
    "alguém continua o atendimento por aqui."
)
RETURNED_TO_BOT = (
    "O atendimento com a nossa equipe terminou, e eu, o assistente virtual, sigo com "
    "você por aqui. Se precisar de uma pessoa de novo, é só escrever *atendente*."
)
CLOSED_BY_PEOPLE = (
    "Seu atendimento foi encerrado. Obrigado pelo contato! Se precisar de algo, é "
    "só mandar uma nova mensagem por aqui."
)
