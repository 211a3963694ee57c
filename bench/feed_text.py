"""Realistic French text for the feed benchmark: a pool of sentences built from word lists, reused in combinations.

Posts and comments are 1 to 4 sentences drawn from the pool, so 8 million texts cost a few list look-ups each,
and the search index's shadow text (SQLite) is the concatenation of per-sentence shadows computed once.
A few per cent of the texts mention "école", "courses", "solidarité"; "coronavirus" appears in crisis posts.
"""
from __future__ import annotations

import random

OPENERS = ["Bonjour à tous,", "Salut les voisins,", "Bonsoir,", "Coucou,", "Hello,", "Chers voisins,",
           "Bonjour,", "Petite question :", "Info du quartier :", "Rappel :", ""]
ASKS = ["quelqu'un aurait-il", "je cherche", "nous cherchons", "je donne", "je prête volontiers", "je vends",
        "qui pourrait me prêter", "je recommande", "attention à", "j'ai trouvé", "j'ai perdu", "on organise",
        "je propose", "auriez-vous", "est-ce que quelqu'un connaît", "merci à celui qui a rapporté"]
OBJECTS = ["une perceuse", "un vélo enfant", "des cours de maths", "un chat tigré", "des légumes du jardin",
           "une poussette", "des livres pour l'école", "un escabeau", "une baby-sitter", "des masques",
           "un plombier sérieux", "une tondeuse", "des cartons de déménagement", "un canapé", "des jouets",
           "une trottinette", "un électricien", "des pots de confiture", "une machine à coudre", "des chaises",
           "un chien noir", "des clés de voiture", "un portefeuille marron", "des vêtements bébé", "un frigo",
           "une table de jardin", "des plants de tomates", "un ordinateur portable", "une imprimante",
           "un coup de main pour les courses", "un covoiturage", "une nounou", "des cours de piano"]
PLACES = ["près de l'école", "rue de la République", "au marché", "devant la boulangerie", "au parc",
          "à côté de la pharmacie", "vers la gare", "place de la mairie", "derrière le gymnase", "au square",
          "dans la résidence", "près du supermarché", "à l'arrêt de bus", "boulevard Voltaire", "au bout de la rue",
          "près de la médiathèque", "au centre social", "devant la crèche", "sur le parking"]
TIMES = ["ce week-end", "demain matin", "jeudi soir", "cette semaine", "pendant les vacances", "samedi",
         "dimanche après-midi", "ce soir", "la semaine prochaine", "avant la rentrée", "lundi", "en fin de journée"]
ENDINGS = ["Merci d'avance !", "N'hésitez pas à me contacter.", "Bonne journée à tous.", "Merci beaucoup !",
           "Vive l'entraide !", "Merci pour votre aide.", "Belle soirée.", "Je passe le récupérer si besoin.",
           "C'est gratuit.", "À bientôt !", "Prévenez-moi en message privé.", ""]
TOPICS = [
    "Je peux faire les courses pour les personnes âgées de l'immeuble.",
    "Les enfants sortent de l'école à 16h30, soyez prudents en voiture.",
    "Un grand merci pour cette belle solidarité entre voisins.",
    "La collecte alimentaire de l'association a besoin de bénévoles.",
    "Le vide-grenier du quartier aura lieu sur la place.",
    "Les travaux de la voirie bloquent la rue jusqu'à vendredi.",
    "La fête des voisins se prépare, qui veut participer ?",
    "Le jardin partagé cherche des volontaires pour arroser.",
    "Attention, des démarcheurs se font passer pour des agents du gaz.",
    "Une coupure d'eau est annoncée mardi matin.",
    "Je fais des courses au marché bio demain, besoin de quelque chose ?",
    "L'école maternelle organise une kermesse en juin.",
    "Atelier de réparation de vélos gratuit au centre social.",
    "Quelqu'un a vu passer un chat roux avec un collier bleu ?",
]
CRISIS = [
    "Avec le coronavirus, je peux faire les courses des voisins confinés.",
    "Point coronavirus : la pharmacie distribue des masques ce matin.",
    "Coronavirus : qui a besoin d'aide pour aller chercher ses médicaments ?",
    "Solidarité coronavirus : nous livrons des repas aux personnes isolées.",
]
COMMENT_STARTS = ["Merci !", "Je suis intéressé.", "Super idée.", "Je peux aider.", "Toujours disponible ?",
                  "Je vous envoie un message.", "Bravo pour l'initiative.", "Moi aussi je cherche.",
                  "Pareil de mon côté.", "Je passe ce soir.", "Bonne nouvelle !", "Ah mince, courage.",
                  "Voyez avec la mairie.", "Je connais quelqu'un.", "C'est réglé, merci à tous !"]
TITLES_A = ["Cherche", "Donne", "Prête", "Perdu", "Trouvé", "Recommandation", "Alerte", "Info", "Besoin d'aide",
            "Proposition", "Question", "Vends", "Urgent"]
TAGS = ["ecole", "courses", "bricolage", "jardin", "animaux", "enfants", "sport", "solidarite", "velo", "demenagement"]
FIRST_NAMES = ["Marie", "Jean", "Camille", "Lucas", "Léa", "Hugo", "Chloé", "Louis", "Emma", "Gabriel", "Inès",
               "Nathan", "Sarah", "Arthur", "Manon", "Jules", "Zoé", "Adam", "Lina", "Raphaël", "Fatima", "Mohamed",
               "Aïcha", "Karim", "Nadia", "Thomas", "Julie", "Nicolas", "Sophie", "Pierre", "Claire", "Antoine",
               "Élodie", "Yasmine", "Océane", "Théo", "Sacha", "Maëlys", "Noé", "Anaïs"]
LAST_NAMES = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand", "Leroy", "Moreau",
              "Simon", "Laurent", "Lefebvre", "Michel", "Garcia", "David", "Bertrand", "Roux", "Vincent", "Fournier",
              "Morel", "Girard", "André", "Lefèvre", "Mercier", "Dupont", "Lambert", "Bonnet", "François", "Martinez",
              "Benali", "Nguyen", "Diallo", "Traoré", "Haddad", "Kone", "Da Silva", "Ferreira", "Cohen", "Ramos"]
STREETS = ["rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "boulevard Voltaire", "rue Pasteur",
           "rue de la Paix", "allée des Tilleuls", "rue du Moulin", "place de la Mairie", "rue des Écoles"]

# Realistic search terms for the load test (some without accents, some two words).
SEARCH_TERMS = ["école", "ecole", "courses", "solidarité", "coronavirus", "vélo", "perceuse", "chat perdu",
                "baby-sitter", "pharmacie", "légumes", "cours de maths", "déménagement", "masques", "poussette",
                "bricolage", "tondeuse", "plombier", "fête des voisins", "jardin partagé", "kermesse", "covoiturage",
                "machine à coudre", "portefeuille", "coupure d'eau", "bénévoles", "vide-grenier", "nounou"]


def sentence(rnd: random.Random) -> str:
    kind = rnd.random()
    if kind < 0.12:
        return rnd.choice(TOPICS)
    parts = [rnd.choice(OPENERS), rnd.choice(ASKS), rnd.choice(OBJECTS)]
    if rnd.random() < 0.6:
        parts.append(rnd.choice(PLACES))
    if rnd.random() < 0.5:
        parts.append(rnd.choice(TIMES))
    text = " ".join(p for p in parts if p).strip()
    text = text[0].upper() + text[1:]
    text += " ?" if parts[1].startswith(("quelqu", "qui", "auriez", "est-ce")) else "."
    end = rnd.choice(ENDINGS)
    return f"{text} {end}".strip()


def comment_sentence(rnd: random.Random) -> str:
    if rnd.random() < 0.5:
        return rnd.choice(COMMENT_STARTS)
    return f"{rnd.choice(COMMENT_STARTS)} {sentence(rnd)}"


def title(rnd: random.Random) -> str:
    obj = rnd.choice(OBJECTS)
    return f"{rnd.choice(TITLES_A)} : {obj}"[:140]


def pools(seed: int, n_sentences: int = 20_000, n_comment: int = 10_000, n_titles: int = 3_000
          ) -> tuple[list[str], list[str], list[str]]:
    rnd = random.Random(seed)
    return ([sentence(rnd) for _ in range(n_sentences)], [comment_sentence(rnd) for _ in range(n_comment)],
            [title(rnd) for _ in range(n_titles)])
